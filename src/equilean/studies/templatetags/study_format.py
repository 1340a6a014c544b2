"""Template filters for agreement figures: a dash, not "nan", where a figure is undefined."""

import math

from django import template

register = template.Library()


def _defined(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


@register.filter
def coefficient(value) -> str:
    """Kappa or alpha to two decimals; "—" when undefined (e.g. nobody applied the code)."""
    return f"{value:.2f}" if _defined(value) else "—"


@register.filter
def share(value) -> str:
    """A proportion as a percentage to one decimal; "—" when undefined."""
    return f"{value:.1%}" if _defined(value) else "—"


@register.filter
def get(mapping, key):
    """`mapping[key]`, or None."""
    return mapping.get(key) if mapping else None
