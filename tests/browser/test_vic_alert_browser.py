"""VI.C after the referral in Chromium, with axe.

A medicated client was referred to Sunrise Circle and Harbor Peers; Sunrise Circle's stance is
then set to discourage medication (by a bulk update: no form, no history). The referral page
shows the alert (role="alert") naming the group and VI.C with what changed; the worklist lists
it first; the decision page refuses a "keep" without a reason and records it with one; the
alert is gone and the decision is in the referral's VI.C history. The choose-groups page finds
a listing by name in place (htmx) for a direct referral (VIII.C). axe finds nothing serious or
critical on any of these states.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from directory.models import Group, Need
from referrals.models import MedicationSafetyDecision, Referral
from tests.browser.test_referrals_browser import REFER_SCREENING, Scans, sign_in_as_clinician
from tests.factories.clients import ClientFactory
from tests.factories.directory import GroupFactory
from tests.factories.referrals import (
    FollowUpFactory,
    ReferralFactory,
    ReferredGroupFactory,
    ScreeningFactory,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def scan_page(new_context) -> Page:
    """A page in a context that bypasses the CSP, so that axe's script can run."""
    return new_context(bypass_csp=True).new_page()


@pytest.fixture
def referred(clinician):
    depression = Need.objects.create(slug="depression", name="Depression")
    client = ClientFactory(
        clinic=clinician.clinic,
        created_by=clinician,
        first_name="Rosa",
        last_name="Alvarez",
        on_prescribed_medication=True,
    )
    referral = ReferralFactory(
        screening=ScreeningFactory(client=client, screened_by=clinician, answers=REFER_SCREENING),
        status=Referral.Status.REFERRED,
        approval=Referral.Approval.APPROVED,
        referred_at=timezone.now() - timedelta(days=3),
    )
    groups = []
    for rank, name in enumerate(["Sunrise Circle", "Harbor Peers"], start=1):
        group = GroupFactory(name=name, slug=name.lower().replace(" ", "-"))
        group.needs.add(depression)
        groups.append(group)
        ReferredGroupFactory(
            referral=referral,
            group=group,
            suggested_rank=rank,
            chosen_at=timezone.now() - timedelta(days=3),
        )
    FollowUpFactory(referral=referral, due_on=timezone.localdate())
    return referral, groups


def test_vi_c_alert_in_the_browser_with_axe(scan_page, settings, clinician, referred):
    page = scan_page
    scans = Scans(page)
    referral, (sunrise, _harbor) = referred
    Group.objects.filter(pk=sunrise.pk).update(medication_stance=Group.MedicationStance.DISCOURAGES)
    sign_in_as_clinician(page, settings, clinician)

    # The worklist lists the alert first.
    worklist = page.get_by_role("region", name="Medication safety alerts (VI.C)")
    expect(worklist).to_contain_text("Rosa Alvarez: Sunrise Circle")
    scans.scan("worklist with a VI.C alert")

    page.goto(f"/referrals/{referral.pk}/")
    alert = page.get_by_role("alert").filter(has_text="VI.C: Sunrise Circle")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("encourage clients to stop taking their psychiatric medications")
    expect(alert).to_contain_text("date not recorded")  # a bulk update leaves no history
    scans.scan("referral page with a VI.C alert")

    alert.get_by_role("link", name="Decide about Sunrise Circle").click()
    page.get_by_label("Kept after discussing with the client and prescriber").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("alert").filter(has_text="Nothing was saved.")).to_contain_text(
        "Say why the group is kept"
    )
    scans.scan("decision refused")
    assert not MedicationSafetyDecision.objects.exists()

    page.get_by_label("Why the group is kept (to keep it)").fill(
        "Attends the Tuesday meeting; her prescriber agrees."
    )
    page.get_by_label("I discussed keeping this group with the client and their prescriber").check()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_role("alert").filter(has_text="VI.C: Sunrise Circle")).to_have_count(0)
    expect(page.locator("#vic")).to_contain_text("Sunrise Circle kept")
    expect(page.locator("#vic")).to_contain_text("Attends the Tuesday meeting")
    scans.scan("referral page after the decision")
    assert MedicationSafetyDecision.objects.get().kind == "kept"
    scans.check()


def test_direct_choice_search_in_place_with_axe(scan_page, settings, clinician, referred):
    page = scan_page
    scans = Scans(page)
    referral, _groups = referred
    preparing = ReferralFactory(
        screening=ScreeningFactory(
            client=referral.client, screened_by=clinician, answers=REFER_SCREENING
        ),
        approval=Referral.Approval.APPROVED,
    )
    GroupFactory(name="Gamblers Table", slug="gamblers-table")
    sign_in_as_clinician(page, settings, clinician)
    page.goto(f"/referrals/{preparing.pk}/groups/")
    page.get_by_label("Refer directly to a listing you know (VIII.C): find it by name").fill(
        "gambl"
    )
    results = page.get_by_role("region", name="Listings named “gambl”")
    expect(results).to_contain_text("Gamblers Table")
    expect(page).to_have_url(f"{page.url.split('?')[0]}")  # in place: no new page
    scans.scan("choose groups with a direct search")
    scans.check()
