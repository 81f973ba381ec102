"""Every adapter test runs git as on a machine without any git configuration."""

import pytest


@pytest.fixture(autouse=True)
def _git_identity(git_identity):
    pass
