"""People keep reading pages while a refresh writes (SQLite in a file, as the embedded default)."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from equilean.metrics import refresh as refresh_module
from equilean.metrics.models import Observation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def file_database(transactional_db, tmp_path):
    """Point the default database at a SQLite file, so each thread gets its own connection."""
    if connection.vendor != "sqlite":
        pytest.skip("the embedded SQLite database only")
    path = tmp_path / "equilean.sqlite3"
    with connection.cursor() as cursor:
        cursor.execute("VACUUM INTO %s", [str(path)])
    memory, original = connections["default"], connections.settings["default"]
    connections.settings["default"] = {**original, "NAME": str(path)}
    connections["default"] = connections.create_connection("default")
    yield path
    connections["default"].close()
    connections["default"] = memory
    connections.settings["default"] = original


def test_pages_load_while_refresh_is_writing(file_database, engine_result, unit_leader, client):
    client.force_login(unit_leader)
    armed, writing, pages_read = threading.Event(), threading.Event(), threading.Event()
    errors = []

    def arm(step):
        if step == "Writing observations":
            armed.set()

    def hold_refresh(execute, sql, params, many, context):
        """Pause refresh just after its first write of observations."""
        result = execute(sql, params, many, context)
        if armed.is_set() and not writing.is_set() and sql.lstrip().upper().startswith("INSERT"):
            writing.set()
            pages_read.wait(timeout=120)
        return result

    def refresh():
        try:
            with connection.execute_wrapper(hold_refresh):
                refresh_module.refresh(con=object(), end=dt.date(2026, 11, 1), progress=arm)
        except Exception as exc:  # handed to the test below
            errors.append(exc)
        finally:
            writing.set()
            connection.close()

    writer = threading.Thread(target=refresh)
    writer.start()
    try:
        writing.wait(timeout=120)
        # The equity page also saves the session: a write while refresh is mid-way.
        pages = [
            reverse("home"),
            reverse("metrics:node_measure", args=["MUH-4W", "readmission_30d"]),
            reverse("metrics:equity", args=["MUH-4W"]),
        ]
        statuses = [client.get(page).status_code for page in pages]
    finally:
        pages_read.set()
        writer.join()
    assert statuses == [200, 200, 200]
    assert errors == []
    assert Observation.objects.filter(node__code="MUH-4W").exists()


def test_the_database_file_is_in_write_ahead_log_mode(file_database):
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone() == ("wal",)
