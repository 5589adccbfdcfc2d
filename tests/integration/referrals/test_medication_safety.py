"""VI.C after the referral, through real requests and every path that can change the facts.

Policy 04.9, VI.C: "For clients who are taking appropriately prescribed psychiatric
medication, referrals should not be made to self-help groups where members encourage clients
to stop taking their psychiatric medications against physician advice, or where mental health
consumers are not treated as full members of the group because of their prescribed medication
use."

A medicated client was referred to Sunrise Circle and Harbor Peers. When Sunrise Circle becomes
unsafe for them, whichever path made it so (the feedback form, the client's edit form, a site
admin resolving a concern, an import, ``QuerySet.update``): the referral page shows an alert
(role="alert") naming the group and VI.C with what changed and when; the clinician's worklist
lists it first; the client's sheet no longer offers it; the supervisor's review counts it.
The clinician's decision (remove, choose another, keep with a reason) is access-logged and in
the referral's history; a concern found unfounded clears the alert by itself.
"""

from __future__ import annotations

import csv
import html
import io
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AccessEvent
from clients.models import Client, Feedback
from directory.models import Group, Language, Need, ReviewFlag, ServiceArea
from referrals.management.commands.send_followup_reminders import due_counts
from referrals.models import MedicationSafetyDecision, Referral, ReferredGroup
from tests.factories.clients import ClientFactory
from tests.factories.directory import CategoryFactory, GroupFactory, ReviewFlagFactory
from tests.factories.referrals import (
    FollowUpFactory,
    ReferralFactory,
    ReferredGroupFactory,
    ScreeningFactory,
)
from tests.integration.directory.test_manage import form_data
from tests.integration.directory.test_verification import call_data
from tests.integration.referrals.test_procedure import PINNED_PAGE_QUERIES

X = "Sunrise Circle"
Y = "Harbor Peers"
Z = "Valley Friends"


@pytest.fixture
def taxonomy(db):
    return {
        "need": Need.objects.create(slug="depression", name="Depression"),
        "area": ServiceArea.objects.create(
            slug="east", name="East", kind=ServiceArea.Kind.SPA, spa_number=7
        ),
        "language": Language.objects.create(code="en", name="English"),
        "category": CategoryFactory(slug="twelve-step-mh", name="Twelve-Step Groups"),
    }


def _listing(name, taxonomy, **kw):
    group = GroupFactory(
        name=name,
        slug=name.lower().replace(" ", "-"),
        categories=[taxonomy["category"]],
        **kw,
    )
    group.needs.add(taxonomy["need"])
    group.service_areas.add(taxonomy["area"])
    group.languages.add(taxonomy["language"])
    return group


def _referral(clinician, groups, *, medicated=True):
    client = ClientFactory(
        clinic=clinician.clinic,
        created_by=clinician,
        on_prescribed_medication=medicated,
        first_name="Rosa",
        last_name="Quintero",
    )
    referral = ReferralFactory(
        screening=ScreeningFactory(client=client, screened_by=clinician),
        status=Referral.Status.REFERRED,
        approval=Referral.Approval.APPROVED,
        referred_at=timezone.now() - timedelta(days=2),
    )
    for rank, group in enumerate(groups, start=1):
        ReferredGroupFactory(
            referral=referral,
            group=group,
            suggested_rank=rank,
            chosen_at=timezone.now() - timedelta(days=2),
        )
    FollowUpFactory(referral=referral, due_on=timezone.localdate())
    return referral


@pytest.fixture
def world(taxonomy, clinician):
    x, y = _listing(X, taxonomy), _listing(Y, taxonomy)
    return {"x": x, "y": y, "referral": _referral(clinician, [x, y]), "taxonomy": taxonomy}


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _alerts(page: str) -> list[str]:
    """The role="alert" blocks of the VI.C section."""
    return [part.split("</div>")[0] for part in page.split('role="alert" id="vic-alert-')[1:]]


