"""Documenting attendance (IX.A) and six scheduled meetings in a row (VIII.G), through real
requests and a real database: several dates at once, every refusal (400, nothing saved, every
problem listed), a date before the referral accepted with a reason, a double submit that saves
once, the referral's status following the attendance (attending, then engaged), roles and
tenancy, one access-log row per request, and the client page's section in a fixed number of
queries with 10,000 records.
"""

from __future__ import annotations

import html
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccessEvent
from clients.models import Attendance
from clients.rules import attendance as attendance_rules
from clients.selectors import attendance
from clients.services import attendance as attendance_services
from directory.models import Meeting
from referrals.models import Referral, ReferredGroup
from referrals.selectors import procedure as procedure_selectors
from tests.factories.clients import AttendanceFactory, ClientFactory
from tests.factories.directory import GroupFactory, MeetingFactory
from tests.factories.referrals import ReferralFactory, ReferredGroupFactory, ScreeningFactory

TUESDAY = 1  # Python's weekday numbering (Monday = 0)


def url(client) -> str:
    return f"/referrals/attendance/{client.pk}/new/"


def text(response) -> str:
    return html.unescape(response.content.decode())


def page_events():
    """Access-log rows other than sign-in."""
    return list(AccessEvent.objects.exclude(action=AccessEvent.Action.SIGN_IN).order_by("id"))


def tuesdays(n: int, *, weeks_ago: int = 0) -> list[date]:
    """``n`` Tuesdays in a row, the last of them ``weeks_ago`` weeks before the latest
    Tuesday that has already happened (today counts)."""
    today = timezone.localdate()
    latest = today - timedelta(days=(today.weekday() - TUESDAY) % 7)
    last = latest - timedelta(weeks=weeks_ago)
    return [last - timedelta(weeks=k) for k in reversed(range(n))]


