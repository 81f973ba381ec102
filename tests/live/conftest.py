import pytest
from channels.db import database_sync_to_async
from django.db import connections

from cdportal.live import broadcast


@pytest.fixture(autouse=True)
async def _close_thread_connections(request):
    """Consumers reach the database from asgiref's worker thread; close its connection after
    each test so PostgreSQL can drop the test database at the end."""
    yield
    if request.node.get_closest_marker("django_db"):
        await database_sync_to_async(connections.close_all)()
        await database_sync_to_async(broadcast.close_connections)()
