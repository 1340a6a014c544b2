"""Scope: which nodes a role at a node lets a person see, change, or see unsuppressed."""

from datetime import date, timedelta

from django.contrib.auth.models import Permission

from equilean.org.models import Node, RoleGrant
from equilean.org.roles import Action, roles_allowing
from equilean.org.scope import can, can_see_unsuppressed


def codes(queryset):
    return set(queryset.values_list("code", flat=True))


def test_a_unit_leader_sees_only_their_unit(unit_leader):
    assert codes(Node.objects.for_user(unit_leader, Action.VIEW)) == {"MUH-4W"}


def test_a_department_role_covers_the_whole_department(tree, make_person):
    priya = make_person("priya", "department_leader", "MUH-MED")
    assert codes(Node.objects.for_user(priya)) == {
        "MUH-MED",
        "MUH-4W",
        "MUH-5E",
        "MUH-6N",
        "MUH-7W",
    }


def test_a_system_role_covers_every_node(analyst, tree):
    assert Node.objects.for_user(analyst).count() == len(tree)


def test_a_person_without_a_role_sees_nothing(tree, make_person):
    nobody = make_person("nobody")
    assert Node.objects.for_user(nobody).count() == 0


def test_anonymous_sees_nothing(tree):
    from django.contrib.auth.models import AnonymousUser

    assert Node.objects.for_user(AnonymousUser()).count() == 0


def test_an_inactive_person_sees_nothing(tree, make_person):
    gone = make_person("gone", "executive", "MERIDIAN", is_active=False)
    assert Node.objects.for_user(gone).count() == 0


def test_an_expired_grant_no_longer_applies(tree, make_person):
    temp = make_person("temp")
    RoleGrant.objects.create(
        user=temp, node=tree["RIV"], role="executive", ends=date.today() - timedelta(days=1)
    )
    assert Node.objects.for_user(temp).count() == 0


def test_grants_add_up(tree, make_person):
    float_nurse = make_person("float", "frontline", "MUH-4W")
    RoleGrant.objects.create(user=float_nurse, node=tree["LAK-2N"], role="frontline")
    assert codes(Node.objects.for_user(float_nurse)) == {"MUH-4W", "LAK-2N"}


def test_a_code_prefix_is_not_a_subtree(tree, make_person):
    # "MUH-ED" must not cover "MUH-ED2"-style siblings whose codes merely start alike.
    Node.objects.create(code="MUH-ED2", name="Overflow", level="unit", parent=tree["MUH-EM"])
    lead = make_person("lead", "unit_leader", "MUH-ED")
    assert codes(Node.objects.for_user(lead)) == {"MUH-ED"}


def test_only_analysts_and_administrators_see_unsuppressed_cells(tree, make_person):
    assert set(roles_allowing(Action.VIEW_UNSUPPRESSED)) == {"equity_analyst", "administrator"}
    exec_ = make_person("exec", "executive", "MERIDIAN")
    admin = make_person("admin", "administrator", "MERIDIAN")
    analyst = make_person("an", "equity_analyst", "RIV")
    assert not can_see_unsuppressed(exec_, tree["MUH-4W"])
    assert can_see_unsuppressed(admin, tree["MUH-4W"])
    assert can_see_unsuppressed(analyst, tree["RIV-3S"])
    assert not can_see_unsuppressed(analyst, tree["MUH-4W"])


def test_the_unsuppressed_permission_applies_where_the_person_may_look(tree, make_person):
    exec_ = make_person("exec", "executive", "RIV")
    exec_.user_permissions.add(Permission.objects.get(codename="view_unsuppressed_data"))
    exec_ = type(exec_).objects.get(pk=exec_.pk)
    assert can_see_unsuppressed(exec_, tree["RIV-3S"])
    assert not can_see_unsuppressed(exec_, tree["MUH-4W"])


def test_an_analyst_may_look_but_not_change(analyst, tree):
    assert can(analyst, Action.VIEW, tree["MUH-4W"])
    assert not can(analyst, Action.CHANGE, tree["MUH-4W"])


def test_a_superuser_may_do_everything(tree, make_person):
    root = make_person("root", is_superuser=True)
    assert can(root, Action.ADMINISTER, tree["LAK-ED"])
    assert Node.objects.for_user(root, Action.VIEW_UNSUPPRESSED).count() == len(tree)