def us(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def group(db):
    group = GroupFactory(name="Tuesday Circle", slug="tuesday-circle")
    MeetingFactory(
        group=group,
        weekday=Meeting.Weekday.TUESDAY,
        start_time=time(19, 0),
        location_name="Wilshire Hall",
    )
    return group


@pytest.fixture
def other_group(db):
    group = GroupFactory(name="Thursday Friends", slug="thursday-friends")
    MeetingFactory(group=group, weekday=Meeting.Weekday.THURSDAY, start_time=time(18, 0))
    return group


@pytest.fixture
def archived_group(db):
    return GroupFactory(name="Closed Long Ago", slug="closed-long-ago", archived_at=timezone.now())


@pytest.fixture
def ana(clinic, clinician):
    return ClientFactory(clinic=clinic, created_by=clinician, first_name="Ana", last_name="Reyes")


def refer(client, groups, *, by, weeks_ago: int = 20) -> Referral:
    """A referral of ``client`` with ``groups`` chosen ``weeks_ago`` weeks ago (VIII.C)."""
    screening = ScreeningFactory(client=client, screened_by=by)
    referral = ReferralFactory(screening=screening)
    chosen_at = timezone.now() - timedelta(weeks=weeks_ago)
    Referral.objects.filter(pk=referral.pk).update(
        status=Referral.Status.REFERRED,
        approval=Referral.Approval.APPROVED,
        referred_at=chosen_at,
    )
    for rank, g in enumerate(groups):
        ReferredGroupFactory(
            referral=referral,
            group=g,
            reasons=[],
            suggested_rank=rank,
            chosen_at=chosen_at,
            chosen_by=by,
        )
    referral.refresh_from_db()
    return referral


@pytest.fixture
def referral(ana, group, clinician):
    return refer(ana, [group], by=clinician)


def form_data(group, dates, **extra) -> dict:
    data = {
        "group": str(group.pk),
        "dates": "\n".join(d if isinstance(d, str) else d.isoformat() for d in dates),
        "status": "attended",
        "meeting": "",
        "accompanied": "no",
        "source": "client",
        "before_referral_reason": "",
    }
    return data | extra


def refused(response, *messages):
    """400, the page says nothing was saved and shows each message."""
    assert response.status_code == 400, text(response)[:2000]
    page = text(response)
    assert "Nothing was saved." in page
    for message in messages:
        assert message in page, message
    assert not Attendance.objects.exists()
    return page


# --- recording ------------------------------------------------------------------------------------


def test_the_form_lists_the_clients_groups_first(
    sign_in, clinician, ana, referral, group, other_group, archived_group
):
    response = sign_in(clinician).get(url(ana))
    assert response.status_code == 200
    page = text(response)
    assert "Document self-help attendance" in page and "Ana Reyes" in page
    referred_at = page.index('<optgroup label="Chosen for this client\'s referrals">')
    others_at = page.index('<optgroup label="Other listings in the directory">')
    assert referred_at < page.index(f'<option value="{group.pk}">Tuesday Circle') < others_at
    assert others_at < page.index(f'<option value="{other_group.pk}">Thursday Friends')
    assert "Closed Long Ago" not in page
    # The meetings of the client's groups, for "the meeting when known".
    assert "Tuesday 7:00 p.m., Wilshire Hall" in page
    [event] = page_events()
    assert (event.action, event.outcome) == (AccessEvent.Action.VIEW, AccessEvent.Outcome.SUCCESS)
    assert (event.object_type, event.object_id) == ("client", str(ana.pk))


def test_several_dates_in_one_go(sign_in, clinician, ana, referral, group):
    """IX.A: three dates, typed two ways, with the meeting, a peer advocate (VIII.H) and how
    it became known; the referral moves to "attending"; one ``create`` row in the access log."""
    days = tuesdays(3, weeks_ago=1)
    meeting = group.meetings.get()
    data = form_data(
        group,
        [days[0].isoformat(), us(days[1]), days[2].isoformat()],
        meeting=str(meeting.pk),
        accompanied="yes",
        source="peer-advocate",
    )
    response = sign_in(clinician).post(url(ana), data)
    assert response.status_code == 302
    assert response["Location"] == f"/clients/{ana.pk}/#attendance"
    rows = list(Attendance.objects.order_by("on_date"))
    assert [r.on_date for r in rows] == days
    for row in rows:
        assert (row.client, row.clinic_id, row.group, row.meeting) == (
            ana,
            ana.clinic_id,
            group,
            meeting,
        )
        assert row.status == "attended" and row.accompanied and row.source == "peer-advocate"
        assert row.recorded_by == clinician and row.before_referral_reason == ""
    # History with who recorded it (design notes, section 5).
    assert Attendance.history.filter(history_user=clinician).count() == 3
    referral.refresh_from_db()
    assert referral.status == "attending"
    [event] = page_events()
    assert (event.action, event.outcome) == (
        AccessEvent.Action.CREATE,
        AccessEvent.Outcome.SUCCESS,
    )
    # The row names what was created: the attendance (the first of the dates).
    assert (event.object_type, event.object_id, event.user) == (
        "attendance",
        str(rows[0].pk),
        clinician,
    )


def test_a_missed_meeting_is_documented_and_does_not_make_attending(
    sign_in, clinician, ana, referral, group
):
    response = sign_in(clinician).post(
        url(ana), form_data(group, tuesdays(1), status="missed", source="other")
    )
    assert response.status_code == 302
    assert Attendance.objects.get().status == "missed"
    referral.refresh_from_db()
    assert referral.status == "referred"


def test_six_in_a_row_makes_the_referral_engaged(sign_in, clinician, ana, referral, group):
    """VIII.G: five Tuesdays in a row are attending; the sixth is engaged."""
    client = sign_in(clinician)
    days = tuesdays(6)
    assert client.post(url(ana), form_data(group, days[:5])).status_code == 302
    referral.refresh_from_db()
    assert referral.status == "attending"
    assert client.post(url(ana), form_data(group, days[5:])).status_code == 302
    referral.refresh_from_db()
    assert referral.status == "engaged"
    run = procedure_selectors.runs_for(ana.pk, [group.pk])[group.pk]
    assert (run.current, run.longest, run.basis) == (6, 6, attendance_rules.Basis.SCHEDULE)


def test_a_missed_meeting_in_the_middle_is_not_six_in_a_row(
    sign_in, clinician, ana, referral, group
):
    client = sign_in(clinician)
    days = tuesdays(7)
    client.post(url(ana), form_data(group, days[:3] + days[4:]))
    client.post(url(ana), form_data(group, days[3:4], status="missed"))
    assert Attendance.objects.count() == 7
    referral.refresh_from_db()
    assert referral.status == "attending"
    run = procedure_selectors.runs_for(ana.pk, [group.pk])[group.pk]
    assert (run.current, run.longest) == (3, 3)


def test_only_the_referrals_that_chose_the_group_are_synced(
    sign_in, clinician, ana, referral, group, other_group
):
    second = refer(ana, [group, other_group], by=clinician)
    elsewhere = refer(ana, [other_group], by=clinician)
    response = sign_in(clinician).post(url(ana), form_data(group, tuesdays(1)))
    assert response.status_code == 302
    statuses = dict(
        Referral.objects.filter(pk__in=[referral.pk, second.pk, elsewhere.pk]).values_list(
            "pk", "status"
        )
    )
    assert statuses == {referral.pk: "attending", second.pk: "attending", elsewhere.pk: "referred"}


def test_a_group_the_client_was_never_referred_to_needs_no_reason(
    sign_in, clinician, ana, referral, other_group
):
    """Attendance at a listing not chosen in any referral has no referral date to be before."""
    days = [d + timedelta(days=2) for d in tuesdays(2, weeks_ago=1)]  # two Thursdays
    response = sign_in(clinician).post(url(ana), form_data(other_group, days))
    assert response.status_code == 302
    assert Attendance.objects.filter(group=other_group).count() == 2
    referral.refresh_from_db()
    assert referral.status == "referred"  # its group is another one


# --- refusals: 400, every problem listed, nothing saved -------------------------------------------


def test_dates_in_the_future_are_refused(sign_in, clinician, ana, referral, group):
    tomorrow = timezone.localdate() + timedelta(days=1)
    later = tomorrow + timedelta(days=30)
    page = refused(
        sign_in(clinician).post(url(ana), form_data(group, [tuesdays(1)[0], tomorrow, later])),
        "Document meetings that have happened; in the future: "
        f"{attendance_rules.spoken(tomorrow)}; {attendance_rules.spoken(later)}.",
    )
    assert "Today is" in page
    referral.refresh_from_db()
    assert referral.status == "referred"
    [event] = page_events()
    assert (event.action, event.outcome) == (
        AccessEvent.Action.CREATE,
        AccessEvent.Outcome.FAILURE,
    )


def test_a_date_given_twice_is_refused(sign_in, clinician, ana, referral, group):
    day = tuesdays(1)[0]
    refused(
        sign_in(clinician).post(url(ana), form_data(group, [day.isoformat(), us(day)])),
        f"Each date once, please; given twice: {attendance_rules.spoken(day)}.",
    )


def test_a_date_already_documented_is_refused(sign_in, clinician, ana, referral, group):
    client = sign_in(clinician)
    first, second = tuesdays(2)
    assert client.post(url(ana), form_data(group, [first])).status_code == 302
    response = client.post(url(ana), form_data(group, [first, second]))
    assert response.status_code == 400
    page = text(response)
    assert (
        f"Already documented for this client and group: {attendance_rules.spoken(first)} (attended)"
        in page
    )
    # Neither date of the second submission was saved.
    assert list(Attendance.objects.values_list("on_date", flat=True)) == [first]


def test_the_same_date_at_another_group_is_fine(sign_in, clinician, ana, group, other_group):
    client = sign_in(clinician)
    day = tuesdays(1)[0]
    assert client.post(url(ana), form_data(group, [day])).status_code == 302
    assert client.post(url(ana), form_data(other_group, [day])).status_code == 302
    assert Attendance.objects.count() == 2


def test_a_double_submit_saves_once(sign_in, clinician, ana, referral, group):
    client = sign_in(clinician)
    data = form_data(group, tuesdays(2))
    assert client.post(url(ana), data).status_code == 302
    assert client.post(url(ana), data).status_code == 400
    assert Attendance.objects.count() == 2


def test_a_race_lost_to_the_unique_constraint_is_the_duplicate_message(
    sign_in, clinician, ana, referral, group, monkeypatch
):
    """Two submits at once both pass the check; the database refuses the second insert
    (IntegrityError), which is shown as the duplicate message with nothing more saved."""
    first, second = tuesdays(2)
    insert = attendance_services.bulk_create_with_history

    def the_other_request_saves_first(rows, model, **kwargs):
        AttendanceFactory(client=ana, group=group, on_date=first, recorded_by=clinician)
        return insert(rows, model, **kwargs)

    monkeypatch.setattr(
        attendance_services, "bulk_create_with_history", the_other_request_saves_first
    )
    response = sign_in(clinician).post(url(ana), form_data(group, [first, second]))
    assert response.status_code == 400
    assert "Already documented for this client and group" in text(response)
    assert "was the form sent twice?" in text(response)
    # Nothing of this submission was saved. (The "other request's" row, made inside this
    # request's transaction here, was rolled back with it; a real one would have stayed.)
    assert not Attendance.objects.filter(on_date=second).exists()
    referral.refresh_from_db()
    assert referral.status == "referred"


def test_a_date_before_the_referral_needs_a_reason(sign_in, clinician, ana, group):
    """IX.A: before the referral only with a reason (the client may already have been going);
    the reason is kept on those dates only."""
    recent = refer(ana, [group], by=clinician, weeks_ago=2)
    before = tuesdays(2, weeks_ago=4)
    after = tuesdays(1)
    client = sign_in(clinician)
    referred = timezone.localdate(recent.groups.get().chosen_at)
    response = client.post(url(ana), form_data(group, before + after))
    assert response.status_code == 400
    page = text(response)
    assert (
        f"Before the client was referred to this group ({attendance_rules.spoken(referred)}): "
        f"{attendance_rules.spoken(before[0])}; {attendance_rules.spoken(before[1])}." in page
    )
    assert not Attendance.objects.exists()
    reason = "The client was already going before we met."
    response = client.post(
        url(ana), form_data(group, before + after, before_referral_reason=f"  {reason} ")
    )
    assert response.status_code == 302
    reasons = dict(Attendance.objects.values_list("on_date", "before_referral_reason"))
    assert reasons == {before[0]: reason, before[1]: reason, after[0]: ""}


def test_every_problem_is_listed_at_once(sign_in, clinician, ana, group):
    """Unreadable dates, the future, a duplicate and a date before the referral: all four
    are listed in one answer, not one after the other."""
    refer(ana, [group], by=clinician, weeks_ago=2)
    client = sign_in(clinician)
    documented, before = tuesdays(1)[0], tuesdays(1, weeks_ago=5)[0]
    assert client.post(url(ana), form_data(group, [documented])).status_code == 302
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = client.post(url(ana), form_data(group, ["2026-02-30", tomorrow, documented, before]))
    assert response.status_code == 400
    page = text(response)
    for message in (
        "“2026-02-30” is not a real date.",
        f"in the future: {attendance_rules.spoken(tomorrow)}.",
        f"Already documented for this client and group: {attendance_rules.spoken(documented)}",
        "Before the client was referred to this group (",
    ):
        assert message in page, message
    assert Attendance.objects.count() == 1


@pytest.mark.parametrize(
    ("typed", "messages"),
    [
        ("2026-02-30", ["“2026-02-30” is not a real date."]),
        ("13/01/2026", ["“13/01/2026” is not a real date."]),
        ("yesterday", ["“yesterday” is not a date: write dates as 2026-06-02 or 6/2/2026."]),
        ("6/2/26", ["“6/2/26”: write the year in full (6/2/2026)."]),
        (
            # Every bad one is listed, not just the first.
            "2025-02-29\nnext tuesday\n1/1/2025",
            [
                "“2025-02-29” is not a real date.",
                "“next” is not a date",
                "“tuesday” is not a date",
            ],
        ),
        ("   ", ["Enter at least one date."]),
        ("1999-01-05", ["More than 10 years ago (check the year)"]),
        (
            "\n".join(f"2025-01-{d:02d}" for d in range(1, 32))
            + "\n"
            + "\n".join(f"2025-03-{d:02d}" for d in range(1, 31)),
            ["Enter at most 60 dates at a time; there are 61."],
        ),
    ],
    ids=["feb-30", "month-13", "words", "short-year", "several", "empty", "too-old", "too-many"],
)
def test_impossible_dates_are_refused(sign_in, clinician, ana, referral, group, typed, messages):
    refused(sign_in(clinician).post(url(ana), form_data(group, [typed])), *messages)


@pytest.mark.parametrize("which", ["missing", "archived", "not-a-number", "empty"])
def test_a_group_that_is_not_a_current_listing_is_refused(
    sign_in, clinician, ana, referral, archived_group, which
):
    pk = {
        "missing": "999999",
        "archived": str(archived_group.pk),
        "not-a-number": "x",
        "empty": "",
    }[which]
    data = form_data(archived_group, tuesdays(1)) | {"group": pk}
    message = (
        "Choose the group."
        if which == "empty"
        else "That listing does not exist or has been archived. Choose a group from the list."
    )
    refused(sign_in(clinician).post(url(ana), data), message)


def test_a_group_archived_after_the_page_was_made_is_refused(
    sign_in, clinician, ana, referral, group, monkeypatch
):
    """The listing was current when the form was built and archived before it was checked."""
    client = sign_in(clinician)
    real = attendance.form_groups

    def still_listed(c):
        listed = real(c)
        type(group).objects.filter(pk=group.pk).update(archived_at=timezone.now())
        return listed

    monkeypatch.setattr(attendance, "form_groups", still_listed)
    refused(
        client.post(url(ana), form_data(group, tuesdays(1))),
        "That listing does not exist or has been archived.",
    )


def test_a_meeting_of_another_group_is_refused(sign_in, clinician, ana, group, other_group):
    refer(ana, [group, other_group], by=clinician)
    other_meeting = other_group.meetings.get()
    refused(
        sign_in(clinician).post(
            url(ana), form_data(group, tuesdays(1), meeting=str(other_meeting.pk))
        ),
        "That meeting is another group's. Choose one of this group's.",
    )


def test_a_meeting_not_listed_is_refused(sign_in, clinician, ana, referral, group):
    refused(
        sign_in(clinician).post(url(ana), form_data(group, tuesdays(1), meeting="999999")),
        "Choose one of the group's meetings, or “Not known”.",
    )


def test_dates_on_another_weekday_than_the_meeting_are_refused(
    sign_in, clinician, ana, referral, group
):
    tuesday = tuesdays(1, weeks_ago=1)[0]
    wednesday = tuesday + timedelta(days=1)
    meeting = group.meetings.get()
    refused(
        sign_in(clinician).post(
            url(ana), form_data(group, [tuesday, wednesday], meeting=str(meeting.pk))
        ),
        "The meeting chosen is on Tuesdays, and these dates are not: "
        f"{attendance_rules.spoken(wednesday)}.",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("status", "maybe", "Select a valid choice."),
        ("status", "", "Say whether the client attended or missed."),
        ("source", "rumour", "Select a valid choice."),
        ("accompanied", "", "Say whether a peer advocate went with the client."),
        ("before_referral_reason", "x" * 201, "at most 200 characters"),
    ],
)
def test_other_bad_input_is_refused(
    sign_in, clinician, ana, referral, group, field, value, message
):
    refused(
        sign_in(clinician).post(url(ana), form_data(group, tuesdays(1)) | {field: value}),
        message,
    )


