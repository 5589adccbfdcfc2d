"""Concurrent requests lose no update, and a double-clicked submit creates one record.

Real requests through the whole stack, one ``django.test.Client`` (and connection) per thread,
released together by a ``threading.Barrier``:

1. **No update lost.** 50 people save one listing, one referral's client input and one client
   from the same version at once: exactly one wins, the others get 409 and nothing of theirs is
   written. A close amid client-input saves is never undone; VI.C findings amid client edits
   each move the version on.
2. **A double-clicked submit creates one record**, and neither request answers 5xx.
3. **The same races, one step after the other**, in a fixed order, on every database.

The threaded tests need PostgreSQL (skipped on SQLite) and transactional test databases;
``-s`` prints one ``FIGURE`` line per test.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import partial
from html.parser import HTMLParser

import pytest
from django.db import connection, connections
from django.template.base import Template
from django.test import Client as Browser
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role
from clients.models import Attendance, Client, DocumentationSignOff, Feedback, PeerContact
from clients.services import clients as client_services
from directory.models import (
    Contact,
    CriterionConfirmation,
    Format,
    Group,
    Meeting,
    ReferralResource,
    ReviewFlag,
)
from directory.services import listings as directory_services
from referrals.models import (
    FollowUp,
    FollowUpSchedule,
    ProcedureStep,
    Referral,
    ReferredGroup,
    Screening,
)
from referrals.rules import eligibility, matching
from referrals.services import procedure as procedure_services
from referrals.services import referral as referral_services
from referrals.services import screening as screening_services
from tests.factories.accounts import UserFactory
from tests.factories.clients import ClientFactory
from tests.factories.directory import (
    CategoryFactory,
    GroupFactory,
    LanguageFactory,
    MeetingFactory,
    NeedFactory,
    ServiceAreaFactory,
)
from tests.factories.referrals import ReferralFactory, ScreeningFactory
from tests.integration.directory.test_manage import form_data

THREADS = 50
# Long enough for 50 requests queued on one row lock on a slow CI machine; a hang fails.
JOIN_SECONDS = 120

_POSTGRESQL = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent requests need PostgreSQL: SQLite writes one transaction at a time and "
    "its test database is a single connection",
)


def concurrent(test):
    """A test whose threads each use their own connection: PostgreSQL only, and a database
    whose rows are committed (so that every thread sees them), as the migrations left it."""
    for mark in (
        pytest.mark.usefixtures("_migrated_data_kept"),
        pytest.mark.django_db(transaction=True, serialized_rollback=True),
        _POSTGRESQL,
    ):
        test = mark(test)
    return test


REFER_SCREENING = {
    "indications": [{"code": "IV.H", "detail": "depression"}],
    "no_indication_found": False,
    "selection_criterion": "met",
    "violence_without_impulse_control": "no",
    "expressed_disinterest": "no",
    "explanation_given": True,
    "on_prescribed_medication": "no",
}
# The screening form as a clinician fills it in to refer (IV.H depression; V met; VI clear).
REFER_ANSWERS = {
    "indications": ["IV.H"],
    "detail_iv_h": "depression",
    "selection_criterion": "met",
    "violence": "no",
    "explanation_given": "on",
    "disinterest": "no",
    "on_medication": "no",
}


# --- the database as the migrations left it -------------------------------------------------------


@pytest.fixture(scope="module")
def _migrated_data_kept(django_db_setup, django_db_blocker):
    """Each transactional test ends by emptying every table, roles included. Serialized
    rollback restores the migrated data at the start of each test here; afterwards it is put
    back once more, for tests that run after this module and expect the roles."""
    with django_db_blocker.unblock():
        if not hasattr(connection, "_test_serialized_contents"):
            connection._test_serialized_contents = connection.creation.serialize_db_to_string()
        snapshot = connection._test_serialized_contents
    yield
    with django_db_blocker.unblock():
        connection.creation.deserialize_db_from_string(snapshot)


@pytest.fixture(autouse=True)
def _no_template_instrumentation(monkeypatch):
    """The test client records every rendered template through a global signal, so with 50
    browsers at once each of them would copy the context of every page the others render
    (50 x 50). Nothing here reads ``response.context``: render as production does."""
    monkeypatch.setattr(Template, "_render", lambda self, context: self.nodelist.render(context))


# --- browsers and threads -------------------------------------------------------------------------


def browser_for(user) -> Browser:
    """A browser signed in as ``user`` with both factors, as the real sign-in leaves it.

    Exceptions in a view become the 500 page (as in production) rather than being re-raised,
    so that a thread reports the status it got; the server's log still has the traceback.
    """
    browser = Browser(raise_request_exception=False)
    browser.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="Authenticator app", defaults={"confirmed": True}
    )
    session = browser.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return browser


def same_session(browser: Browser) -> Browser:
    """A second browser with the first one's cookies: the second click of a double click."""
    twin = Browser(raise_request_exception=False)
    twin.cookies = copy.deepcopy(browser.cookies)
    return twin


def at_once(calls: list[Callable[[], object]]) -> list[object]:
    """Run every call in its own thread, released together; each result or exception.

    Each thread has its own database connection (Django's are per thread) and closes it at
    the end, so that no connection outlives the test and PostgreSQL can drop the database.
    """
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=JOIN_SECONDS)
            results[index] = call()
        except BaseException as error:  # reported by the test, never swallowed
            results[index] = error
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(index, call), daemon=True)
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    errors = [result for result in results if isinstance(result, BaseException)]
    assert not errors, f"{len(errors)} requests raised: {errors[:3]!r}"
    return results


def statuses(responses) -> Counter:
    return Counter(response.status_code for response in responses)


def figure(text: str) -> None:
    """One line for docs/SECURITY.md, shown with ``pytest -s``."""
    print(f"\nFIGURE concurrency: {text}")


