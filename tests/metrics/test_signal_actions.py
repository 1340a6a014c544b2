"""Acknowledging, linking and resolving a signal from the dashboard, with and without htmx."""

import pytest
from rest_framework.test import APIClient

from equilean.metrics.models import Signal


def _url(signal, step, code="MUH-4W"):
    return f"/nodes/{code}/equity/signals/{signal.pk}/{step}/"


def test_it_acknowledges_and_redirects_back(client, unit_leader, ward):
    client.force_login(unit_leader)
    response = client.post(_url(ward["gap"], "acknowledge"))
    assert response.status_code == 302
    assert response["Location"].startswith("/nodes/MUH-4W/equity/")
    signal = Signal.objects.get(pk=ward["gap"].pk)
    assert signal.status == "acknowledged" and signal.acknowledged_by == unit_leader


def test_it_links_and_resolves_over_htmx(client, unit_leader, ward):
    client.force_login(unit_leader)
    response = client.post(
        _url(ward["gap"], "link"), {"reference": "A3-12 readmissions"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'id="signal-' in response.text and "A3-12 readmissions" in response.text
    assert "<html" not in response.text
    response = client.post(_url(ward["gap"], "resolve"), {"note": "done"}, HTTP_HX_REQUEST="true")
    signal = Signal.objects.get(pk=ward["gap"].pk)
    assert signal.status == "resolved" and signal.resolution_note == "done"


def test_it_explains_a_step_that_does_not_apply(client, unit_leader, ward):
    client.force_login(unit_leader)
    client.post(_url(ward["gap"], "resolve"), {"note": "discharge calls in place"})
    response = client.post(_url(ward["gap"], "acknowledge"), HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "resolved" in response.text


def test_it_rejects_get(client, unit_leader, ward):
    client.force_login(unit_leader)
    assert client.get(_url(ward["gap"], "acknowledge")).status_code == 405


def test_frontline_staff_cannot_respond(client, frontline, ward):
    client.force_login(frontline)
    assert client.post(_url(ward["gap"], "acknowledge")).status_code == 403
    assert Signal.objects.get(pk=ward["gap"].pk).status == "new"


def test_a_unit_leader_cannot_act_on_another_units_signal(client, unit_leader, ward):
    client.force_login(unit_leader)
    other = ward["elsewhere"]
    assert client.post(_url(other, "acknowledge", "RIV-3S")).status_code == 404
    # Nor by naming their own node with the other unit's signal.
    assert client.post(_url(other, "acknowledge")).status_code == 404
    assert Signal.objects.get(pk=other.pk).status == "new"


@pytest.mark.parametrize("note", [None, "", "   "])
def test_resolving_without_a_note_is_refused_with_a_form_error(client, unit_leader, ward, note):
    client.force_login(unit_leader)
    body = {} if note is None else {"note": note}
    response = client.post(_url(ward["gap"], "resolve"), body, HTTP_HX_REQUEST="true")
    assert 'id="note-error-' in response.text
    assert "Resolving a signal needs a note" in response.text
    assert Signal.objects.get(pk=ward["gap"].pk).status == "new"
    # Without htmx the message waits on the dashboard it redirects back to.
    response = client.post(_url(ward["gap"], "resolve"), body, follow=True)
    assert "Resolving a signal needs a note" in response.text
    assert Signal.objects.get(pk=ward["gap"].pk).status == "new"


@pytest.mark.parametrize("note", [None, "", "   "])
def test_the_api_refuses_to_resolve_without_a_note(unit_leader, ward, note):
    api = APIClient()
    api.force_authenticate(unit_leader)
    body = {} if note is None else {"note": note}
    response = api.post(f"/api/v1/signals/{ward['gap'].pk}/resolve/", body, format="json")
    assert response.status_code == 400
    assert "Resolving a signal needs a note" in response.json()["note"][0]
    assert Signal.objects.get(pk=ward["gap"].pk).status == "new"
