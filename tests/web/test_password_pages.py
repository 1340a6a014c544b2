"""The password pages are equilean's own: the site's header and navigation, not the admin's."""

from django.urls import reverse


def test_the_password_change_page_has_the_sites_navigation_and_no_admin_link(client, unit_leader):
    client.force_login(unit_leader)
    response = client.get(reverse("password_change"))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="shell-header"' in page and 'aria-label="Modules"' in page
    assert "<h1>Change password</h1>" in page
    assert 'href="/admin/' not in page and "Django administration" not in page


def test_the_password_changed_page_has_the_sites_navigation_and_no_admin_link(client, unit_leader):
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
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("password_change_done")
    assert 'class="shell-header"' in page and "Your password has been changed." in page
    assert 'href="/admin/' not in page and "Django administration" not in page
