"""Review flags by risk, and a medication concern resolved with an outcome (VI.C).

The site admin's worklist lists medication concerns first (until resolved they keep a listing
from medicated clients and raise alerts on referrals already made), then client feedback, then
the rest. Resolving a medication concern records what was found, and acts on the listing in
the same transaction: "stance changed" records VI.C's stance, "group removed" archives it;
"unfounded" leaves the listing as it was.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from directory.models import Group, ReviewFlag
from directory.services import listings as services
from tests.factories.directory import GroupFactory, ReviewFlagFactory


def test_open_flags_are_sorted_by_risk(sign_in, site_admin):
    now = timezone.now()
    old_admin = ReviewFlagFactory(summary="Old admin doubt", opened_at=now - timedelta(days=30))
    feedback = ReviewFlagFactory(
        summary="Safety concern", source=ReviewFlag.Source.FEEDBACK, opened_at=now - timedelta(5)
    )
    medication_new = ReviewFlagFactory(
        summary="Medication, new", concerns_medication=True, opened_at=now - timedelta(days=1)
    )
    medication_old = ReviewFlagFactory(
        summary="Medication, old", concerns_medication=True, opened_at=now - timedelta(days=2)
    )
    work = sign_in(site_admin).get("/directory/manage/").context["work"]
    assert list(work.flags.object_list) == [medication_old, medication_new, feedback, old_admin]


@pytest.mark.parametrize(
    ("outcome", "stance", "archived"),
    [
        ("unfounded", Group.MedicationStance.NOT_KNOWN, False),
        ("stance-changed", Group.MedicationStance.DISCOURAGES, False),
        ("group-removed", Group.MedicationStance.NOT_KNOWN, True),
    ],
)
def test_a_medication_concern_is_resolved_with_an_outcome(
    sign_in, site_admin, outcome, stance, archived
):
    group = GroupFactory()
    flag = ReviewFlagFactory(group=group, summary="Concern", concerns_medication=True)
    client = sign_in(site_admin)
    page = client.get(f"/directory/flags/{flag.pk}/resolve/")
    assert "What was found (VI.C)" in page.content.decode()
    response = client.post(
        f"/directory/flags/{flag.pk}/resolve/",
        {"outcome": outcome, "resolution_note": "Called the group's contact."},
    )
    assert response.status_code == 302
    flag.refresh_from_db()
    group.refresh_from_db()
    assert flag.outcome == outcome and flag.resolved_by == site_admin
    assert group.medication_stance == stance
    assert (group.archived_at is not None) is archived
    if outcome == "stance-changed":
        # Recorded in the listing's history with who, and an edit begun before is refused.
        latest = group.history.order_by("-history_id").first()
        assert latest.history_user == site_admin and latest.medication_stance == stance
    resolved = client.get(f"/directory/flags/{flag.pk}/resolve/").content.decode()
    assert ReviewFlag.Outcome(outcome).label.split(":")[0] in resolved


def test_other_flags_take_no_outcome(sign_in, site_admin):
    flag = ReviewFlagFactory(summary="Phone to confirm")
    page = sign_in(site_admin).get(f"/directory/flags/{flag.pk}/resolve/")
    assert "What was found (VI.C)" not in page.content.decode()
    with pytest.raises(services.OutcomeRequired):
        services.resolve_flag(flag=flag, note="Checked.", outcome="unfounded", by=site_admin)
    medication = ReviewFlagFactory(summary="Concern", concerns_medication=True)
    with pytest.raises(services.OutcomeRequired):
        services.resolve_flag(flag=medication, note="Checked.", by=site_admin)
    assert ReviewFlag.objects.filter(resolved_at__isnull=True).count() == 2


def test_a_bad_outcome_is_refused_and_nothing_saved(sign_in, site_admin):
    flag = ReviewFlagFactory(summary="Concern", concerns_medication=True)
    response = sign_in(site_admin).post(
        f"/directory/flags/{flag.pk}/resolve/",
        {"outcome": "maybe", "resolution_note": "Kept note."},
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Say what was found: unfounded, stance changed, or group removed." in text
    assert "Kept note." in text  # what was typed is not lost
    flag.refresh_from_db()
    assert flag.is_open and flag.outcome == ""
