"""The password page is equilean's own: the site's header and navigation, not the admin's.

(The page after a change is checked in test_auth.py with the change itself.)"""

from django.urls import reverse


def test_the_password_change_page_has_the_sites_navigation_and_no_admin_link(client, unit_leader):
    client.force_login(unit_leader)
    response = client.get(reverse("password_change"))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="shell-header"' in page and 'aria-label="Modules"' in page
    assert "<h1>Change password</h1>" in page
    assert 'href="/admin/' not in page and "Django administration" not in page
