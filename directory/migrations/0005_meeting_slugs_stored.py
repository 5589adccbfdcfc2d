"""Every meeting stores its Meeting Guide slug: the one the feed already sent for it.

The feed made each meeting's slug from the listing's slug, the day and the time; storing that
slug now keeps it the same for the apps that follow the feed when the meeting later moves.
"""

from collections import defaultdict

from django.db import migrations


def store_slugs(apps, schema_editor):
    from directory.rules.meeting_guide import meeting_keys, meeting_slug
    from directory.rules.records import Listing, WeeklyMeeting

    Meeting = apps.get_model("directory", "Meeting")
    rows = defaultdict(list)
    for meeting in Meeting.objects.select_related("group").order_by("weekday", "start_time", "id"):
        rows[meeting.group].append(meeting)
    taken = set(Meeting.objects.exclude(slug="").values_list("slug", flat=True))
    for group, meetings in rows.items():
        listing = Listing(
            slug=group.slug,
            name=group.name,
            meetings=tuple(
                WeeklyMeeting(
                    weekday=m.weekday,
                    start=m.start_time,
                    end=m.end_time,
                    name=m.name,
                    location_name=m.location_name,
                    address=m.address,
                    online_url=m.online_url,
                    dial_in=m.dial_in,
                    notes=m.notes,
                )
                for m in meetings
            ),
        )
        for meeting, key in zip(meetings, meeting_keys(listing), strict=True):
            if meeting.slug:
                continue
            slug, n = meeting_slug(group.slug, key), 2
            base = slug
            while slug in taken:
                slug, n = f"{base}-{n}", n + 1
            taken.add(slug)
            Meeting.objects.filter(pk=meeting.pk).update(slug=slug)


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0004_criterion_status_meeting_address"),
    ]

    operations = [migrations.RunPython(store_slugs, migrations.RunPython.noop, elidable=True)]