# --- roles and tenancy --------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["supervisor", "site_admin", "no_role_user"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_only_clinicians_record(request, sign_in, ana, referral, group, person, method):
    """Supervisors see the attendance on the client's page but do not record it (403)."""
    user = request.getfixturevalue(person)
    client = sign_in(user)
    response = (
        client.post(url(ana), form_data(group, tuesdays(1)))
        if method == "post"
        else client.get(url(ana))
    )
    assert response.status_code == 403
    assert b"Ana" not in response.content
    assert not Attendance.objects.exists()
    [event] = page_events()
    assert (event.action, event.outcome) == (
        AccessEvent.Action.DENIED,
        AccessEvent.Outcome.DENIED,
    )


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_clinics_client_is_not_found_and_logged(
    sign_in, outsider, ana, referral, group, method
):
    client = sign_in(outsider)
    response = (
        client.post(url(ana), form_data(group, tuesdays(1)))
        if method == "post"
        else client.get(url(ana))
    )
    assert response.status_code == 404
    assert b"Reyes" not in response.content
    assert not Attendance.objects.exists()
    [event] = page_events()
    assert event.outcome == AccessEvent.Outcome.NOT_FOUND
    assert event.action == (
        AccessEvent.Action.CREATE if method == "post" else AccessEvent.Action.VIEW
    )
    assert (event.object_type, event.object_id, event.user) == ("client", str(ana.pk), outsider)


