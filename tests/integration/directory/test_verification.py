"""Keeping the list current (VII.D) through real requests: the verification call screen and its
one save, the call queue's order, clinicians' reports, the progress page; roles, outsiders,
bad input and query counts.

The "done" test: a listing unverified since 2008 becomes current with its VI.C stance, its
II.A–H criteria and its meetings from one screen, and a medicated client's suggestions change.
"""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from clients.models import Client
from directory.models import (
    CriterionConfirmation,
    Group,
    Language,
    Meeting,
    Need,
    ReviewFlag,
    VerificationCall,
)
from referrals.models import Referral
from tests.factories.clients import ClientFactory
from tests.factories.directory import (
    CategoryFactory,
    ChangeRequestFactory,
    ContactFactory,
    CriterionConfirmationFactory,
    GroupFactory,
    MeetingFactory,
    ReviewFlagFactory,
    ServiceAreaFactory,
    VerificationCallFactory,
)
from tests.factories.referrals import ReferralFactory, ReferredGroupFactory, ScreeningFactory
from tests.integration.directory.test_manage import form_data

NOW = dt.datetime(2026, 12, 7, 18, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 7)
SEED_DAY = dt.date(2008, 11, 7)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def depression(db):
    return Need.objects.create(slug="depression", name="Depression")


def _seeded(name, need, **fields):
    group = GroupFactory(name=name, slug=name.lower().replace(" ", "-"), **fields)
    group.needs.add(need)
    Group.objects.filter(pk=group.pk).update(last_verified_on=SEED_DAY)
    ContactFactory(group=group, phone="+18183774341")
    group.refresh_from_db()
    return group


@pytest.fixture
def emotions(depression):
    return _seeded("Emotions Anonymous", depression)


@pytest.fixture
def pill_free(depression):
    return _seeded("Pill Free Peers", depression)


@pytest.fixture
def medicated_referral(clinic, clinician, depression):
    client = ClientFactory(clinic=clinic, created_by=clinician, on_prescribed_medication=True)
    screening = ScreeningFactory(
        client=client,
        screened_by=clinician,
        answers={
            "indications": [{"code": "IV.H", "detail": "depression"}],
            "no_indication_found": False,
            "selection_criterion": "met",
            "violence_without_impulse_control": "no",
            "expressed_disinterest": "no",
            "explanation_given": True,
            "on_prescribed_medication": "yes",
        },
    )
    return ReferralFactory(screening=screening, approval=Referral.Approval.APPROVED)


def call_data(client, group, **answers):
    """The call screen's form as loaded, with the answers given."""
    data = form_data(client.get(f"/directory/{group.slug}/call/"), "call-form")
    for name, value in answers.items():
        data[name] = value if isinstance(value, list) else [value]
    return data


ALL_MEET = {f"criterion_II_{letter}": "meets" for letter in "ABCDEFGH"}
NEW_MEETING = {
    "meetings-0-weekday": "2",
    "meetings-0-start_time": "19:00",
    "meetings-0-end_time": "20:30",
    "meetings-0-location_name": "St. Mark's Hall",
    "meetings-0-address": "1020 N Brand Blvd, Glendale, CA 91202",
}


def _suggestions(client, referral):
    response = client.get(f"/referrals/{referral.pk}/groups/")
    assert response.status_code == 200
    return response.context["result"]


# --- Done: from "unverified since 2008" to "current" on one screen ----------------------------


