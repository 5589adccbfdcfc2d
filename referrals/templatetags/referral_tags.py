from django import template
from django.utils import timezone

from clients.selectors import attendance

register = template.Library()


@register.filter
def get_item(mapping, key):
    """``mapping|get_item:key`` for keys a template cannot spell (hyphens, numbers)."""
    if mapping is None:
        return None
    return mapping.get(key)


@register.inclusion_tag("clients/_attendance_section.html", takes_context=True)
def attendance_section(context, client):
    """IX.A on the client's page: attendance per group and six in a row (VIII.G), four
    queries. A tag, because the clients app may not import referrals."""
    return {
        "client": client,
        "perms": context["perms"],
        "attendance": attendance.attendance_summary(client, today=timezone.localdate()),
    }
