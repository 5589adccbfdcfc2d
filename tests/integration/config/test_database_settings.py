"""Database settings that the county's figures depend on (docs/SCALING.md)."""

import pytest
from django.db import connection


@pytest.mark.django_db
def test_postgresql_connections_run_without_jit():
    # A page's short queries at county size crossed jit_above_cost and spent longer compiling
    # than running; config/settings.py turns JIT off for the application's connections.
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