def test_one_call_makes_a_listing_current_and_changes_a_medicated_clients_suggestions(
    sign_in, site_admin, clinician, emotions, pill_free, medicated_referral, client
):
    """VII.D, VI.C, II.A–H: the call's answers reach the listing in one save, with history;
    the medicated client's suggestions then rank the affirming group first, say why, and keep
    the group that encourages stopping medication apart."""
    sign_in(clinician)
    before = _suggestions(client, medicated_referral)
    assert {s.listing.name for s in before.suggestions} == {"Emotions Anonymous", "Pill Free Peers"}
    assert all("not verified since November 2008" in s.summary for s in before.suggestions)
    client.logout()

    admin = sign_in(site_admin)
    spanish = Language.objects.create(code="es", name="Spanish")
    data = call_data(
        admin,
        emotions,
        outcome="reached",
        spoke_with="the secretary",
        encourages_stopping="no",
        full_members="yes",
        fees_note="No dues; a basket is passed.",
        languages=[str(spanish.pk)],
        **ALL_MEET,
        **NEW_MEETING,
    )
    assert admin.post(f"/directory/{emotions.slug}/call/", data).status_code == 302
    data = call_data(
        admin, pill_free, outcome="reached", encourages_stopping="yes", full_members="no"
    )
    assert admin.post(f"/directory/{pill_free.slug}/call/", data).status_code == 302

    emotions.refresh_from_db()
    assert emotions.last_verified_on == TODAY and emotions.last_verified_by == site_admin
    assert not emotions.is_stale(TODAY)
    assert emotions.medication_stance == Group.MedicationStance.AFFIRMING
    assert emotions.fees_note == "No dues; a basket is passed."
    assert list(emotions.languages.all()) == [spanish]
    statuses = set(emotions.criteria.values_list("status", flat=True))
    assert statuses == {CriterionConfirmation.Status.MEETS}
    assert emotions.criteria.count() == 8
    meeting = emotions.meetings.get()
    assert meeting.weekday == Meeting.Weekday.TUESDAY and meeting.location_name == "St. Mark's Hall"
    # One history record for the listing, naming the call as its source.
    record = emotions.history.first()
    assert record.history_user == site_admin
    assert record.history_change_reason == "Verification call of 2026-12-07"
    assert meeting.history.get().history_change_reason == "Verification call of 2026-12-07"
    history = admin.get(f"/directory/{emotions.slug}/history/").content.decode()
    assert "Source: Verification call of 2026-12-07" in history
    call = VerificationCall.objects.get(group=emotions)
    assert (call.outcome, call.called_by, call.called_on) == ("reached", site_admin, TODAY)
    assert (call.encourages_stopping, call.full_members) == ("no", "yes")
    pill_free.refresh_from_db()
    assert pill_free.medication_stance == Group.MedicationStance.DISCOURAGES  # VI.C

    admin.logout()
    sign_in(clinician)
    after = _suggestions(client, medicated_referral)
    assert [s.listing.name for s in after.suggestions] == ["Emotions Anonymous"]
    assert "treats members on prescribed medication as full members" in after.suggestions[0].summary
    assert "verified December 2026" in after.suggestions[0].summary
    assert [item.listing.name for item in after.not_suitable] == ["Pill Free Peers"]
    page = client.get(f"/referrals/{medicated_referral.pk}/groups/").content.decode()
    assert '<dt class="col-sm-3">Verified</dt>\n  <dd class="col-sm-9">7 December 2026</dd>' in page


def test_a_current_listing_ranks_above_an_equal_stale_one_and_says_why(
    sign_in, site_admin, clinician, emotions, pill_free, medicated_referral, client
):
    """VII.D cadence: same needs, same stance; the current one first, the reason saying so."""
    Group.objects.filter(pk=pill_free.pk).update(last_verified_on=dt.date(2026, 3, 2))
    sign_in(clinician)
    result = _suggestions(client, medicated_referral)
    assert [s.listing.name for s in result.suggestions] == ["Pill Free Peers", "Emotions Anonymous"]
    assert "verified March 2026" in result.suggestions[0].summary
    assert "not verified since November 2008" in result.suggestions[1].summary


def test_the_current_period_is_a_setting(settings, emotions):
    Group.objects.filter(pk=emotions.pk).update(last_verified_on=dt.date(2026, 3, 2))
    emotions.refresh_from_db()
    assert not emotions.is_stale(TODAY)
    settings.LISTING_CURRENT_MONTHS = 6
    assert emotions.is_stale(TODAY)
    assert Group.objects.stale(TODAY).filter(pk=emotions.pk).exists()


def test_a_failed_attempt_records_only_the_attempt(sign_in, site_admin, emotions):
    admin = sign_in(site_admin)
    data = call_data(
        admin, emotions, outcome="voicemail", encourages_stopping="yes", **ALL_MEET, **NEW_MEETING
    )
    assert admin.post(f"/directory/{emotions.slug}/call/", data).status_code == 302
    emotions.refresh_from_db()
    assert emotions.last_verified_on == SEED_DAY
    assert emotions.medication_stance == Group.MedicationStance.NOT_KNOWN
    assert not emotions.meetings.exists() and not emotions.criteria.exists()
    call = VerificationCall.objects.get()
    assert call.outcome == "voicemail" and call.encourages_stopping == ""


def test_three_failed_attempts_in_30_days_propose_archiving(sign_in, site_admin, emotions):
    for days_ago, outcome in ((20, "no-answer"), (9, "voicemail"), (1, "disconnected")):
        VerificationCallFactory(
            group=emotions, called_on=TODAY - dt.timedelta(days=days_ago), outcome=outcome
        )
    page = sign_in(site_admin).get(f"/directory/{emotions.slug}/call/").content.decode()
    assert "Archiving proposed" in page
    assert "3 failed call attempts in the last 30 days" in page
    queue = sign_in(site_admin).get("/referrals/verification-queue/").content.decode()
    assert "Archiving proposed" in queue


