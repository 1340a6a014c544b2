"""The health-system tree as a data file: the demo "Meridian Health" and any site's own."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from equilean.engine.errors import InputError

LEVELS = ("unit", "department", "hospital", "system")
# Tiered huddles run in sequence each morning so a unit's problem reaches the executives by 10:00.
DEFAULT_HUDDLE_TIMES = {
    "unit": "07:30",
    "department": "08:30",
    "hospital": "09:30",
    "system": "10:00",
}


@dataclass(frozen=True)
class OrgNode:
    """One node of the tree: its code, name, level, parent code and daily huddle time."""

    code: str
    name: str
    level: str
    parent: str | None
    huddle_time: str | None = None
    kind: str | None = None
    beds: int | None = None
    children: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Organisation:
    """A whole tree, with lookups from any node to its ancestors."""

    nodes: dict[str, OrgNode]
    root: str

    def units(self) -> list[OrgNode]:
        return [n for n in self.nodes.values() if n.level == "unit"]

    def ancestor(self, code: str, level: str) -> str:
        """The code of the node at `level` above (or equal to) `code`."""
        node = self.nodes[code]
        while node.level != level:
            if node.parent is None:
                raise KeyError(f"{code} has no {level} above it")
            node = self.nodes[node.parent]
        return node.code

    def unit_rollup(self) -> list[dict[str, str]]:
        """One row per unit with its department, hospital and system codes."""
        return [
            {level: self.ancestor(unit.code, level) for level in LEVELS} for unit in self.units()
        ]

    def walk(self):
        """Nodes top-down, each parent before its children."""
        stack = [self.root]
        while stack:
            node = self.nodes[stack.pop()]
            yield node
            stack.extend(reversed(node.children))


def demo_path() -> Path:
    """The bundled demo organisation file."""
    return Path(str(resources.files("equilean.engine") / "data" / "meridian-health.yaml"))


def load(path: str | Path | None = None) -> Organisation:
    """Read an organisation file (the demo one by default) into an `Organisation`."""
    path = Path(path) if path else demo_path()
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(str(exc), file=str(path), hint="give a readable YAML file") from exc
    nodes: dict[str, OrgNode] = {}

    def add(entry: dict, level: str, parent: str | None, child_key: str | None, depth: int):
        for key in ("code", "name"):
            if not entry.get(key):
                raise InputError(
                    f"a {level} has no {key}",
                    file=str(path),
                    field=key,
                    hint=f"give every {level} a {key}",
                )
        code = str(entry["code"])
        if code in nodes:
            raise InputError(
                f"code {code} is used twice",
                file=str(path),
                field="code",
                hint="make every code unique",
            )
        next_level = LEVELS[depth - 1] if depth > 0 else None
        next_key = {"hospital": "departments", "department": "units"}.get(next_level or "")
        kids = entry.get(child_key, []) if child_key else []
        nodes[code] = OrgNode(
            code=code,
            name=str(entry["name"]),
            level=level,
            parent=parent,
            huddle_time=entry.get("huddle_time") or DEFAULT_HUDDLE_TIMES[level],
            kind=entry.get("kind"),
            beds=entry.get("beds"),
            children=tuple(str(k.get("code")) for k in kids),
        )
        for kid in kids:
            add(kid, next_level, code, next_key, depth - 1)

    if not isinstance(raw, dict):
        raise InputError(
            "expected a mapping at the top",
            file=str(path),
            hint="start the file with code:, name: and hospitals:",
        )
    add(raw, "system", None, "hospitals", 3)
    return Organisation(nodes=nodes, root=str(raw["code"]))
