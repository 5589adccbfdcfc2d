"""The access log's labels: every logged action names the record it acted on.

A clinician's whole journey and a supervisor's review, through real requests; after each, the
rows it wrote. The label the log page shows is the action and the object's type ("Create
screening 12"), so each must be what happened: saving a screening creates a screening (not a
client), starting a referral creates a referral, documenting attendance creates attendance, a
sign-off creates a sign-off, and the screening's live decision, which shows nothing of the
client, writes no row at all (one "view" per page, not one per answer changed).
"""

from __future__ import annotations

import pytest
from django.urls import get_resolver
from django.utils import timezone

from accounts.models import AccessEvent
from clients.models import Attendance, DocumentationSignOff, Feedback
from directory.models import Language, Need, ServiceArea
from referrals.models import Referral, Screening
from tests.factories.accounts import UserFactory
from tests.factories.directory import GroupFactory, MeetingFactory

SCREEN = {
    "indications": ["IV.H"],
    "detail_iv_h": "depression",
    "selection_criterion": "met",
    "violence": "no",
    "explanation_given": "on",
    "disinterest": "no",
    "on_medication": "no",
}

# Routes of the client and referral apps that write no row of their own, and why.
NOT_LOGGED = {
    # The blank form touches no record; sending it is "create client" (below).
    "clients:new (GET)",
    # The clinic's follow-up weeks: a setting, not a client's record.
    "referrals:followup-schedule",
    # The site admins' queue of listings to call: the catalogue, not a client's record.
    "referrals:verification-queue",
    # VIII.C's search by name on the referral's page, as the clinician types: a row only for a
    # refusal (url_matrix), as for the screening's live decision.
    "referrals:find-listing",
}


@pytest.fixture
def group(db):
    need = Need.objects.create(slug="depression", name="Depression")
    area = ServiceArea.objects.create(
        slug="east", name="East", kind=ServiceArea.Kind.SPA, spa_number=7
    )
    listing = GroupFactory(name="Grupo Esperanza", slug="grupo-esperanza")
    listing.needs.add(need)
    listing.service_areas.add(area)
    listing.languages.add(Language.objects.create(code="en", name="English"))
    MeetingFactory(group=listing)
    return listing


class Journal:
    """Each request and the access-log rows it wrote."""

    def __init__(self):
        self.seen = set()

    def rows(self, response, expected_status=None):
        if expected_status is not None:
            assert response.status_code == expected_status, response.content[:800]
        new = list(AccessEvent.objects.exclude(pk__in=self.seen).order_by("id"))
        self.seen |= {row.pk for row in new}
        return [(row.action, row.object_type, row.outcome) for row in new]


