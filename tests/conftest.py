"""Fixtures shared by the Django tests: the demo tree and named people with roles."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from equilean.engine import organisation
from equilean.org.models import Node, Profile, RoleGrant
from equilean.org.services import load_tree


@pytest.fixture
def tree(db) -> dict[str, Node]:
    """Meridian Health, loaded from the demo organisation file."""
    load_tree(organisation.load())
    return {node.code: node for node in Node.objects.all()}


@pytest.fixture
def make_person(db):
    """Make a person holding `role` at the node with `code` (or no role)."""

    def make(username: str, role: str | None = None, code: str | None = None, **extra):
        user = get_user_model().objects.create_user(
            username=username,
            password="correct horse battery",
            email=f"{username}@x.example",
            **extra,
        )
        node = Node.objects.get(code=code) if code else None
        Profile.objects.create(user=user, display_name=username.title(), home_node=node)
        if role:
            RoleGrant.objects.create(user=user, node=node, role=role)
        return user

    return make


@pytest.fixture
def unit_leader(tree, make_person):
    """Marcus leads 4 West at Meridian University Hospital."""
    return make_person("marcus", "unit_leader", "MUH-4W")


@pytest.fixture
def other_unit_leader(tree, make_person):
    """Ana leads 3 South at Riverside."""
    return make_person("ana", "unit_leader", "RIV-3S")


@pytest.fixture
def analyst(tree, make_person):
    """Sam is the system's equity analyst."""
    return make_person("sam", "equity_analyst", "MERIDIAN")
