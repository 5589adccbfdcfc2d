"""Template tags of the client's page: the attendance section (IX.A, six in a row VIII.G).

A tag rather than context from the view, so that a page extending the client's page (or a
block overriding it) decides whether the section is read at all: four queries, only for staff
who may see attendance.
"""

from django import template
from django.utils import timezone

from clients.selectors import attendance

register = template.Library()


@register.inclusion_tag("clients/_attendance_section.html", takes_context=True)
def attendance_section(context, client):
    """IX.A on the client's page: attendance per group and six in a row (VIII.G)."""
    return {
        "client": client,
        "perms": context["perms"],
        "attendance": attendance.attendance_summary(client, today=timezone.localdate()),
    }