def test_a_client_that_does_not_exist_is_not_found(sign_in, clinician, group):
    response = sign_in(clinician).post("/referrals/attendance/999999/new/", form_data(group, []))
    assert response.status_code == 404
    [event] = page_events()
    assert (event.outcome, event.object_id) == (AccessEvent.Outcome.NOT_FOUND, "999999")


def test_signing_in_is_required(client, ana):
    response = client.get(url(ana))
    assert response.status_code == 302 and "sign-in" in response["Location"]


# --- the client page's section ----------------------------------------------------------------


def _render_section(client, summary, user):
    request = RequestFactory().get(f"/clients/{client.pk}/")
    request.user = user
    return html.unescape(
        render_to_string(
            "clients/_attendance_section.html",
            {"client": client, "attendance": summary},
            request=request,
        )
    )


def test_the_section_per_group(clinician, supervisor, ana, referral, group, other_group):
    """Referred groups first; counts; the latest dates; x of 6 with the rule in plain words."""
    days = tuesdays(8)
    Attendance.objects.bulk_create(
        [
            Attendance(
                client=ana,
                clinic_id=ana.clinic_id,
                group=group,
                on_date=d,
                status="missed" if k == 1 else "attended",
                accompanied=k < 3,
                source="peer-advocate" if k < 3 else "client",
                recorded_by=clinician,
            )
            for k, d in enumerate(days)
        ]
        + [
            Attendance(
                client=ana,
                clinic_id=ana.clinic_id,
                group=other_group,
                on_date=timezone.localdate() - timedelta(days=1),
                recorded_by=clinician,
            )
        ]
    )
    summary = attendance.attendance_summary(ana)
    first, second = summary.groups
    assert (first.name, second.name) == ("Tuesday Circle", "Thursday Friends")
    assert first.referred_on == timezone.localdate(referral.groups.get().chosen_at)
    assert second.referred_on is None
    assert (first.attended, first.missed, first.accompanied, first.documented) == (7, 1, 2, 8)
    assert first.weekdays == ("Tuesday",)
    assert [m.on_date for m in first.latest] == list(reversed(days))
    assert (first.run.current, first.run.longest, first.run.progress) == (6, 6, 6)
    assert first.run.reached_six
    page = _render_section(ana, summary, clinician)
    assert "Six in a row (VIII.G): 6 of 6" in page
    assert "Longest run: 6; current run: 6, as of" in page
    assert "Six scheduled meetings in a row reached." in page
    assert "Documented: 7 attended, 1 missed, 2 with a peer advocate." in page
    assert "The directory lists its meetings on Tuesdays." in page
    assert "Not chosen in a referral for this client." in page
    for sentence in attendance_rules.PLAIN_RULE:
        assert sentence in page
    assert f'href="{url(ana)}"' in page and "Document attendance" in page
    # A supervisor reads the section but has no link to record.
    assert "Document attendance" not in _render_section(ana, summary, supervisor)