def observed(sign_in, clinician, supervisor, referral) -> dict:
    """What each place shows of VI.C for the referral, read through the pages."""
    as_clinician = sign_in(clinician)
    page = _text(as_clinician.get(f"/referrals/{referral.pk}/"))
    work = as_clinician.get("/clinician/").context["worklist"]
    sheet = as_clinician.get(f"/referrals/{referral.pk}/sheet/").context["sheet"]
    review = sign_in(supervisor).get("/referrals/review/").context["review"]
    return {
        "alerts": _alerts(page),
        "worklist": [(row.client_name, row.alert.group_name) for row in work.vic_alerts],
        "sheet": [g.group.name for g in sheet.groups],
        "review_open": review.vic.open_now,
        "page": page,
    }


# --- every path -------------------------------------------------------------------------------


def _by_feedback_form(sign_in, world, clinician, site_admin):
    response = sign_in(clinician).post(
        f"/clients/{world['referral'].client_id}/feedback/new/",
        {
            "group": str(world["x"].pk),
            "given_on": timezone.localdate().isoformat(),
            "frequency": Feedback.Frequency.WEEKLY_OR_MORE,
            "concern_kinds": [Feedback.Concern.STOP_MEDICATION],
            "concerns": "",
        },
    )
    assert response.status_code == 302, response.content[:400]
    return "a medication concern was reported"


def _by_admin_stance_changed(sign_in, world, clinician, site_admin):
    flag = ReviewFlagFactory(
        group=world["x"], summary="Members spoke against medication", concerns_medication=True
    )
    # Resolved at once by the site admin: the stance, not the flag, carries the cause now.
    response = sign_in(site_admin).post(
        f"/directory/flags/{flag.pk}/resolve/",
        {"outcome": "stance-changed", "resolution_note": "Confirmed with the group's contact."},
    )
    assert response.status_code == 302
    return "the listing now records that members encourage clients to stop taking"


def _by_admin_group_removed(sign_in, world, clinician, site_admin):
    flag = ReviewFlagFactory(
        group=world["x"], summary="Members spoke against medication", concerns_medication=True
    )
    response = sign_in(site_admin).post(
        f"/directory/flags/{flag.pk}/resolve/",
        {"outcome": "group-removed", "resolution_note": "The group has closed its doors."},
    )
    assert response.status_code == 302
    assert Group.objects.get(pk=world["x"].pk).archived_at is not None
    return "a site admin confirmed a medication concern and removed the listing"


def _by_queryset_update(sign_in, world, clinician, site_admin):
    # A bulk update writes no history and calls no save(): the alert holds all the same.
    Group.objects.filter(pk=world["x"].pk).update(
        medication_stance=Group.MedicationStance.DISCOURAGES
    )
    return "date not recorded"


def _by_queryset_flag(sign_in, world, clinician, site_admin):
    ReviewFlag.objects.bulk_create(
        [
            ReviewFlag(
                group=world["x"],
                source=ReviewFlag.Source.ADMIN,
                summary="Bulk-loaded concern",
                concerns_medication=True,
            )
        ]
    )
    return "Bulk-loaded concern"


