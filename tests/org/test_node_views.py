"""Node pages and the node switcher, including refusals outside the person's scope."""

from django.urls import reverse


def test_it_shows_a_node_in_scope(client, unit_leader):
    client.force_login(unit_leader)
    response = client.get(reverse("org:node", args=["MUH-4W"]))
    assert response.status_code == 200
    assert "4 West Medical-Surgical" in response.content.decode()


def test_it_refuses_a_node_outside_scope(client, unit_leader):
    client.force_login(unit_leader)
    assert client.get(reverse("org:node", args=["RIV-3S"])).status_code == 404


def test_it_refuses_the_parent_of_my_unit(client, unit_leader):
    client.force_login(unit_leader)
    assert client.get(reverse("org:node", args=["MUH-MED"])).status_code == 404


def test_it_requires_sign_in(client, tree):
    assert client.get(reverse("org:node", args=["MUH-4W"])).status_code == 302


def test_it_returns_a_partial_to_htmx(client, analyst):
    client.force_login(analyst)
    response = client.get(reverse("org:node", args=["MUH"]), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "Below this node" in body
    assert "<html" not in body


def test_it_lists_children_only_in_scope(client, tree, make_person):
    priya = make_person("priya", "department_leader", "MUH-MED")
    client.force_login(priya)
    body = client.get(reverse("org:node", args=["MUH-MED"])).content.decode()
    assert "7 West Oncology" in body


def test_switching_node_remembers_it(client, analyst):
    client.force_login(analyst)
    response = client.post(reverse("org:switch"), {"node": "RIV"})
    assert response.status_code == 302
    assert response["Location"] == reverse("org:node", args=["RIV"])
    assert client.session["current_node"] == "RIV"


def test_switching_to_a_node_outside_scope_is_refused(client, unit_leader):
    client.force_login(unit_leader)
    assert client.post(reverse("org:switch"), {"node": "RIV"}).status_code == 404


def test_switching_ignores_a_redirect_to_another_site(client, analyst):
    client.force_login(analyst)
    response = client.post(reverse("org:switch"), {"node": "RIV", "next": "https://evil.example/"})
    assert response["Location"] == reverse("org:node", args=["RIV"])


def test_switching_rejects_get(client, analyst):
    client.force_login(analyst)
    assert client.get(reverse("org:switch")).status_code == 405