# --- the world: a clinic, its staff, a listing clients are referred to ----------------------------


def staff(clinic, role: str, count: int, prefix: str) -> list:
    return [
        UserFactory(
            username=f"{prefix}{n:02d}",
            first_name=prefix.title(),
            last_name=f"Number {n}",
            clinic=clinic,
            roles=[role],
        )
        for n in range(count)
    ]


@pytest.fixture
def taxonomy(db):
    return {
        "depression": NeedFactory(slug="depression", name="Depression"),
        "area": ServiceAreaFactory(slug="east", name="East", spa_number=7),
        "en": LanguageFactory(code="en", name="English"),
        "es": LanguageFactory(code="es", name="Spanish"),
    }


@pytest.fixture
def group(taxonomy):
    """A listing a client can be referred to: depression, SPA 7, English and Spanish."""
    listing = GroupFactory(name="Grupo Esperanza", slug="grupo-esperanza")
    listing.needs.add(taxonomy["depression"])
    listing.service_areas.add(taxonomy["area"])
    listing.languages.add(taxonomy["en"], taxonomy["es"])
    MeetingFactory(group=listing, weekday=Meeting.Weekday.TUESDAY, start_time="19:00")
    return listing


@pytest.fixture
def world(clinic, people, taxonomy, group):
    """The shared people (``tests/security/world.py``) and this file's listing: the races
    need a listing that matching suggests, not the matrix's records."""
    return {
        "clinic": clinic,
        "clinician": people["clinician"],
        "supervisor": people["supervisor"],
        "site_admin": people["site_admin"],
        "outsider": people["other_clinic"],
        "taxonomy": taxonomy,
        "group": group,
    }


def new_listing(world, name: str) -> Group:
    """A listing with a phone and a meeting, created as a site admin does."""
    return directory_services.create_group(
        values={
            "name": name,
            "description": "A twelve-step group for people with depression.",
            "format": Format.TWELVE_STEP_MH,
            "is_twelve_step": True,
            "categories": [CategoryFactory(slug="twelve-step-mh", name="Twelve-step groups")],
            "needs": [world["taxonomy"]["depression"]],
        },
        contacts=[
            directory_services.RowEdit(
                pk=None, values={"kind": Contact.Kind.PHONE, "phone": "+13103058878"}
            )
        ],
        meetings=[
            directory_services.RowEdit(
                pk=None,
                values={
                    "weekday": Meeting.Weekday.MONDAY,
                    "start_time": time(19, 0),
                    "address": "123 Main St, Los Angeles, CA 90012",
                },
            )
        ],
        by=world["site_admin"],
    )


def new_client(world) -> Client:
    return ClientFactory(
        clinic=world["clinic"], created_by=world["clinician"], first_name="Ana", last_name="Reyes"
    )


def new_preparing(world) -> Referral:
    """A referral whose client input (VIII.B) is still to be recorded."""
    screening = ScreeningFactory(
        client=new_client(world), screened_by=world["clinician"], answers=REFER_SCREENING
    )
    return ReferralFactory(screening=screening)


def approve(referral, world) -> Referral:
    """VIII.B as the client-input page leaves it: approved, and the step done."""
    Referral.objects.filter(pk=referral.pk).update(
        approval=Referral.Approval.APPROVED,
        language="es",
        preferred_area=world["taxonomy"]["area"],
    )
    ProcedureStep.objects.filter(referral=referral, code="VIII.B").update(
        status="done", completed_by=world["clinician"], completed_at=timezone.now()
    )
    referral.refresh_from_db()
    return referral


def new_referred(world) -> Referral:
    """Approved (A and B done), the group chosen through the service: "referred"."""
    referral = approve(new_preparing(world), world)
    group = world["group"]
    suggestion = matching.Suggestion(
        listing=matching.Listing(id=group.pk, name=group.name, slug=group.slug),
        score=10,
        reasons=("helps with depression",),
        rank=1,
    )
    referral_services.choose_groups(
        referral=referral, suggestions=[suggestion], chosen_ids=[group.pk], by=world["clinician"]
    )
    referral.refresh_from_db()
    return referral


def client_input_data(world, goals: str, version: int = 1) -> dict:
    return {
        "goals": goals,
        "location_text": "",
        "preferred_area": str(world["taxonomy"]["area"].pk),
        "language": "es",
        "cultural_needs": "",
        "twelve_step": "no-preference",
        "approval": "approved",
        "declined_reason": "",
        "version": str(version),
    }


def client_edit_data(record: Client, first_name: str, version: int = 1) -> dict:
    return {
        "record_number": record.record_number,
        "first_name": first_name,
        "last_name": record.last_name,
        "preferred_language": record.preferred_language,
        "preferred_language_other": "",
        "primary_clinician": str(record.primary_clinician_id),
        "version": str(version),
    }


# --- 1. Fifty editors, one row: no update lost -------------------------------------------------


def _race(browsers, url, data_for) -> tuple[list, Counter]:
    """Every browser posts its own value to ``url`` at once; the responses and statuses."""
    responses = at_once(
        [partial(browser.post, url, data_for(n)) for n, browser in enumerate(browsers)]
    )
    return responses, statuses(responses)


def _winners(responses) -> list[int]:
    return [n for n, response in enumerate(responses) if response.status_code == 302]


