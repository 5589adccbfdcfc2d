"""Filling meetings in bulk from a local intergroup's published Meeting Guide feed (VII.D):
each meeting matched to a listing by name, a per-row preview where the site admin keeps,
changes or skips each match, and only the chosen rows written."""

import io
import json

import pytest

from directory.models import Group, Meeting
from tests.factories.directory import GroupFactory

MEETINGS = "/directory/meetings/import/"


def _item(n, group, name="", day=2, time="19:00"):
    return {
        "name": name or f"Meeting {n}",
        "slug": f"m-{n}",
        "day": day,
        "time": time,
        "group": group,
        "formatted_address": f"{n} Main St, Pasadena, CA 91101",
    }


# An intergroup's feed: one meeting named like a listing, one containing a listing's name, one
# of a group the directory does not list, one ambiguous between two listings.
FEED = [
    _item(1, "Emotions Anonymous"),
    _item(2, "Emotions Anonymous of Pasadena", time="10:00"),
    _item(3, "Tuesday Night Serenity"),
    _item(4, "Dual Recovery Anonymous"),
]


@pytest.fixture
def listings(db):
    return {
        "ea": GroupFactory(name="Emotions Anonymous", slug="emotions-anonymous"),
        "dra1": GroupFactory(name="Dual Recovery Anonymous", slug="dra-1"),
        "dra2": GroupFactory(name="Dual Recovery Anonymous", slug="dra-2"),
    }


def _upload(client, items, **data):
    file = io.BytesIO(json.dumps(items).encode())
    file.name = "intergroup.json"
    return client.post(MEETINGS, {"file": file, **data})


def _rematch(client, preview, **rows):
    token = preview.context["rematch"]
    data = {"token": token["token"], "sha256": token["sha256"], "rematch": "1"}
    data |= {f"row-{item}": str(value) for item, value in rows.items()}
    return client.post(MEETINGS, data)


def _confirm(client, preview):
    form = preview.context["confirm"]
    return client.post(MEETINGS, {"token": form.initial["token"], "sha256": form.initial["sha256"]})


def test_a_published_feed_is_matched_by_name_previewed_row_by_row_and_written(
    sign_in, site_admin, listings
):
    client = sign_in(site_admin)
    preview = _upload(client, FEED, by_name="on")
    assert preview.status_code == 200
    plan = preview.context["plan"]
    assert plan.ok and plan.by_name
    rows = {entry.meeting.item: entry for entry in plan.entries}
    assert (rows[1].listing, rows[1].how, rows[1].action) == (listings["ea"], "same name", "create")
    assert (rows[2].listing, rows[2].how) == (listings["ea"], "name contains")
    assert (rows[3].listing, rows[3].action) == (None, "skip")
    assert rows[4].action == "skip" and set(rows[4].offered) == {listings["dra1"], listings["dra2"]}
    assert plan.counts == {"create": 2, "update": 0, "unchanged": 0, "error": 0, "skip": 2}
    html = preview.content.decode()
    assert 'name="row-4"' in html and "Skip this meeting" in html
    assert "skipped unless you choose its listing below" in html
    assert not Meeting.objects.exists()  # the preview only reads

    # The admin gives item 4 to the second listing and skips item 2.
    again = _rematch(client, preview, **{"4": listings["dra2"].pk, "2": 0})
    assert again.status_code == 200
    rows = {entry.meeting.item: entry for entry in again.context["plan"].entries}
    assert rows[4].listing == listings["dra2"] and rows[4].how == "chosen in the preview"
    assert rows[2].action == "skip"

    assert _confirm(client, again).status_code == 302
    written = sorted(Meeting.objects.values_list("group__slug", "address", "city", "postal_code"))
    assert written == [
        ("dra-2", "4 Main St", "Pasadena", "91101"),
        ("emotions-anonymous", "1 Main St", "Pasadena", "91101"),
    ]
    assert Group.objects.get(slug="dra-2").meetings.get().history.get().history_user == site_admin


def test_without_matching_by_name_an_unknown_group_still_stops_the_import(
    sign_in, site_admin, listings
):
    response = _upload(sign_in(site_admin), FEED)
    assert response.status_code == 400
    assert not response.context["plan"].ok
    assert not Meeting.objects.exists()


def test_a_choice_for_a_listing_archived_since_is_not_written(sign_in, site_admin, listings):
    client = sign_in(site_admin)
    preview = _upload(client, FEED, by_name="on")
    again = _rematch(client, preview, **{"4": listings["dra1"].pk})
    Group.objects.filter(pk=listings["dra1"].pk).update(archived_at="2026-12-01T00:00Z")
    response = _confirm(client, again)
    assert response.status_code == 409  # the plan changed since the preview
    assert not Meeting.objects.exists()


def test_a_spent_or_forged_rematch_token_starts_again(sign_in, site_admin, listings):
    client = sign_in(site_admin)
    preview = _upload(client, FEED, by_name="on")
    assert _rematch(client, preview).status_code == 200
    spent = _rematch(client, preview)
    assert spent.status_code == 400
    assert not Meeting.objects.exists()


@pytest.mark.parametrize("who", ["clinician", "supervisor"])
def test_only_site_admins_import(sign_in, request, who, listings):
    response = _upload(sign_in(request.getfixturevalue(who)), FEED, by_name="on")
    assert response.status_code == 403
