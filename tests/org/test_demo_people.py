"""The demo's people: one per role, each able to sign in with the printed password."""

from django.urls import reverse

from equilean.org.models import RoleGrant
from equilean.org.roles import Role
from equilean.org.services import DEMO_PEOPLE, create_demo_people


def test_there_is_one_demo_person_per_role(tree):
    create_demo_people("demo-password")
    assert sorted(RoleGrant.objects.values_list("role", flat=True)) == sorted(Role.values)


def test_every_demo_login_reaches_my_day(client, tree):
    create_demo_people("demo-password")
    for person in DEMO_PEOPLE:
        response = client.post(
            reverse("login"), {"username": person.username, "password": "demo-password"}
        )
        assert response.status_code == 302, person.username
        assert client.get(reverse("home")).status_code == 200
        client.post(reverse("logout"))


def test_rerunning_does_not_duplicate_grants(tree):
    create_demo_people("demo-password")
    create_demo_people("demo-password")
    assert RoleGrant.objects.count() == len(DEMO_PEOPLE)