def test_the_section_without_attendance(clinician, ana):
    summary = attendance.attendance_summary(ana)
    assert summary.groups == () and not summary.any_documented
    page = _render_section(ana, summary, clinician)
    assert "No attendance documented yet." in page
    assert "How “six in a row” is counted" in page


def test_a_referred_group_without_attendance_shows_the_next_dates(clinician, ana, referral, group):
    [row] = attendance.attendance_summary(ana).groups
    assert row.documented == 0 and row.run.progress == 0
    assert len(row.run.next_dates) == 6
    assert all(d.weekday() == TUESDAY and d > timezone.localdate() for d in row.run.next_dates)
    assert "Next meetings to aim for:" in _render_section(
        ana, attendance.attendance_summary(ana), clinician
    )


def _many(client, groups, per_group, *, by):
    """``per_group`` daily records per group, ending yesterday."""
    yesterday = timezone.localdate() - timedelta(days=1)
    Attendance.objects.bulk_create(
        (
            Attendance(
                client=client,
                clinic_id=client.clinic_id,
                group=g,
                on_date=yesterday - timedelta(days=n),
                status="missed" if n % 9 == 4 else "attended",
                accompanied=n % 3 == 0,
                recorded_by=by,
            )
            for g in groups
            for n in range(per_group)
        ),
        batch_size=2000,
    )


