"""Every URL in the project refuses anonymous callers, except the few that must be public."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

PUBLIC = {
    "login",
    "healthz",
    "oidc_authentication_init",
    "oidc_authentication_callback",
    "oidc_logout",
}
# A real-looking value for each URL parameter name.
SAMPLE = {
    "code": "MUH-4W",
    "format": "json",
    "pk": "1",
    "measure": "readmission_30d",
    "study": "1",
    "transcript": "1",
    "coding": "1",
    "segment": "1",
    "part": "site",
    "kind": "report.md",
}


def walk(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # Django's admin guards itself.
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name and entry.name not in PUBLIC:
            params = entry.pattern.regex.groupindex
            yield reverse(f"{namespace}{entry.name}", kwargs={p: SAMPLE[p] for p in params})


URLS = sorted(set(walk(get_resolver().url_patterns)))


@pytest.mark.parametrize("url", URLS)
def test_it_refuses_anonymous_callers(client, tree, url):
    response = client.get(url)
    if response.status_code == 302:
        assert "/accounts/login/" in response["Location"], url
    else:
        assert response.status_code in (401, 403, 405), (url, response.status_code)


def test_the_crawl_covers_the_pages_and_the_api():
    assert {"/", "/nodes/MUH-4W/", "/api/v1/nodes/", "/api/v1/me/", "/api/v1/schema/"} <= set(URLS)