def _by_import(sign_in, world, clinician, site_admin):
    admin = sign_in(site_admin)
    exported = b"".join(admin.get("/directory/export.csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported)))
    for row in rows:
        if row["Slug"] == world["x"].slug:
            row["Medication stance"] = Group.MedicationStance.DISCOURAGES.label
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    upload = io.BytesIO(out.getvalue().encode("utf-8"))
    upload.name = "listings.csv"
    preview = admin.post("/directory/import/", {"file": upload})
    assert preview.status_code == 200
    assert preview.context["plan"].counts["update"] == 1, preview.context["plan"].problems
    form = preview.context["confirm"]
    done = admin.post(
        "/directory/import/",
        {"token": form.initial["token"], "sha256": form.initial["sha256"]},
    )
    assert done.status_code == 302
    assert Group.objects.get(pk=world["x"].pk).medication_stance == "discourages"
    return "the listing now records that members encourage clients to stop taking"


def _by_listing_edit_form(sign_in, world, clinician, site_admin):
    admin = sign_in(site_admin)
    edit = f"/directory/{world['x'].slug}/edit/"
    data = form_data(admin.get(edit))
    data["medication_stance"] = [Group.MedicationStance.DISCOURAGES]
    response = admin.post(edit, data)
    assert response.status_code == 302, response.content[:400]
    return "the listing now records that members encourage clients to stop taking"


def _by_verification_call(sign_in, world, clinician, site_admin):
    # VII.D: the group itself, asked the two neutral questions, says members encourage
    # stopping medication; either answer is enough to rule it out.
    admin = sign_in(site_admin)
    data = call_data(admin, world["x"], outcome="reached", encourages_stopping="yes")
    assert admin.post(f"/directory/{world['x'].slug}/call/", data).status_code == 302
    return "the listing now records that members encourage clients to stop taking"


PATHS = {
    "feedback form": _by_feedback_form,
    "site admin: listing edit form": _by_listing_edit_form,
    "site admin: verification call": _by_verification_call,
    "site admin: stance changed": _by_admin_stance_changed,
    "site admin: group removed": _by_admin_group_removed,
    "QuerySet.update": _by_queryset_update,
    "bulk_create of a flag": _by_queryset_flag,
    "import": _by_import,
}


@pytest.mark.parametrize("path", PATHS)
def test_vi_c_holds_after_the_referral_through_every_path(
    sign_in, world, clinician, supervisor, site_admin, path
):
    """VI.C: a chosen group that becomes unsafe is flagged on the referral page, heads the
    worklist, leaves the sheet and is counted for the supervisor, whatever changed it."""
    referral = world["referral"]
    before = observed(sign_in, clinician, supervisor, referral)
    assert before["alerts"] == [] and before["worklist"] == []
    assert before["sheet"] == [X, Y] and before["review_open"] == 0

    said = PATHS[path](sign_in, world, clinician, site_admin)

    after = observed(sign_in, clinician, supervisor, referral)
    assert len(after["alerts"]) == 1
    alert = after["alerts"][0]
    assert f"VI.C: {X} may no longer be suitable" in alert and said.lower() in alert.lower()
    assert after["worklist"] == [("Rosa Quintero", X)]
    assert after["sheet"] == [Y]  # the remaining group (and SHARE! with the resources)
    assert after["review_open"] == 1


def test_client_edit_form_turning_medication_on_raises_the_alert(
    sign_in, taxonomy, clinician, supervisor
):
    """VI.C: the client's record changed to "on medication" after the referral."""
    x = _listing(X, taxonomy, medication_stance=Group.MedicationStance.DISCOURAGES)
    referral = _referral(clinician, [x], medicated=False)
    assert observed(sign_in, clinician, supervisor, referral)["alerts"] == []
    client = Client.objects.get(pk=referral.client_id)
    response = sign_in(clinician).post(
        f"/clients/{client.pk}/edit/",
        {
            "record_number": client.record_number,
            "first_name": client.first_name,
            "last_name": client.last_name,
            "preferred_language": "en",
            "preferred_language_other": "",
            "on_prescribed_medication": "on",
            "primary_clinician": client.primary_clinician_id,
            "version": client.version,
        },
    )
    assert response.status_code == 302, response.content[:300]
    after = observed(sign_in, clinician, supervisor, referral)
    assert len(after["alerts"]) == 1
    assert (
        "the client's record now says they take prescribed psychiatric medication"
        in after["alerts"][0].lower()
    )
    # The sheet keeps printing, with SHARE! and the other resources, and no group.
    assert after["sheet"] == []


def test_client_medication_by_queryset_update_raises_the_alert(
    sign_in, taxonomy, clinician, supervisor
):
    x = _listing(X, taxonomy, medication_stance=Group.MedicationStance.DISCOURAGES)
    referral = _referral(clinician, [x], medicated=False)
    Client.objects.filter(pk=referral.client_id).update(on_prescribed_medication=True)
    assert len(observed(sign_in, clinician, supervisor, referral)["alerts"]) == 1


def test_a_client_not_on_medication_gets_no_alert(sign_in, taxonomy, clinician, supervisor):
    """VI.C is about clients on prescribed medication only."""
    x = _listing(X, taxonomy, medication_stance=Group.MedicationStance.DISCOURAGES)
    referral = _referral(clinician, [x], medicated=False)
    seen = observed(sign_in, clinician, supervisor, referral)
    assert seen["alerts"] == [] and seen["sheet"] == [X]


def test_a_concern_found_unfounded_clears_the_alert_by_itself(
    sign_in, world, clinician, supervisor, site_admin
):
    _by_feedback_form(sign_in, world, clinician, site_admin)
    assert len(observed(sign_in, clinician, supervisor, world["referral"])["alerts"]) == 1
    flag = ReviewFlag.objects.get(group=world["x"])
    response = sign_in(site_admin).post(
        f"/directory/flags/{flag.pk}/resolve/",
        {"outcome": "unfounded", "resolution_note": "Spoke with the group: a misunderstanding."},
    )
    assert response.status_code == 302
    after = observed(sign_in, clinician, supervisor, world["referral"])
    assert after["alerts"] == [] and after["worklist"] == []
    assert after["sheet"] == [X, Y]
    assert "VI.C alert cleared by itself" in after["page"]
    assert "was resolved as unfounded by a site admin" in after["page"]
    review = sign_in(supervisor).get("/referrals/review/").context["review"]
    assert review.vic.cleared == 1 and review.vic.open_now == 0


def test_an_alert_decided_then_found_unfounded_is_counted_once(
    sign_in, world, clinician, supervisor, site_admin
):
    """The supervisor's figures: the clinician kept the group while the concern was open; the
    concern later found unfounded does not count the same alert again as cleared."""
    _by_feedback_form(sign_in, world, clinician, site_admin)
    referral = world["referral"]
    response = _decide(
        sign_in(clinician),
        referral,
        world["x"],
        kind="kept",
        reason="Discussed with the client and the prescriber.",
        discussed="on",
    )
    assert response.status_code == 302
    flag = ReviewFlag.objects.get(group=world["x"])
    resolved = sign_in(site_admin).post(
        f"/directory/flags/{flag.pk}/resolve/",
        {"outcome": "unfounded", "resolution_note": "A misunderstanding."},
    )
    assert resolved.status_code == 302
    review = sign_in(supervisor).get("/referrals/review/").context["review"]
    assert (review.vic.decided, review.vic.cleared, review.vic.open_now) == (1, 0, 0)


def test_a_medication_concern_needs_an_outcome(sign_in, world, site_admin):
    flag = ReviewFlagFactory(group=world["x"], summary="Concern", concerns_medication=True)
    response = sign_in(site_admin).post(
        f"/directory/flags/{flag.pk}/resolve/", {"resolution_note": "Checked."}
    )
    assert response.status_code == 400
    assert "Say what was found: unfounded, stance changed, or group removed." in _text(response)
    flag.refresh_from_db()
    assert flag.is_open


# --- reminders --------------------------------------------------------------------------------


def test_reminders_stop_when_every_chosen_group_is_ruled_out(taxonomy, clinician):
    x = _listing(X, taxonomy)
    referral = _referral(clinician, [x])
    today = timezone.localdate()
    assert due_counts(today) == {clinician.pk: (1, 0)}
    Group.objects.filter(pk=x.pk).update(medication_stance=Group.MedicationStance.DISCOURAGES)
    assert due_counts(today) == {}
    # A decision to keep it does not restart reminders about a group VI.C rules out.
    MedicationSafetyDecision.objects.create(
        referral=referral,
        group=x,
        kind="kept",
        reason="Discussed.",
        causes=["stance"],
        decided_at=timezone.now(),
        decided_by=clinician,
    )
    assert due_counts(today) == {}


def test_reminders_go_on_while_another_chosen_group_is_safe(sign_in, world, clinician):
    Group.objects.filter(pk=world["x"].pk).update(
        medication_stance=Group.MedicationStance.DISCOURAGES
    )
    assert due_counts(timezone.localdate()) == {clinician.pk: (1, 0)}
    work = sign_in(clinician).get("/clinician/").context["worklist"]
    # The follow-up row names only the group still offered.
    assert [f.group_names for f in work.followups.rows] == [[Y]]


# --- the decision -----------------------------------------------------------------------------


def _decide(client, referral, group, **data):
    return client.post(f"/referrals/{referral.pk}/vi-c/{group.pk}/", data)


def _unsafe(world):
    Group.objects.filter(pk=world["x"].pk).update(
        medication_stance=Group.MedicationStance.DISCOURAGES
    )


def test_keeping_the_group_records_the_reason_and_leaves_the_worklist(
    sign_in, world, clinician, supervisor
):
    _unsafe(world)
    referral = world["referral"]
    client = sign_in(clinician)
    assert client.get(f"/referrals/{referral.pk}/vi-c/{world['x'].pk}/").status_code == 200
    response = _decide(
        client,
        referral,
        world["x"],
        kind="kept",
        reason="Goes to the Tuesday meeting, where this does not happen.",
        discussed="on",
    )
    assert response.status_code == 302
    decision = MedicationSafetyDecision.objects.get()
    assert decision.causes == ["stance"] and decision.decided_by == clinician
    seen = observed(sign_in, clinician, supervisor, referral)
    assert seen["alerts"] == [] and seen["worklist"] == []
    assert f"VI.C: {X} kept" in seen["page"] and "Tuesday meeting" in seen["page"]
    assert seen["sheet"] == [Y]  # VI.C still rules it out: the sheet does not offer it
    # Access-logged, and in the referral's history.
    assert AccessEvent.objects.filter(
        action=AccessEvent.Action.EDIT, user=clinician, object_id=str(referral.pk)
    ).exists()
    history = Referral.history.filter(id=referral.pk).order_by("-history_id").first()
    assert (
        history.history_change_reason
        == f"VI.C: {X}: kept after discussing with the client and prescriber"
    )
    assert history.history_user == clinician
    review = sign_in(supervisor).get("/referrals/review/").context["review"]
    assert review.vic.decided == 1 and review.vic.open_now == 0
    # A new cause raises the alert again.
    ReviewFlagFactory(group=world["x"], summary="Another report", concerns_medication=True)
    assert len(observed(sign_in, clinician, supervisor, referral)["alerts"]) == 1


def test_removing_the_group_takes_it_off_the_referral(sign_in, world, clinician, supervisor):
    _unsafe(world)
    referral = world["referral"]
    response = _decide(sign_in(clinician), referral, world["x"], kind="removed")
    assert response.status_code == 302
    assert list(ReferredGroup.objects.filter(referral=referral).values_list(
        "group__name", flat=True)) == [Y]  # fmt: skip
    seen = observed(sign_in, clinician, supervisor, referral)
    assert seen["alerts"] == [] and seen["sheet"] == [Y]
    assert "group removed from the referral" in seen["page"]


def test_choosing_another_group_replaces_it(sign_in, world, clinician):
    _unsafe(world)
    z = _listing(Z, world["taxonomy"], medication_stance=Group.MedicationStance.AFFIRMING)
    referral = world["referral"]
    client = sign_in(clinician)
    page = client.get(f"/referrals/{referral.pk}/vi-c/{world['x'].pk}/")
    offered = [label for _, label in page.context["form"].fields["replacement"].choices]
    assert Z in offered and X not in offered and Y not in offered
    response = _decide(client, referral, world["x"], kind="replaced", replacement=str(z.pk))
    assert response.status_code == 302
    chosen = set(
        ReferredGroup.objects.filter(referral=referral).values_list("group__name", flat=True)
    )
    assert chosen == {Y, Z}
    assert MedicationSafetyDecision.objects.get().replacement == z


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose what to do about the group"),
        ({"kind": "kept", "reason": "", "discussed": "on"}, "Say why the group is kept"),
        ({"kind": "kept", "reason": "Fine."}, "after discussing it with the client"),
        ({"kind": "replaced"}, "Pick the group to refer to instead."),
        ({"kind": "replaced", "replacement": "999999"}, "Pick the other group from the list"),
    ],
)
def test_a_bad_decision_is_refused_and_nothing_saved(sign_in, world, clinician, data, message):
    _unsafe(world)
    response = _decide(sign_in(clinician), world["referral"], world["x"], **data)
    assert response.status_code == 400
    assert message in _text(response)
    assert "Nothing was saved." in _text(response)
    assert not MedicationSafetyDecision.objects.exists()
    assert ReferredGroup.objects.filter(referral=world["referral"]).count() == 2


