"""Login throttling catches one username tried from many addresses and many from one address."""

from django.urls import reverse


def sign_in(client, username, password, address):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_a_username_tried_from_many_addresses_is_locked(client, unit_leader, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "marcus", "wrong", f"198.51.100.{n + 1}")
    response = sign_in(client, "marcus", "correct horse battery", "198.51.100.200")
    assert response.status_code == 429


def test_an_address_spraying_many_usernames_is_locked(client, unit_leader, settings):
    for n in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        sign_in(client, f"nurse{n}", "Spring2026!", "203.0.113.7")
    response = sign_in(client, "marcus", "correct horse battery", "203.0.113.7")
    assert response.status_code == 429
    elsewhere = sign_in(client, "marcus", "correct horse battery", "203.0.113.8")
    assert elsewhere.status_code == 302


def test_a_few_mistakes_across_a_shared_address_lock_no_one(client, unit_leader, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"nurse{n}", "typo", "10.0.0.9")
    response = sign_in(client, "marcus", "correct horse battery", "10.0.0.9")
    assert response.status_code == 302


def test_signing_in_does_not_clear_a_spray_from_the_same_address(client, unit_leader, settings):
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    for n in range(limit - 1):
        sign_in(client, f"nurse{n}", "Spring2026!", "203.0.113.7")
    assert sign_in(client, "marcus", "correct horse battery", "203.0.113.7").status_code == 302
    client.logout()
    sign_in(client, "nurse-last", "Spring2026!", "203.0.113.7")
    response = sign_in(client, "marcus", "correct horse battery", "203.0.113.7")
    assert response.status_code == 429