def _queries(func):
    with CaptureQueriesContext(connection) as captured:
        result = func()
    return len(captured), result


def test_the_section_runs_three_queries_with_10_or_10000_records(
    clinic, clinician, group, other_group
):
    """IX: a fixed number of queries whatever the number of records (design notes, section 6):
    1 counts per group, 2 referred groups (both with their groups' weekdays), 3 the latest 200
    per group."""
    small = ClientFactory(clinic=clinic, created_by=clinician)
    big = ClientFactory(clinic=clinic, created_by=clinician)
    refer(small, [group], by=clinician)
    refer(big, [group], by=clinician)
    _many(small, [group, other_group], 5, by=clinician)
    _many(big, [group, other_group], 5000, by=clinician)
    assert Attendance.objects.filter(client=big).count() == 10000
    clinician.has_perm("clients.add_attendance")  # the permission cache, filled beforehand

    def page(who):
        summary = attendance.attendance_summary(who)
        return _render_section(who, summary, clinician), summary

    small_count, (small_page, small_summary) = _queries(lambda: page(small))
    big_count, (big_page, big_summary) = _queries(lambda: page(big))
    assert small_count == big_count == 3
    # The counts come from an aggregate over every record, the dates shown from the latest.
    big_group = big_summary.groups[0]
    attended = Attendance.objects.filter(client=big, group=group, status="attended").count()
    assert (big_group.documented, big_group.attended) == (5000, attended)
    assert len(big_group.latest) == attendance.LATEST_SHOWN
    assert "The latest 10 of 5000 documented meetings" in big_page
    assert f"Documented: {attended} attended, {5000 - attended} missed" in big_page
    assert small_summary.groups[0].documented == 5