def test_every_logged_action_names_the_record_it_acted_on(
    sign_in, clinician, supervisor, group, settings
):
    log = Journal()
    web = sign_in(clinician)
    log.rows(web.get("/clinician/"))  # signing in and the home page: the baseline

    # The register.
    assert log.rows(web.get("/clients/"), 200) == [("view", "client", "success")]
    found = web.post("/clients/find/", {"q": "Reyes"})
    assert log.rows(found, 200) == [("view", "client", "success")]
    created = web.post(
        "/clients/new/",
        {
            "record_number": "5550001",
            "first_name": "Ana",
            "last_name": "Reyes",
            "preferred_language": "en",
            "primary_clinician": clinician.pk,
        },
    )
    assert log.rows(created, 302) == [("create", "client", "success")]
    client_id = int(created["Location"].rstrip("/").rsplit("/", 1)[1])
    assert log.rows(web.get(f"/clients/{client_id}/"), 200) == [("view", "client", "success")]
    assert log.rows(web.get(f"/clients/{client_id}/edit/"), 200) == [("view", "client", "success")]

    # The screening: the live decision writes nothing; saving creates a screening.
    assert log.rows(web.get(f"/referrals/screen/{client_id}/"), 200) == [
        ("view", "client", "success")
    ]
    for _ in range(3):
        live = web.post(f"/referrals/screen/{client_id}/decision/", SCREEN)
        assert log.rows(live, 200) == []
    saved = web.post(f"/referrals/screen/{client_id}/", SCREEN)
    assert log.rows(saved, 302) == [("create", "screening", "success")]
    screening = Screening.objects.get()
    assert log.rows(web.get(f"/referrals/screenings/{screening.pk}/"), 200) == [
        ("view", "screening", "success")
    ]
    started = web.post(f"/referrals/screenings/{screening.pk}/refer/")
    assert log.rows(started, 302) == [("create", "referral", "success")]
    referral = Referral.objects.get()
    assert AccessEvent.objects.filter(action="create", object_type="referral").get().object_id == (
        str(referral.pk)
    )

    # The referral and its procedure: views are views, changes are edits of the referral.
    base = f"/referrals/{referral.pk}"
    assert log.rows(web.get(f"{base}/"), 200) == [("view", "referral", "success")]
    state = Referral.objects.get(pk=referral.pk)
    saved_input = web.post(
        f"{base}/client-input/",
        {
            "goals": "Talk with others",
            "goal_needs": [Need.objects.get().pk],
            "preferred_area": ServiceArea.objects.get().pk,
            "location_text": "",
            "language": "en",
            "cultural_needs": "",
            "twelve_step": "no-preference",
            "approval": "approved",
            "declined_reason": "",
            "counselled": "on",
            "version": state.version,
        },
    )
    assert log.rows(saved_input, 302) == [("edit", "referral", "success")]
    assert log.rows(web.get(f"{base}/groups/"), 200) == [("view", "referral", "success")]
    chosen = web.post(f"{base}/groups/", {"groups": [group.pk]})
    assert log.rows(chosen, 302) == [("edit", "referral", "success")]
    done = web.post(f"{base}/steps/f/done/", {"note": ""})
    assert log.rows(done) == [("edit", "referral", "success")]
    assert log.rows(web.get(f"{base}/sheet/"), 200) == [("print", "referral", "success")]
    # The referral for the health record (FHIR) is an export of the referral.
    assert log.rows(web.get(f"{base}/fhir/"), 200) == [("export", "referral", "success")]
    # VI.C after the referral: the decision page about a chosen group is a view of the referral.
    vic = web.get(f"{base}/vi-c/{group.pk}/")
    assert log.rows(vic) == [("view", "referral", "success")]
    # 42 CFR Part 2 consents are part of the client's record.
    assert log.rows(web.get(f"/clients/{client_id}/part2-consents/"), 200) == [
        ("view", "client", "success")
    ]

    # The documentation after the referral creates what it documents.
    attendance = web.post(
        f"/referrals/attendance/{client_id}/new/",
        {
            "group": str(group.pk),
            "dates": timezone.localdate().isoformat(),
            "status": "attended",
            "meeting": "",
            "accompanied": "no",
            "source": "client",
            "before_referral_reason": "",
        },
    )
    assert log.rows(attendance, 302) == [("create", "attendance", "success")]
    assert AccessEvent.objects.filter(object_type="attendance").get().object_id == str(
        Attendance.objects.get().pk
    )
    feedback = web.post(
        f"/clients/{client_id}/feedback/new/",
        {
            "group": str(group.pk),
            "given_on": timezone.localdate().isoformat(),
            "frequency": Feedback.Frequency.WEEKLY_OR_MORE,
            "observations": "Welcoming.",
            "concerns": "",
        },
    )
    assert log.rows(feedback, 302) == [("create", "feedback", "success")]
    assert log.rows(web.get(f"/referrals/record-note/{client_id}/"), 200) == [
        ("print", "client", "success")
    ]

    # The supervisor's review and a sign-off.
    boss = sign_in(supervisor)
    log.rows(boss.get("/supervisor/"))
    today = timezone.localdate().isoformat()
    assert log.rows(boss.get("/referrals/review/"), 200) == [
        ("view", "supervisor-review", "success")
    ]
    signed = boss.post(
        "/referrals/review/sign-off/",
        {
            "clinician": clinician.pk,
            "period_start": today,
            "period_end": today,
            "note": "Reviewed.",
            "start": today,
            "end": today,
            "weeks": "4",
        },
    )
    assert log.rows(signed, 302) == [("create", "documentationsignoff", "success")]
    assert AccessEvent.objects.filter(object_type="documentationsignoff").get().object_id == (
        str(DocumentationSignOff.objects.get().pk)
    )
    again = boss.post(
        "/referrals/review/sign-off/",
        {"clinician": clinician.pk, "period_start": today, "period_end": today, "note": ""},
    )
    assert log.rows(again, 409) == [("create", "documentationsignoff", "failure")]


def test_the_live_decision_still_logs_a_probe_of_another_clinics_client(
    sign_in, clinician, other_clinic
):
    from tests.factories.clients import ClientFactory

    theirs = ClientFactory(clinic=other_clinic, created_by=UserFactory(clinic=other_clinic))
    web = sign_in(clinician)
    before = AccessEvent.objects.count()
    response = web.post(f"/referrals/screen/{theirs.pk}/decision/", SCREEN)
    assert response.status_code == 404
    [row] = AccessEvent.objects.order_by("id")[before:]
    assert (row.action, row.object_type, row.object_id, row.outcome) == (
        "view",
        "client",
        str(theirs.pk),
        "not-found",
    )


def test_the_label_rule_covers_every_route_of_client_records():
    """Every route of the client and referral apps is either in the journey above or named
    here as writing no row: a new page cannot slip past the label check unnoticed."""
    covered = {
        "clients:list", "clients:find", "clients:new", "clients:detail", "clients:edit",
        "clients:feedback-new", "clients:peer-contacts", "clients:peer-contact-withdraw",
        "clients:record-note", "clients:record-note-text", "clients:review",
        "clients:review-export", "clients:review-sign-off", "clients:attendance-new",
        "referrals:screen", "referrals:screen-decision", "referrals:screening",
        "referrals:start", "referrals:detail", "referrals:client-input", "referrals:groups",
        "referrals:sheet", "referrals:step-done", "referrals:step-not-applicable",
        "referrals:introduction", "referrals:advocate", "referrals:contact-answer",
        "referrals:followup-add", "referrals:followup-done", "referrals:close",
        "referrals:fhir", "referrals:vic-decision", "clients:part2-consents",
    }  # fmt: skip
    names = set()
    for namespace in ("clients", "referrals"):
        _, resolver = get_resolver().namespace_dict[namespace]
        names |= {f"{namespace}:{name}" for name in resolver.reverse_dict if isinstance(name, str)}
    assert names - covered - NOT_LOGGED == set()