def test_nothing_to_decide_when_the_group_is_safe(sign_in, world, clinician):
    response = _decide(sign_in(clinician), world["referral"], world["x"], kind="removed")
    assert response.status_code == 302
    assert not MedicationSafetyDecision.objects.exists()


@pytest.mark.parametrize(
    ("person", "status"),
    [("clinician", 200), ("supervisor", 403), ("site_admin", 403), ("outsider", 404)],
)
def test_decision_page_per_role(request, sign_in, world, person, status):
    _unsafe(world)
    user = request.getfixturevalue(person)
    url = f"/referrals/{world['referral'].pk}/vi-c/{world['x'].pk}/"
    assert sign_in(user).get(url).status_code == status
    assert sign_in(user).post(url, {"kind": "removed"}).status_code in (status, 302)
    if status != 200:
        assert not MedicationSafetyDecision.objects.exists()


def test_decision_page_sends_anonymous_to_sign_in(client, world):
    response = client.get(f"/referrals/{world['referral'].pk}/vi-c/{world['x'].pk}/")
    assert response.status_code == 302 and "/account/sign-in/" in response["Location"]


# --- fixed queries ----------------------------------------------------------------------------


@pytest.fixture
def still():
    """Time stands still: the session's activity is saved at most once a minute, and building
    many rows between two counts can take longer than that on a busy machine."""
    with time_machine.travel(timezone.now(), tick=False):
        yield


