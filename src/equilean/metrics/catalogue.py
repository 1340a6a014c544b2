"""Keeping the Measure table in step with the engine's measure library."""

from __future__ import annotations

import os
from pathlib import Path

from equilean.engine import measures as engine_measures
from equilean.metrics.models import Measure


def engine_catalogue():
    """The built-in library plus the site's own YAML folder (EQUILEAN_MEASURES_DIR), if any."""
    extra = os.environ.get("EQUILEAN_MEASURES_DIR")
    if extra:
        return engine_measures.read_catalogue(
            [Path(extra)], base=engine_measures.builtin_catalogue()
        )
    return engine_measures.builtin_catalogue()


def unit_label(measure) -> str:
    if measure.type == "rate":
        return f"per {measure.per:,.0f} patient days" if measure.per != 1 else "per unit exposure"
    if measure.type == "proportion":
        return "%"
    return ""


def sync_measures(catalogue=None) -> dict[str, Measure]:
    """Create or update a Measure row per engine measure; returns them by code."""
    catalogue = catalogue or engine_catalogue()
    rows = {}
    for definition in catalogue.measures.values():
        values = {
            "name": definition.name,
            "pillar": definition.pillar,
            "kind": definition.type,
            "better": definition.better,
            "per": definition.per,
            "unit_label": unit_label(definition),
            "target": definition.target,
            "dimensions": list(definition.dimensions),
            "description": definition.description,
            "definition": {
                "table": definition.table,
                "date": definition.date,
                "unit": definition.unit,
                "denominator": definition.denominator.text,
                "numerator": definition.numerator.text if definition.numerator else None,
                "value": definition.value.text if definition.value else None,
            },
            "active": True,
        }
        measure = Measure.objects.filter(code=definition.id).first()
        if measure is None:
            measure = Measure.objects.create(code=definition.id, **values)
        elif any(getattr(measure, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(measure, key, value)
            measure.save()
        rows[definition.id] = measure
    return rows
