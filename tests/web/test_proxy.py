"""`equilean serve` behind a TLS proxy: the scheme and the client's address come from it."""

import http.client
import re
import threading

import pytest
import waitress
from axes.models import AccessAttempt
from django.db import connections
from waitress.server import create_server

from equilean import cli

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def behind_proxy(settings):
    """Production's transport settings, with the proxy on this machine."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.BEHIND_PROXY = True
    settings.TRUSTED_PROXY = "127.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    return settings


@pytest.fixture
def served(monkeypatch):
    """Run `equilean serve`'s server in a thread on a free port; yields a connection factory."""
    started, servers = threading.Event(), []

    def serve(app, **options):
        server = create_server(app, **{**options, "port": 0})
        servers.append(server)
        started.set()
        server.run()

    monkeypatch.setattr(waitress, "serve", serve)
    # The server's worker threads close their connections after each request, so none is left
    # open on the test database when it is dropped (PostgreSQL refuses to drop it otherwise).
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    thread = threading.Thread(target=cli._serve, args=("127.0.0.1", 0, 2))
    thread.start()
    started.wait(timeout=60)
    server = servers[0]
    yield lambda: http.client.HTTPConnection("127.0.0.1", server.effective_port, timeout=60)
    server.task_dispatcher.shutdown()
    server.trigger.pull_trigger(server.close)
    thread.join()


def get(connect, path, headers):
    conn = connect()
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def test_https_at_the_proxy_is_not_redirected_again(behind_proxy, served):
    status, headers, _ = get(served, "/accounts/login/", {"X-Forwarded-Proto": "https"})
    assert status == 200, headers.get("Location")


def test_plain_http_at_the_proxy_is_still_redirected(behind_proxy, served):
    status, headers, _ = get(served, "/accounts/login/", {"X-Forwarded-Proto": "http"})
    assert status == 301
    assert headers["Location"].startswith("https://")


@pytest.fixture
def untrusted_proxy(behind_proxy):
    behind_proxy.TRUSTED_PROXY = "192.0.2.1"


def test_a_proxy_that_is_not_trusted_is_not_believed(untrusted_proxy, served):
    status, _, _ = get(served, "/accounts/login/", {"X-Forwarded-Proto": "https"})
    assert status == 301


def test_failed_sign_ins_are_counted_against_the_forwarded_client(behind_proxy, served):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    status, headers, page = get(served, "/accounts/login/", forwarded)
    assert status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    cookie = headers["Set-Cookie"].split(";")[0]
    conn = served()
    port = conn.port
    conn.request(
        "POST",
        "/accounts/login/",
        body=f"username=marcus&password=wrong&csrfmiddlewaretoken={token}",
        headers={
            **forwarded,
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "Origin": f"https://127.0.0.1:{port}",
            "Referer": f"https://127.0.0.1:{port}/accounts/login/",
        },
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 200
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.9"]
