"""Django for a benchmark: a throwaway SQLite database in `tmp`, migrated, and nothing from the
developer's environment (another database, Redis, a cluster, a registry) leaking in."""

from __future__ import annotations

import os
from pathlib import Path


def setup(tmp: Path, *, clear: tuple[str, ...] = ()) -> None:
    """Configure and start Django on tmp/db.sqlite3; `clear` names more variable prefixes to drop."""
    for name in list(os.environ):
        if name.startswith(("DATABASE_URL", "REDIS_URL", *clear)):
            del os.environ[name]
    os.environ.update(
        DJANGO_SETTINGS_MODULE="cdportal.settings",
        DEBUG="true",
        LOG_LEVEL="WARNING",
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