@concurrent
def test_fifty_admins_save_one_listing_at_once(world):
    """Design notes, section 5: two people editing one listing cannot silently overwrite
    each other. 50 site admins load version 1 and each saves a fees note of their own."""
    listing = new_listing(world, "Depression Anonymous")
    admins = staff(world["clinic"], Role.SITE_ADMIN, THREADS, "admin")
    browsers = [browser_for(admin) for admin in admins]
    url = f"/directory/{listing.slug}/edit/"
    loaded = form_data(browsers[0].get(url))
    assert loaded["version"] == ["1"]
    history_before = listing.history.count()
    notes = [f"Fees as admin {n:02d} saw them" for n in range(THREADS)]

    responses, counts = _race(browsers, url, lambda n: {**loaded, "fees_note": [notes[n]]})

    winners = _winners(responses)
    assert counts == Counter({302: 1, 409: THREADS - 1}), counts
    for response in responses:
        if response.status_code == 409:
            page = response.content.decode()
            assert "Someone else saved this listing while you were editing it" in page
    listing.refresh_from_db()
    (winner,) = winners
    assert listing.fees_note == notes[winner]
    assert listing.version == 1 + len(winners)
    edits = list(listing.history.order_by("history_id")[history_before:])
    assert [(e.fees_note, e.history_user_id) for e in edits] == [(notes[winner], admins[winner].pk)]
    lost = sum(1 for n in winners if notes[n] not in {e.fees_note for e in edits})
    assert lost == 0
    figure(
        f"listing edit: {THREADS} threads x 1 listing: {len(winners)} win, "
        f"{counts[409]} conflicts (409), {lost} lost updates, version 1 -> {listing.version}, "
        f"history +{len(edits)}"
    )


@concurrent
def test_fifty_clinicians_record_one_referrals_client_input_at_once(world):
    """VIII.B's page (goals, location, language, approval) saved by 50 clinicians of the
    clinic at once, each with goals of their own, all from version 1."""
    referral = new_preparing(world)
    clinicians = staff(world["clinic"], Role.CLINICIAN, THREADS, "clinician")
    browsers = [browser_for(person) for person in clinicians]
    url = f"/referrals/{referral.pk}/client-input/"
    history_before = referral.history.count()
    goals = [f"Goals as clinician {n:02d} heard them" for n in range(THREADS)]

    responses, counts = _race(browsers, url, lambda n: client_input_data(world, goals[n]))

    winners = _winners(responses)
    assert counts == Counter({302: 1, 409: THREADS - 1}), counts
    for response in responses:
        if response.status_code == 409:
            assert "changed by someone else since you opened it" in response.content.decode()
    referral.refresh_from_db()
    (winner,) = winners
    assert responses[winner]["Location"] == f"/referrals/{referral.pk}/groups/"
    assert referral.goals == goals[winner]
    assert referral.approval_recorded_by == clinicians[winner]
    assert referral.version == 1 + len(winners)
    edits = list(referral.history.order_by("history_id")[history_before:])
    assert [(e.goals, e.history_user_id) for e in edits] == [(goals[winner], clinicians[winner].pk)]
    lost = sum(1 for n in winners if goals[n] not in {e.goals for e in edits})
    assert lost == 0
    # VIII.B was recorded done once, by the winner.
    step = ProcedureStep.objects.get(referral=referral, code="VIII.B")
    assert (step.status, step.completed_by_id) == ("done", clinicians[winner].pk)
    figure(
        f"referral client input (VIII.B): {THREADS} threads x 1 referral: {len(winners)} win, "
        f"{counts[409]} conflicts (409), {lost} lost updates, "
        f"version 1 -> {referral.version}, history +{len(edits)}"
    )


@concurrent
def test_fifty_clinicians_save_one_client_at_once(world):
    """A client's details saved by 50 clinicians of the clinic at once, each with a first
    name of their own, all from version 1."""
    record = new_client(world)
    clinicians = staff(world["clinic"], Role.CLINICIAN, THREADS, "clinician")
    browsers = [browser_for(person) for person in clinicians]
    url = f"/clients/{record.pk}/edit/"
    history_before = record.history.count()
    names = [f"Ana{chr(97 + n // 26)}{chr(97 + n % 26)}" for n in range(THREADS)]

    responses, counts = _race(browsers, url, lambda n: client_edit_data(record, names[n]))

    winners = _winners(responses)
    assert counts == Counter({302: 1, 409: THREADS - 1}), counts
    for response in responses:
        if response.status_code == 409:
            assert "Someone else saved this client" in response.content.decode()
    record.refresh_from_db()
    (winner,) = winners
    assert record.first_name == names[winner]
    assert record.version == 1 + len(winners)
    edits = list(record.history.order_by("history_id")[history_before:])
    assert [(e.first_name, e.history_user_id) for e in edits] == [
        (names[winner], clinicians[winner].pk)
    ]
    lost = sum(1 for n in winners if names[n] not in {e.first_name for e in edits})
    assert lost == 0
    figure(
        f"client edit: {THREADS} threads x 1 client: {len(winners)} win, "
        f"{counts[409]} conflicts (409), {lost} lost updates, "
        f"version 1 -> {record.version}, history +{len(edits)}"
    )


# --- Writers of another kind on the same row, at the same instant ------------------------------

MIXED = 20  # threads: most edit from version 1, a few do the other write