@pytest.mark.parametrize(
    ("person", "page"),
    [("clinician", "worklist"), ("supervisor", "review"), ("clinician", "referral")],
)
def test_a_page_costs_the_same_whether_or_not_vic_finds_anything(
    request, sign_in, taxonomy, clinician, count_queries, still, person, page
):
    """VI.C's reads always run, so the data that makes them find something (a medicated
    client whose chosen group discourages medication, with a concern open) costs no query
    more than a client who takes no medication."""
    client = sign_in(request.getfixturevalue(person))
    safe = _referral(clinician, [_listing("Safe", taxonomy)], medicated=False)
    unsafe = _listing("Unsafe", taxonomy)
    medicated = _referral(clinician, [unsafe])
    urls = {
        "worklist": ("/clinician/", "/clinician/"),
        "review": ("/referrals/review/", "/referrals/review/"),
        "referral": (f"/referrals/{safe.pk}/", f"/referrals/{medicated.pk}/"),
    }
    before, after = urls[page]
    without = count_queries(client, before)
    Group.objects.filter(pk=unsafe.pk).update(medication_stance=Group.MedicationStance.DISCOURAGES)
    ReviewFlagFactory(group=unsafe, summary="Concern", concerns_medication=True)
    found = count_queries(client, after)
    assert found == without
    # The reads found it: the page shows the alert.
    context = found.response.context
    if page == "worklist":
        assert len(context["worklist"].vic_alerts) == 1
    elif page == "review":
        assert context["review"].vic.open_now == 1
    else:
        assert [a.group_id for a in context["vic_alerts"]] == [unsafe.pk]
        assert found == PINNED_PAGE_QUERIES