def test_runs_for_reads_two_queries_and_at_most_200_records_a_group(
    ana, clinician, group, other_group
):
    """The run is counted from the latest 200 records of each group (a window function), so
    300 Tuesdays in a row show as a run of 200, for each group on its own."""
    latest = tuesdays(1)[0]
    for g in (group, other_group):
        Attendance.objects.bulk_create(
            Attendance(
                client=ana,
                clinic_id=ana.clinic_id,
                group=g,
                on_date=latest - timedelta(weeks=n),
                recorded_by=clinician,
            )
            for n in range(300)
        )
    count, runs = _queries(lambda: procedure_selectors.runs_for(ana.pk, [group.pk, other_group.pk]))
    assert count == 2
    # The Thursday group's Tuesdays are off its schedule but each fills its week (rule 4).
    assert {gid: (r.current, r.longest) for gid, r in runs.items()} == {
        group.pk: (200, 200),
        other_group.pk: (200, 200),
    }
    few_count, _ = _queries(lambda: procedure_selectors.runs_for(ana.pk, [group.pk]))
    assert few_count == 2
    # With the schedules known already (the referral page has the meetings): one query.
    known, runs = _queries(
        lambda: procedure_selectors.runs_for(ana.pk, [group.pk, other_group.pk], schedules={})
    )
    assert known == 1
    assert all(r.basis == attendance_rules.Basis.WEEKS for r in runs.values())


def test_recording_in_a_fixed_number_of_queries(sign_in, clinician, ana, referral, group):
    """Saving 2 dates or 20 runs the same queries (one insert each for rows and history)."""
    client = sign_in(clinician)
    two = tuesdays(2, weeks_ago=30)
    twenty = tuesdays(20)
    refer_long_ago = ReferredGroup.objects.filter(referral=referral)
    refer_long_ago.update(chosen_at=timezone.make_aware(datetime(2000, 1, 1)))
    few, response = _queries(lambda: client.post(url(ana), form_data(group, two)))
    assert response.status_code == 302
    many, response = _queries(lambda: client.post(url(ana), form_data(group, twenty)))
    assert response.status_code == 302
    assert few == many
    assert Attendance.objects.count() == 22


def test_the_service_refuses_no_dates(clinician, ana, group):
    """The service is the authority, whatever a caller passes: no dates, nothing saved."""
    with pytest.raises(attendance_rules.AttendanceRefused) as refusal:
        attendance_services.record_attendance(
            client=ana,
            group=group,
            dates=[],
            status="attended",
            by=clinician,
            today=timezone.localdate(),
        )
    assert [p.code for p in refusal.value.problems] == ["required"]
    assert not Attendance.objects.exists()