@concurrent
def test_closing_while_others_record_client_input_is_never_undone(world):
    """A referral closed (lost contact) by some clinicians while others save its client
    input (VIII.B) from the page they loaded before: the close must stand. The client-input
    save must not write back the status it loaded (preparing) over the close."""
    referral = new_preparing(world)
    people = staff(world["clinic"], Role.CLINICIAN, MIXED, "clinician")
    browsers = [browser_for(person) for person in people]
    closers = set(range(0, MIXED, 5))  # 4 of 20
    goals = [f"Goals as clinician {n:02d} heard them" for n in range(MIXED)]

    def call(n):
        if n in closers:
            return lambda: browsers[n].post(
                f"/referrals/{referral.pk}/close/", {"reason": "lost-contact", "note": ""}
            )
        return lambda: browsers[n].post(
            f"/referrals/{referral.pk}/client-input/", client_input_data(world, goals[n])
        )

    responses = at_once([call(n) for n in range(MIXED)])

    counts = statuses(responses)
    assert all(status in (302, 409) for status in counts), counts
    closed = [n for n in closers if responses[n].status_code == 302]
    # A saved input goes on to the groups; a page opened after the close went back to the
    # referral instead (it no longer offers the form), which is not a save.
    groups = f"/referrals/{referral.pk}/groups/"
    inputs = [
        n
        for n in range(MIXED)
        if n not in closers
        and responses[n].status_code == 302
        and responses[n]["Location"] == groups
    ]
    assert len(closed) == 1, counts  # the others are told it is already closed
    assert len(inputs) <= 1, counts
    referral.refresh_from_db()
    assert referral.status == Referral.Status.CLOSED, "the close was lost"
    assert referral.close_reason == Referral.CloseReason.LOST_CONTACT
    assert referral.closed_at is not None
    assert referral.version == 1 + len(inputs)
    if inputs:
        assert referral.goals == goals[inputs[0]]
    figure(
        f"referral close vs client input: {MIXED} threads x 1 referral "
        f"({len(closers)} close, {MIXED - len(closers)} edit): {len(closed)} close, "
        f"{len(inputs)} edit wins, {counts[409]} conflicts (409), close lost: 0"
    )


@concurrent
def test_screenings_while_others_edit_the_client_keep_every_change_counted(world):
    """VI.C: a screening that finds the client on prescribed medication updates the client's
    record; some clinicians screen while others save the client's details from version 1.
    Every change to the client moves its version on by one and has its history row, so an
    editor who loaded the client before the finding cannot save over it unawares."""
    record = new_client(world)
    assert not record.on_prescribed_medication
    people = staff(world["clinic"], Role.CLINICIAN, MIXED, "clinician")
    browsers = [browser_for(person) for person in people]
    screeners = set(range(0, MIXED, 5))  # 4 of 20
    names = [f"Ana{chr(97 + n)}" for n in range(MIXED)]
    history_before = record.history.count()

    def call(n):
        if n in screeners:
            return lambda: browsers[n].post(
                f"/referrals/screen/{record.pk}/", {**REFER_ANSWERS, "on_medication": "yes"}
            )
        return lambda: browsers[n].post(
            f"/clients/{record.pk}/edit/", client_edit_data(record, names[n])
        )

    responses = at_once([call(n) for n in range(MIXED)])

    counts = statuses(responses)
    assert all(status in (302, 409) for status in counts), counts
    assert all(responses[n].status_code == 302 for n in screeners), counts
    edits = [n for n in range(MIXED) if n not in screeners and responses[n].status_code == 302]
    assert len(edits) <= 1, counts
    record.refresh_from_db()
    assert record.on_prescribed_medication, "the VI.C finding was lost"
    assert Screening.objects.filter(client=record).count() == len(screeners)
    changes = list(record.history.order_by("history_id")[history_before:])
    # One edit at most, and the finding recorded once (later screenings found it already so).
    assert len(changes) == len(edits) + 1, [(c.history_change_reason, c.version) for c in changes]
    assert record.version == 1 + len(changes), "a change did not move the version on"
    assert [c.version for c in changes] == list(range(2, 2 + len(changes)))
    figure(
        f"client edit vs VI.C screening: {MIXED} threads x 1 client "
        f"({len(screeners)} screen, {MIXED - len(screeners)} edit): {len(edits)} edit wins, "
        f"{counts[409]} conflicts (409), VI.C finding kept, version 1 -> {record.version}"
    )


# --- 2. A form sent twice at the same instant creates one record ------------------------------


