"""My day: the home page lists the person's nodes and next huddles."""

from django.urls import reverse


def test_it_asks_anonymous_people_to_sign_in(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_lists_my_nodes_with_their_huddles(client, unit_leader):
    client.force_login(unit_leader)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "4 West Medical-Surgical" in body
    assert "Unit leader" in body
    assert "<time datetime=" in body


def test_it_does_not_list_other_peoples_nodes(client, unit_leader, other_unit_leader):
    client.force_login(unit_leader)
    body = client.get(reverse("home")).content.decode()
    assert "3 South" not in body.split('id="main"')[1]


def test_it_explains_when_i_have_no_role(client, tree, make_person):
    client.force_login(make_person("newbie"))
    assert "no role at any node" in client.get(reverse("home")).content.decode()


def test_the_node_switcher_offers_only_my_scope(client, unit_leader):
    client.force_login(unit_leader)
    body = client.get(reverse("home")).content.decode()
    assert 'value="MUH-4W"' in body
    assert 'value="RIV-3S"' not in body


def test_pages_load_no_asset_from_another_site(client, unit_leader):
    client.force_login(unit_leader)
    body = client.get(reverse("home")).content.decode()
    assert "htmx" in body
    assert "http://" not in body.replace("http://testserver", "")
    assert "https://" not in body
