"""Query filters that refuse an unknown value instead of quietly matching nothing."""

from collections.abc import Iterable

from rest_framework.exceptions import ValidationError


def known(params, name: str, allowed: Iterable[str]) -> str | None:
    """`params[name]` if given and one of `allowed`; a 400 listing `allowed` otherwise."""
    value = params.get(name)
    if not value:
        return None
    allowed = list(allowed)
    if value not in allowed:
        raise ValidationError(
            {name: [f"{value!r} is not a known {name}; allowed: " + ", ".join(allowed)]}
        )
    return value
