"""Inline SVG icons, so every status has a shape beside its colour and text without a web font."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# 16x16 outline paths drawn for equilean; each icon is decorative and always sits beside text.
PATHS = {
    "clock": '<circle cx="8" cy="8" r="6.5"/><path d="M8 4v4l3 2"/>',
    "person": '<circle cx="8" cy="5" r="3"/><path d="M2.5 15c.5-3 2.7-5 5.5-5s5 2 5.5 5"/>',
    "sun": '<circle cx="8" cy="8" r="3"/><path d="M8 1v2M8 13v2M1 8h2M13 8h2M3 3l1.5 1.5'
    'M11.5 11.5 13 13M3 13l1.5-1.5M11.5 4.5 13 3"/>',
    "warning": '<path d="M8 1.5 15 14H1Z"/><path d="M8 6v4M8 11.5v1"/>',
    "check": '<path d="M2 8.5 6 12l8-8"/>',
    "speech": '<path d="M2 3h12v8H7l-3 3v-3H2Z"/><path d="M5 6h6M5 8.5h4"/>',
    "lock": '<rect x="3" y="7" width="10" height="7" rx="1"/><path d="M5 7V5a3 3 0 0 1 6 0v2"/>',
}


@register.simple_tag
def icon(name: str, label: str = "") -> str:
    """An inline SVG icon; hidden from screen readers unless given a label."""
    svg = PATHS[name]
    aria = format_html('role="img" aria-label="{}"', label) if label else 'aria-hidden="true"'
    # Safe: PATHS are constants defined above and the label went through format_html.
    return mark_safe(
        f'<svg class="icon" viewBox="0 0 16 16" width="1em" height="1em" fill="none" '
        f'stroke="currentColor" stroke-width="1.6" stroke-linecap="round" '
        f'stroke-linejoin="round" {aria} focusable="false">{svg}</svg>'
    )