def test_alerts_cost_a_fixed_number_of_queries(sign_in, taxonomy, clinician, count_queries, still):
    """The referral page and the worklist read VI.C in a fixed number of queries, however
    many chosen groups and referrals are unsafe."""
    client = sign_in(clinician)
    few = [_listing(f"Group {n}", taxonomy) for n in range(2)]
    first = _referral(clinician, few)
    Group.objects.update(medication_stance=Group.MedicationStance.DISCOURAGES)
    page_few = count_queries(client, f"/referrals/{first.pk}/")
    home_few = count_queries(client, "/clinician/")
    many = [_listing(f"Many {n}", taxonomy) for n in range(12)]
    big = _referral(clinician, many)
    for _ in range(8):
        _referral(clinician, many[:3])
    Group.objects.update(medication_stance=Group.MedicationStance.DISCOURAGES)
    for group in many[:5]:
        ReviewFlagFactory(group=group, summary="Concern", concerns_medication=True)
    page_many = count_queries(client, f"/referrals/{big.pk}/")
    home_many = count_queries(client, "/clinician/")
    assert page_many == page_few
    # The referral page's pinned count (test_procedure.PINNED_PAGE_QUERIES, a client not on
    # medication): a medicated client with unsafe groups costs no more.
    assert page_many == PINNED_PAGE_QUERIES
    assert home_many == home_few
    assert len(home_many.response.context["worklist"].vic_alerts) == 2 + 12 + 8 * 3
