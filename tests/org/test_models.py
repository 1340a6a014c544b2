"""The tree: paths, tiers, validation, huddle times and change history."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import yaml
from django.core.exceptions import ValidationError

from equilean.engine import organisation
from equilean.org.models import Node

NY = ZoneInfo("America/New_York")


def test_the_demo_tree_has_the_shape_of_the_organisation_file(tree):
    # Read the YAML directly, not through organisation.load(), which the fixture uses.
    raw = yaml.safe_load(organisation.demo_path().read_text())
    departments = [d for h in raw["hospitals"] for d in h["departments"]]
    units = [u for d in departments for u in d["units"]]
    levels = [n.level for n in tree.values()]
    assert levels.count("system") == 1
    assert levels.count("hospital") == len(raw["hospitals"]) == 3
    assert levels.count("department") == len(departments)
    assert levels.count("unit") == len(units)
    assert {n.code: n.kind for n in tree.values() if n.level == "unit"} == {
        u["code"]: u["kind"] for u in units
    }
    assert {u["kind"] for u in units} == {
        "emergency",
        "icu",
        "med_surg",
        "labor_delivery",
        "behavioral_health",
        "ambulatory",
    }


def test_tiers_run_from_unit_to_system(tree):
    assert [tree[c].tier for c in ("MUH-4W", "MUH-MED", "MUH", "MERIDIAN")] == [1, 2, 3, 4]
    assert tree["MUH-4W"].tier_name == "Unit"


def test_paths_follow_the_tree_and_move_with_it(tree):
    assert tree["MUH-4W"].path == "/MERIDIAN/MUH/MUH-MED/MUH-4W/"
    dept = tree["MUH-MED"]
    dept.parent = tree["RIV"]
    dept.save()
    assert Node.objects.get(code="MUH-4W").path == "/MERIDIAN/RIV/MUH-MED/MUH-4W/"


def test_a_unit_cannot_sit_under_a_unit(tree):
    bad = Node(code="X", name="X", level="unit", parent=tree["MUH-4W"])
    with pytest.raises(ValidationError, match="cannot sit under a unit"):
        bad.full_clean()


def test_a_hospital_needs_a_parent(tree):
    with pytest.raises(ValidationError, match="needs a parent"):
        Node(code="Y", name="Y", level="hospital").full_clean()


def test_ancestors_run_from_the_top(tree):
    assert [n.code for n in tree["MUH-4W"].ancestors()] == ["MERIDIAN", "MUH", "MUH-MED", "MUH-4W"]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 2, 6, 0, tzinfo=NY), datetime(2026, 3, 2, 8, 30, tzinfo=NY)),
        (datetime(2026, 3, 2, 8, 40, tzinfo=NY), datetime(2026, 3, 2, 8, 30, tzinfo=NY)),
        (datetime(2026, 3, 2, 9, 0, tzinfo=NY), datetime(2026, 3, 3, 8, 30, tzinfo=NY)),
    ],
)
def test_next_huddle_is_today_until_it_is_over(tree, now, expected, settings):
    settings.TIME_ZONE = "America/New_York"
    node = tree["MUH-MED"]
    assert node.huddle_time == time(8, 30)
    assert node.next_huddle(now) == expected


def test_changes_to_nodes_are_recorded(tree):
    node = tree["MUH-4W"]
    node.name = "4 West Surgical"
    node.save()
    assert [h.name for h in node.history.all()][:2] == [
        "4 West Surgical",
        "4 West Medical-Surgical",
    ]


def test_changes_to_people_and_roles_are_recorded(unit_leader):
    unit_leader.email = "new@x.example"
    unit_leader.save()
    assert unit_leader.history.count() == 2
    grant = unit_leader.role_grants.get()
    grant.role = "frontline"
    grant.save()
    assert [h.role for h in grant.history.all()] == ["frontline", "unit_leader"]


def test_reloading_the_organisation_file_changes_nothing(tree):
    from equilean.org.services import load_tree

    before = list(Node.objects.values_list("code", "path", "tier"))
    load_tree(organisation.load())
    assert list(Node.objects.values_list("code", "path", "tier")) == before
