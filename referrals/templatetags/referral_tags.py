"""Template filters of the referral pages."""

from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """``mapping|get_item:key`` for keys a template cannot spell (hyphens, numbers)."""
    if mapping is None:
        return None
    return mapping.get(key)
