"""Sign-in, sign-out, password change, argon2 hashing and login throttling."""

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse


def sign_in(client, username, password):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR="10.0.0.5"
    )


def test_it_signs_in_and_lands_on_my_day(client, unit_leader):
    response = sign_in(client, "marcus", "correct horse battery")
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_it_rejects_a_wrong_password_with_a_message(client, unit_leader):
    response = sign_in(client, "marcus", "wrong")
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_it_locks_out_after_repeated_failures(client, unit_leader, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "marcus", "wrong")
    response = sign_in(client, "marcus", "correct horse battery")
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()


def test_logout_needs_post_and_ends_the_session(client, unit_leader):
    client.force_login(unit_leader)
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_password_change_works_and_ends_on_equileans_own_page(client, unit_leader):
    client.force_login(unit_leader)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "correct horse battery",
            "new_password1": "a much longer passphrase 42",
            "new_password2": "a much longer passphrase 42",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("password_change_done")
    page = response.content.decode()
    assert 'class="shell-header"' in page and "Your password has been changed." in page
    assert 'href="/admin/' not in page and "Django administration" not in page
    unit_leader.refresh_from_db()
    assert unit_leader.check_password("a much longer passphrase 42")


def test_password_change_rejects_a_short_password(client, unit_leader):
    client.force_login(unit_leader)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "correct horse battery",
            "new_password1": "short1",
            "new_password2": "short1",
        },
    )
    assert "too short" in response.content.decode()


@pytest.mark.parametrize("algorithm", ["argon2"])
def test_passwords_are_hashed_with_argon2_in_production(settings, algorithm):
    # Tests put a fast hasher first; the production list starts with argon2.
    production = [h for h in settings.PASSWORD_HASHERS if "MD5" not in h]
    assert production[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    settings.PASSWORD_HASHERS = production
    assert make_password("x" * 14).startswith(f"{algorithm}$")


def test_session_cookies_are_http_only(settings):
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