def test_bad_call_input_is_refused_and_nothing_is_saved(sign_in, site_admin, emotions):
    admin = sign_in(site_admin)
    data = call_data(admin, emotions, outcome="reached", **ALL_MEET)
    data["meetings-0-weekday"] = ["2"]
    data["meetings-0-start_time"] = ["19:00"]  # no address, link or dial-in
    response = admin.post(f"/directory/{emotions.slug}/call/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was saved" in page and "Give an address" in page
    assert not VerificationCall.objects.exists()
    emotions.refresh_from_db()
    assert emotions.last_verified_on == SEED_DAY
    # What was typed is still there.
    assert 'value="19:00"' in page
    missing = admin.post(f"/directory/{emotions.slug}/call/", {"meetings-TOTAL_FORMS": "0"})
    assert missing.status_code == 400
    assert "Choose what happened on the call." in missing.content.decode()


# --- The queue ---------------------------------------------------------------------------------


def test_the_queue_puts_medication_concerns_then_reports_then_use_then_staleness(
    sign_in, site_admin, clinic, clinician, depression
):
    """VII.D with VI.C first: risk, then use, then age."""
    oldest = _seeded("Oldest", depression)
    Group.objects.filter(pk=oldest.pk).update(last_verified_on=dt.date(1999, 1, 1))
    never = _seeded("Never", depression)
    Group.objects.filter(pk=never.pk).update(last_verified_on=None)
    busy = _seeded("Busy", depression)
    reported = _seeded("Reported", depression)
    concern = _seeded("Concern", depression)
    current = _seeded("Current", depression)
    Group.objects.filter(pk=current.pk).update(last_verified_on=TODAY)
    ReviewFlagFactory(group=concern, concerns_medication=True)
    ReviewFlagFactory(group=reported, source=ReviewFlag.Source.CLINICIAN)
    referrals = [
        ReferralFactory(screening__client=ClientFactory(clinic=clinic, created_by=clinician))
        for _ in range(2)
    ]
    for referral in referrals:
        ReferredGroupFactory(referral=referral, group=busy, chosen_at=timezone.now())
    ReferredGroupFactory(
        referral=referrals[0],
        group=oldest,
        chosen_at=timezone.now() - dt.timedelta(days=120),  # too long ago to count
    )
    response = sign_in(site_admin).get("/referrals/verification-queue/")
    names = [row.group.name for row in response.context["rows"]]
    assert names == ["Concern", "Reported", "Busy", "Never", "Oldest"]  # "Current" is not due
    page = response.content.decode()
    assert 'href="tel:+18183774341"' in page
    assert "Referred 2 times in 90 days" in page


@pytest.mark.parametrize(
    ("who", "status"),
    [("clinician", 403), ("supervisor", 403), ("site_admin", 200), ("outsider", 403)],
)
def test_queue_and_call_screen_are_for_site_admins(sign_in, request, who, status, emotions):
    client = sign_in(request.getfixturevalue(who))
    assert client.get("/referrals/verification-queue/").status_code == status
    assert client.get(f"/directory/{emotions.slug}/call/").status_code == status


def test_anonymous_is_sent_to_sign_in(client, emotions):
    pages = (
        "/referrals/verification-queue/",
        f"/directory/{emotions.slug}/call/",
        "/directory/progress/",
        "/directory/changes/",
    )
    for path in pages:
        response = client.get(path)
        assert response.status_code == 302 and "/account/sign-in/" in response["Location"]


def test_queue_and_call_screen_queries_stay_fixed(sign_in, site_admin, depression, count_queries):
    groups = [_seeded(f"Listing {n:02d}", depression) for n in range(30)]
    for group in groups[:10]:
        VerificationCallFactory(group=group, called_on=TODAY)
        ReviewFlagFactory(group=group)
    client = sign_in(site_admin)
    queue = count_queries(client, "/referrals/verification-queue/")
    assert len(queue.response.context["rows"]) == 25
    assert queue == 8, queue
    for n in range(8):
        VerificationCallFactory(group=groups[0], called_on=TODAY - dt.timedelta(days=n))
        MeetingFactory(group=groups[0], weekday=n % 7, start_time=f"{10 + n}:00", end_time=None)
        CriterionConfirmationFactory(group=groups[0], criterion=f"II.{'ABCDEFGH'[n]}")
    call = count_queries(client, f"/directory/{groups[0].slug}/call/")
    assert call == 13, call


# --- Clinicians' reports -----------------------------------------------------------------------


def test_a_clinician_reports_a_listing_in_one_click_and_it_moves_up(
    sign_in, clinician, site_admin, emotions, pill_free, client
):
    sign_in(clinician)
    page = client.get(f"/directory/{pill_free.slug}/").content.decode()
    assert "Number not working" in page
    response = client.post(
        f"/directory/{pill_free.slug}/report/",
        {"kind": "number-not-working", "note": "Rang out twice", "next": "/directory/"},
    )
    assert response.status_code == 302 and response["Location"] == "/directory/"
    client.post(f"/directory/{pill_free.slug}/report/", {"kind": "number-not-working"})
    flag = ReviewFlag.objects.get()  # a double click is one report
    assert flag.source == ReviewFlag.Source.CLINICIAN and flag.opened_by == clinician
    assert flag.summary == "Reported by a clinician: Number not working"
    assert flag.detail == "Rang out twice"
    client.logout()
    rows = sign_in(site_admin).get("/referrals/verification-queue/").context["rows"]
    assert rows[0].group == pill_free and rows[0].reported


def test_a_report_without_a_kind_is_refused(sign_in, clinician, emotions):
    response = sign_in(clinician).post(f"/directory/{emotions.slug}/report/", {"note": "x"})
    assert response.status_code == 400
    assert "Nothing was recorded" in response.content.decode()
    assert not ReviewFlag.objects.exists()


def test_reports_are_for_signed_in_staff(client, no_role_user, sign_in, emotions):
    assert client.post(f"/directory/{emotions.slug}/report/", {"kind": "x"}).status_code == 302
    denied = sign_in(no_role_user).post(
        f"/directory/{emotions.slug}/report/", {"kind": "number-not-working"}
    )
    assert denied.status_code == 403
    assert not ReviewFlag.objects.exists()


# --- Progress ----------------------------------------------------------------------------------


def test_progress_counts_current_listings_by_heading_and_area(
    sign_in, supervisor, site_admin, depression
):
    heading = CategoryFactory(slug="twelve-step-mh", name="Twelve-step")
    area = ServiceAreaFactory(slug="east", name="East", spa_number=7)
    fresh = _seeded("Fresh", depression)
    stale = _seeded("Stale", depression)
    Group.objects.filter(pk=fresh.pk).update(
        last_verified_on=TODAY, medication_stance=Group.MedicationStance.AFFIRMING
    )
    for group in (fresh, stale):
        group.service_areas.add(area)
    VerificationCallFactory(group=fresh, outcome="reached", called_on=TODAY)
    VerificationCallFactory(group=stale, called_on=dt.date(2026, 11, 30))  # last month
    ChangeRequestFactory(group=stale)
    response = sign_in(supervisor).get("/directory/progress/")
    assert response.status_code == 200
    progress = response.context["progress"]
    assert (progress.total.current, progress.total.listings, progress.total.share) == (1, 2, 50)
    assert [(r.label, r.current, r.listings) for r in progress.by_heading] == [(heading.name, 1, 2)]
    assert [(r.label, r.current, r.listings) for r in progress.by_area] == [("East", 1, 2)]
    assert (progress.calls_this_month, progress.reached_this_month) == (1, 1)
    assert progress.open_change_requests == 1 and progress.stance_not_known == 1
    assert sign_in(site_admin).get("/directory/progress/").status_code == 200


@pytest.mark.parametrize("who", ["clinician", "no_role_user"])
def test_progress_is_not_for_clinicians(sign_in, request, who):
    assert sign_in(request.getfixturevalue(who)).get("/directory/progress/").status_code == 403


def test_another_clinics_supervisor_sees_the_same_countywide_progress(sign_in, outsider):
    # The list is the county's, not a clinic's: its progress names no client and no clinic.
    response = sign_in(outsider).get("/directory/progress/")
    assert response.status_code == 200
    assert response.context["progress"].total.listings == 0


def test_progress_queries_stay_fixed(sign_in, site_admin, depression, count_queries):
    for n in range(40):
        group = _seeded(f"Listing {n:02d}", depression)
        group.service_areas.add(ServiceAreaFactory(slug=f"spa-{n % 8}", spa_number=n % 8 + 1))
    progress = count_queries(sign_in(site_admin), "/directory/progress/")
    assert progress == 8, progress


def test_medicated_client_profile_reads_the_client(medicated_referral):
    # The fixture's client is on medication: the VI.C tests above depend on it.
    assert Client.objects.get(pk=medicated_referral.client_id).on_prescribed_medication