class _HiddenFields(HTMLParser):
    """The hidden inputs of the page's form that posts to ``action`` (what a browser sends
    besides what the person typed: versions, one-time submission tokens)."""

    def __init__(self, page_url: str, action: str):
        super().__init__()
        self.page_url, self.action = page_url, action
        self.inside = False
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            target = a.get("action") or self.page_url
            self.inside = target.split("#")[0] == self.action
        elif (
            self.inside
            and tag == "input"
            and a.get("type") == "hidden"
            and a.get("name") not in (None, "csrfmiddlewaretoken")
        ):
            self.fields[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def hidden_fields_of(page: str, page_url: str, action: str) -> dict[str, str]:
    parser = _HiddenFields(page_url, action)
    parser.feed(page)
    return parser.fields


def hidden_fields(browser, page_url: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action`` on the page at ``page_url``."""
    response = browser.get(page_url)
    assert response.status_code == 200, (page_url, response.status_code)
    return hidden_fields_of(response.content.decode(), page_url, action)


@dataclass
class DoubleSubmit:
    """One form, as a browser sends it; ``records`` counts what it must create once."""

    user: object
    url: str
    data: dict
    records: Callable[[], dict[str, int]]
    created: dict[str, int]
    # The page the form is on, when it carries hidden fields the browser sends back.
    form_page: str | None = None


def _new_client(world):
    clinician = world["clinician"]
    return DoubleSubmit(
        user=clinician,
        url="/clients/new/",
        form_page="/clients/new/",
        data={
            "record_number": "1234567",
            "first_name": "Maria",
            "last_name": "Lopez",
            "preferred_language": "es",
            "preferred_language_other": "",
            "needs_interpreter": "on",
            "primary_clinician": str(clinician.pk),
        },
        records=lambda: {"clients": Client.objects.count(), "history": Client.history.count()},
        created={"clients": 1, "history": 1},
    )


def _screening(world):
    record = new_client(world)
    url = f"/referrals/screen/{record.pk}/"
    return DoubleSubmit(
        user=world["clinician"],
        url=url,
        form_page=url,
        data=REFER_ANSWERS,
        records=lambda: {"screenings": Screening.objects.count()},
        created={"screenings": 1},
    )


def _start_referral(world):
    clinician = world["clinician"]
    screening = ScreeningFactory(
        client=new_client(world),
        screened_by=clinician,
        answers=REFER_SCREENING,
    )
    return DoubleSubmit(
        user=clinician,
        url=f"/referrals/screenings/{screening.pk}/refer/",
        data={},
        records=lambda: {
            "referrals": Referral.objects.count(),
            "steps": ProcedureStep.objects.count(),
        },
        created={"referrals": 1, "steps": 11},
    )


def _client_input(world):
    referral = new_preparing(world)
    area = world["taxonomy"]["area"]
    url = f"/referrals/{referral.pk}/client-input/"
    return DoubleSubmit(
        user=world["clinician"],
        url=url,
        form_page=url,
        data={
            "goals": "Meet people who understand depression",
            "preferred_area": str(area.pk),
            "location_text": "",
            "language": "es",
            "cultural_needs": "",
            "twelve_step": "no-preference",
            "approval": "approved",
            "declined_reason": "",
        },
        records=lambda: {"referral history": referral.history.count()},
        created={"referral history": 1},
    )


def _choose_groups(world):
    clinician = world["clinician"]
    group = world["group"]
    referral = approve(new_preparing(world), world)
    return DoubleSubmit(
        user=clinician,
        url=f"/referrals/{referral.pk}/groups/",
        data={"groups": [str(group.pk)]},
        records=lambda: {
            "groups chosen": ReferredGroup.objects.filter(referral=referral).count(),
            "follow-ups": FollowUp.objects.filter(referral=referral).count(),
        },
        created={"groups chosen": 1, "follow-ups": 3},
    )


def _attendance(world):
    referral = new_referred(world)
    group = world["group"]
    url = f"/referrals/attendance/{referral.client_id}/new/"
    return DoubleSubmit(
        user=world["clinician"],
        url=url,
        form_page=url,
        data={
            "group": str(group.pk),
            "dates": timezone.localdate().isoformat(),
            "status": "attended",
            "meeting": "",
            "accompanied": "no",
            "source": "client",
            "before_referral_reason": "",
        },
        records=lambda: {"attendance": Attendance.objects.count()},
        created={"attendance": 1},
    )


def _feedback(world):
    record = new_client(world)
    group = world["group"]
    url = f"/clients/{record.pk}/feedback/new/"
    return DoubleSubmit(
        user=world["clinician"],
        url=url,
        form_page=url,
        data={
            "group": str(group.pk),
            "given_on": timezone.localdate().isoformat(),
            "frequency": Feedback.Frequency.WEEKLY_OR_MORE,
            "observations": "Likes the Tuesday meeting.",
            "concerns": "",
            "concern_kinds": [Feedback.Concern.STOP_MEDICATION],
        },
        records=lambda: {
            "feedback": Feedback.objects.count(),
            "review flags": ReviewFlag.objects.count(),
        },
        created={"feedback": 1, "review flags": 1},
    )


def _followup_add(world):
    referral = new_referred(world)
    due_on = timezone.localdate() + timedelta(days=10)
    return DoubleSubmit(
        user=world["clinician"],
        url=f"/referrals/{referral.pk}/follow-ups/",
        data={"due_on": due_on.isoformat()},
        records=lambda: {"follow-ups": FollowUp.objects.filter(referral=referral).count()},
        created={"follow-ups": 1},
    )


def _followup_done(world):
    referral = new_referred(world)
    followup = FollowUp.objects.filter(referral=referral).order_by("due_on").first()
    return DoubleSubmit(
        user=world["clinician"],
        url=f"/referrals/{referral.pk}/follow-ups/{followup.pk}/done/",
        data={"outcome": "reported", "note": "Went on Tuesday."},
        records=lambda: {"follow-up history": followup.history.count()},
        created={"follow-up history": 1},
    )


def _step_history(referral, code: str, status: str) -> Callable[[], int]:
    return ProcedureStep.history.filter(referral_id=referral.pk, code=code, status=status).count


def _step_done(world):
    referral = new_referred(world)
    return DoubleSubmit(
        user=world["clinician"],
        url=f"/referrals/{referral.pk}/steps/e/done/",
        data={"note": "Gave the Client Coalition's number."},
        records=lambda: {"VIII.E done": _step_history(referral, "VIII.E", "done")()},
        created={"VIII.E done": 1},
    )


def _step_not_applicable(world):
    referral = new_referred(world)
    return DoubleSubmit(
        user=world["clinician"],
        url=f"/referrals/{referral.pk}/steps/c/not-applicable/",
        data={"reason": "No peer contact attends the group."},
        records=lambda: {
            "VIII.C not applicable": _step_history(referral, "VIII.C", "not-applicable")()
        },
        created={"VIII.C not applicable": 1},
    )


def _peer(world, *, own_clinic: bool) -> PeerContact:
    group = world["group"]
    if own_clinic:
        person = ClientFactory(
            clinic=world["clinic"],
            created_by=world["clinician"],
        )
    else:
        outsider = world["outsider"]
        person = ClientFactory(clinic=outsider.clinic, created_by=outsider)
    return PeerContact.objects.create(
        client=person,
        clinic_id=person.clinic_id,
        group=group,
        first_name="Marisol",
        phone="+13235550142",
        consented_on=date(2026, 1, 5),
        recorded_by=person.created_by,
    )


def _introduction(world):
    referral = new_referred(world)
    peer = _peer(world, own_clinic=False)
    return DoubleSubmit(
        user=world["clinician"],
        url=f"/referrals/{referral.pk}/steps/c/introduction/",
        data={"peer_contact": str(peer.pk), "note": "Introduced by phone."},
        records=lambda: {"VIII.C done": _step_history(referral, "VIII.C", "done")()},
        created={"VIII.C done": 1},
    )


def _advocate(world):
    referral = new_referred(world)
    return DoubleSubmit(
        user=world["clinician"],
        url=f"/referrals/{referral.pk}/steps/h/advocate/",
        data={"first_name": "Sam", "sessions": ["1"]},
        records=lambda: {"VIII.H records": _step_history(referral, "VIII.H", "done")()},
        created={"VIII.H records": 1},
    )


def _contact_answer(world):
    referral = new_referred(world)
    group = world["group"]
    clinician = world["clinician"]
    Attendance.objects.create(
        client_id=referral.client_id,
        clinic_id=referral.clinic_id,
        group=group,
        on_date=timezone.localdate(),
        status=Attendance.Status.ATTENDED,
        recorded_by=clinician,
    )
    procedure_services.sync_status(referral=referral, by=clinician)
    return DoubleSubmit(
        user=clinician,
        url=f"/referrals/{referral.pk}/steps/k/answer/",
        data={"answer": "yes", "group": str(group.pk), "first_name": "Ana", "phone": "3235550199"},
        records=lambda: {
            "peer contacts": PeerContact.objects.count(),
            "VIII.K done": _step_history(referral, "VIII.K", "done")(),
        },
        created={"peer contacts": 1, "VIII.K done": 1},
    )


def _close(world):
    referral = new_referred(world)
    return DoubleSubmit(
        user=world["clinician"],
        url=f"/referrals/{referral.pk}/close/",
        data={"reason": "lost-contact", "note": ""},
        records=lambda: {
            "closings": Referral.history.filter(id=referral.pk, status="closed").count()
        },
        created={"closings": 1},
    )


def _peer_withdraw(world):
    peer = _peer(world, own_clinic=True)
    return DoubleSubmit(
        user=world["clinician"],
        url=f"/clients/peer-contacts/{peer.pk}/withdraw/",
        data={},
        records=lambda: {
            "withdrawals": PeerContact.history.filter(id=peer.pk, status="withdrawn").count()
        },
        created={"withdrawals": 1},
    )


def _sign_off(world):
    today = timezone.localdate()
    start = today - timedelta(days=30)
    return DoubleSubmit(
        user=world["supervisor"],
        url="/referrals/review/sign-off/",
        data={
            "clinician": str(world["clinician"].pk),
            "period_start": start.isoformat(),
            "period_end": today.isoformat(),
            "note": "Reviewed; all good.",
            "start": start.isoformat(),
            "end": today.isoformat(),
            "weeks": "4",
        },
        records=lambda: {"sign-offs": DocumentationSignOff.objects.count()},
        created={"sign-offs": 1},
    )


def _followup_schedule(world):
    return DoubleSubmit(
        user=world["supervisor"],
        url="/referrals/follow-up-schedule/",
        data={"weeks": "2, 4"},
        records=lambda: {
            "schedules": FollowUpSchedule.objects.count(),
            "schedule history": FollowUpSchedule.history.count(),
        },
        created={"schedules": 1, "schedule history": 1},
    )


def _client_edit(world):
    record = new_client(world)
    url = f"/clients/{record.pk}/edit/"
    return DoubleSubmit(
        user=world["clinician"],
        url=url,
        form_page=url,
        data={
            "record_number": record.record_number,
            "first_name": "Anabel",
            "last_name": record.last_name,
            "preferred_language": record.preferred_language,
            "preferred_language_other": "",
            "primary_clinician": str(record.primary_clinician_id),
        },
        records=lambda: {"client history": record.history.count()},
        created={"client history": 1},
    )


def _new_listing(world):
    site_admin = world["site_admin"]
    category = CategoryFactory(slug="twelve-step-mh", name="Twelve-step groups")
    need = NeedFactory(slug="depression", name="Depression")
    page = browser_for(site_admin).get("/directory/new/")
    data = form_data(page)
    data.update(
        {
            "name": ["Emotions Anonymous"],
            "description": ["Twelve steps for emotional health."],
            "format": [Format.TWELVE_STEP_MH],
            "is_twelve_step": ["on"],
            "categories": [str(category.pk)],
            "needs": [str(need.pk)],
            "status": [Group.Status.ACTIVE],
            "medication_stance": [Group.MedicationStance.AFFIRMING],
            "contacts-0-kind": [Contact.Kind.PHONE],
            "contacts-0-phone": ["(818) 377-4341"],
            "meetings-0-weekday": [str(Meeting.Weekday.WEDNESDAY)],
            "meetings-0-start_time": ["19:30"],
            "meetings-0-online_url": ["https://example.org/ea-meeting"],
        }
    )
    return DoubleSubmit(
        user=site_admin,
        url="/directory/new/",
        data=data,
        records=lambda: {
            "listings": Group.objects.count(),
            "contacts": Contact.objects.count(),
            "meetings": Meeting.objects.count(),
        },
        created={"listings": 1, "contacts": 1, "meetings": 1},
    )


def _listing_edit(world):
    site_admin = world["site_admin"]
    listing = new_listing(world, "Listing Edited Twice")
    url = f"/directory/{listing.slug}/edit/"
    data = form_data(browser_for(site_admin).get(url))
    data["fees_note"] = ["Free."]
    data["contacts-1-kind"] = [Contact.Kind.EMAIL]
    data["contacts-1-email"] = ["info@example.org"]
    return DoubleSubmit(
        user=site_admin,
        url=url,
        data=data,
        records=lambda: {
            "listing history": listing.history.count(),
            "contacts": listing.contacts.count(),
        },
        created={"listing history": 1, "contacts": 1},
    )


def _review_flag(world):
    listing = new_listing(world, "Listing Flagged Twice")
    return DoubleSubmit(
        user=world["site_admin"],
        url=f"/directory/{listing.slug}/flags/new/",
        data={"summary": "Members said to stop medication", "concerns_medication": "on"},
        records=lambda: {"review flags": ReviewFlag.objects.count()},
        created={"review flags": 1},
    )


def _resource(key="share") -> ReferralResource:
    resource, _ = ReferralResource.objects.get_or_create(key=key, defaults={"name": "SHARE!"})
    if not resource.phones.exists():
        resource.phones.create(phone="+18777427349", as_printed="1-877-SHARE-49")
    return resource


def _resource_flag(world):
    resource = _resource()
    return DoubleSubmit(
        user=world["site_admin"],
        url=f"/directory/resources/{resource.key}/flags/new/",
        data={"summary": "The phone number has changed"},
        records=lambda: {"review flags": ReviewFlag.objects.count()},
        created={"review flags": 1},
    )


def _resolve_flag(world):
    site_admin = world["site_admin"]
    flag = directory_services.raise_flag(
        group=new_listing(world, "Listing Resolved Twice"), by=site_admin, summary="A doubt"
    )
    return DoubleSubmit(
        user=site_admin,
        url=f"/directory/flags/{flag.pk}/resolve/",
        data={"resolution_note": "Checked with the group."},
        records=lambda: {"flag history": flag.history.count()},
        created={"flag history": 1},
    )


def _criteria(world):
    listing = new_listing(world, "Listing Confirmed Twice")
    return DoubleSubmit(
        user=world["site_admin"],
        url=f"/directory/{listing.slug}/criteria/",
        data={
            f"criterion_II_{letter}": "meets" if letter == "C" else "not_confirmed"
            for letter in "ABCDEFGH"
        },
        records=lambda: {
            "confirmations": CriterionConfirmation.objects.count(),
            "confirmation history": CriterionConfirmation.history.count(),
        },
        created={"confirmations": 1, "confirmation history": 1},
    )


def _resource_phone(world):
    site_admin = world["site_admin"]
    resource = _resource()
    url = f"/directory/resources/{resource.key}/edit/"
    data = form_data(browser_for(site_admin).get(url), form_class="resource-form")
    total = int(data["phones-TOTAL_FORMS"][0])
    data[f"phones-{total - 1}-phone"] = ["(310) 555-0123"]
    data[f"phones-{total - 1}-label"] = ["Office"]
    return DoubleSubmit(
        user=site_admin,
        url=url,
        data=data,
        records=lambda: {"phones": resource.phones.count()},
        created={"phones": 1},
    )


DOUBLE_SUBMITS = {
    "new client": _new_client,
    "client edit": _client_edit,
    "screening": _screening,
    "start referral": _start_referral,
    "client input (VIII.B)": _client_input,
    "choose groups (VIII.C)": _choose_groups,
    "attendance (IX.A)": _attendance,
    "feedback (IX.B)": _feedback,
    "step done (VIII.E)": _step_done,
    "step not applicable (VIII.C)": _step_not_applicable,
    "introduction (VIII.C)": _introduction,
    "advocate (VIII.H)": _advocate,
    "contact answer yes (VIII.K)": _contact_answer,
    "follow-up add (VIII.J)": _followup_add,
    "follow-up done (VIII.I)": _followup_done,
    "close referral": _close,
    "peer contact withdraw": _peer_withdraw,
    "sign-off (IX)": _sign_off,
    "follow-up schedule": _followup_schedule,
    "new listing": _new_listing,
    "listing edit": _listing_edit,
    "review flag": _review_flag,
    "resource flag": _resource_flag,
    "resolve flag": _resolve_flag,
    "criteria (II)": _criteria,
    "resource phone": _resource_phone,
}


@concurrent
def test_every_form_sent_twice_at_once_makes_one_record(world, subtests):
    """Design notes, section 5: a double-clicked submit creates one record. For each form,
    both clicks come from one browser session, with the same body, at the same instant:
    exactly one record results and neither answer is a 5xx. (One test with a subtest per
    form: each transactional test empties and restores the whole database, which costs more
    than the race itself.)"""
    for name, build in DOUBLE_SUBMITS.items():
        with subtests.test(msg=name):
            case = build(world)
            first = browser_for(case.user)
            data = dict(case.data)
            if case.form_page:
                data = {**hidden_fields(first, case.form_page, case.url), **data}
            second = same_session(first)
            before = case.records()

            responses = at_once(
                [partial(first.post, case.url, data), partial(second.post, case.url, data)]
            )

            after = case.records()
            answers = sorted(response.status_code for response in responses)
            created = {key: after[key] - before[key] for key in before}
            figure(f"double submit: {name}: created {created}, answers {answers}")
            assert all(status < 500 for status in answers), answers
            assert any(status in (200, 302) for status in answers), answers
            assert created == case.created, (created, answers)


# --- 3. The same races, one step after the other (every database) ---------------------------------
#
# What the threads above find by chance, forced in a fixed order: each of these failed before
# the fix it proves.


@pytest.mark.django_db
def test_a_client_input_save_never_undoes_a_close_made_since_the_page_loaded(world):
    """VIII.B and VII.E: the page loaded the referral (preparing); someone closed it (lost
    contact); the save from the page is refused and the referral stays closed."""
    referral = new_preparing(world)
    loaded = Referral.objects.get(pk=referral.pk)  # what the client-input page holds
    procedure_services.close_referral(
        referral=referral, reason=Referral.CloseReason.LOST_CONTACT, by=world["supervisor"]
    )
    with pytest.raises(referral_services.ReferralConflict, match="closed or moved on"):
        referral_services.record_client_input(
            referral=loaded,
            data={"goals": "Stale", "approval": Referral.Approval.APPROVED},
            version=1,
            by=world["clinician"],
        )
    referral.refresh_from_db()
    assert (referral.status, referral.close_reason) == ("closed", "lost-contact")
    assert (referral.version, referral.goals) == (1, "")


@pytest.mark.django_db
def test_a_client_input_conflict_lets_the_editor_save_again(world):
    """409 keeps what was typed and carries the version saved now: saving again from the
    conflict page applies the second editor's input knowingly (it was refused for ever)."""
    referral = new_preparing(world)
    colleague = staff(world["clinic"], Role.CLINICIAN, 1, "colleague")[0]
    url = f"/referrals/{referral.pk}/client-input/"
    assert browser_for(colleague).post(url, client_input_data(world, "Theirs")).status_code == 302
    mine = browser_for(world["clinician"])
    conflict = mine.post(url, client_input_data(world, "Mine"))
    assert conflict.status_code == 409
    again = hidden_fields_of(conflict.content.decode(), url, url)
    assert again["version"] == "2"
    response = mine.post(url, client_input_data(world, "Mine", version=int(again["version"])))
    assert response.status_code == 302
    referral.refresh_from_db()
    assert (referral.goals, referral.version) == ("Mine", 3)


@pytest.mark.django_db
def test_a_double_clicked_client_input_is_saved_once_and_not_a_conflict(world):
    referral = new_preparing(world)
    browser = browser_for(world["clinician"])
    url = f"/referrals/{referral.pk}/client-input/"
    history_before = referral.history.count()
    first = browser.post(url, client_input_data(world, "Meet people"))
    second = browser.post(url, client_input_data(world, "Meet people"))  # still version 1
    assert (first.status_code, second.status_code) == (302, 302)
    assert second["Location"] == f"/referrals/{referral.pk}/groups/"
    referral.refresh_from_db()
    assert referral.version == 2 and referral.history.count() == history_before + 1


@pytest.mark.django_db
def test_a_vi_c_finding_moves_the_version_on_from_the_client_as_saved_now(world):
    """VI.C: the screening page loaded the client at version 1; a colleague's edit saved
    version 2; the screening's finding (on medication) must make it version 3, so that an
    editor who loaded version 2 cannot save over the finding unawares."""
    record = new_client(world)
    loaded = Client.objects.get(pk=record.pk)  # what the screening page holds
    client_services.update_client(
        client=record,
        data={"first_name": "Anabel"},
        version=1,
        by=world["clinician"],
    )
    answers = eligibility.ScreeningAnswers.from_dict(
        {**REFER_SCREENING, "on_prescribed_medication": "yes"}
    )
    screening_services.record_screening(client=loaded, answers=answers, by=world["clinician"])
    record.refresh_from_db()
    assert (record.first_name, record.on_prescribed_medication) == ("Anabel", True)
    assert record.version == 3
    assert [h.version for h in record.history.order_by("history_id")] == [1, 2, 3]
    # The editor who loaded version 2 is refused: the finding is not overwritten.
    with pytest.raises(client_services.EditConflict):
        client_services.update_client(
            client=record,
            data={"on_prescribed_medication": False},
            version=2,
            by=world["clinician"],
        )


@pytest.mark.django_db
def test_the_same_screening_form_sent_twice_saves_one_screening(world):
    record = new_client(world)
    browser = browser_for(world["clinician"])
    url = f"/referrals/screen/{record.pk}/"
    token = hidden_fields(browser, url, url)["submission_id"]
    data = {**REFER_ANSWERS, "submission_id": token}
    first, second = browser.post(url, data), browser.post(url, data)
    screening = Screening.objects.get()
    assert str(screening.submission_id) == token
    # "Refer": both land on the one referral the screening started.
    referral = Referral.objects.get(screening=screening)
    assert first["Location"] == second["Location"] == f"/referrals/{referral.pk}/"
    # The form shown again is a new one: screening again saves a second screening.
    again = {**REFER_ANSWERS, "submission_id": hidden_fields(browser, url, url)["submission_id"]}
    assert again["submission_id"] != token
    assert browser.post(url, again).status_code == 302
    assert Screening.objects.count() == 2


@pytest.mark.django_db
def test_an_edited_screening_token_never_refuses_or_borrows_a_screening(world):
    """A token that is not a UUID, or one already used for another client's screening, still
    saves this client's screening (and never answers with the other client's)."""
    first, second = new_client(world), new_client(world)
    browser = browser_for(world["clinician"])
    url = f"/referrals/screen/{first.pk}/"
    token = hidden_fields(browser, url, url)["submission_id"]
    assert browser.post(url, {**REFER_ANSWERS, "submission_id": token}).status_code == 302
    for value in ("not-a-uuid", "x" * 64, token):
        response = browser.post(
            f"/referrals/screen/{second.pk}/", {**REFER_ANSWERS, "submission_id": value}
        )
        assert response.status_code == 302, value
    assert Screening.objects.filter(client=first).count() == 1
    assert Screening.objects.filter(client=second).count() == 3
    assert not Screening.objects.filter(client=second, submission_id__isnull=False).exists()


@pytest.mark.django_db
def test_a_resource_phone_sent_twice_is_added_once(world):
    """VIII.D–E: the resource's form sent again with the same new phone adds it once."""
    resource = _resource()
    browser = browser_for(world["site_admin"])
    url = f"/directory/resources/{resource.key}/edit/"
    data = form_data(browser.get(url), form_class="resource-form")
    new = int(data["phones-TOTAL_FORMS"][0]) - 1
    data[f"phones-{new}-phone"] = ["(310) 555-0123"]
    data[f"phones-{new}-extension"] = ["12"]
    assert browser.post(url, data).status_code == 302
    assert browser.post(url, data).status_code == 302
    assert resource.phones.filter(phone="+13105550123", extension="12").count() == 1
    # Another extension of the same number is another phone.
    data[f"phones-{new}-extension"] = ["13"]
    assert browser.post(url, data).status_code == 302
    assert resource.phones.filter(phone="+13105550123").count() == 2
