"""Documentation (IX) works in a real browser, under the strict CSP, and is accessible.

1. One journey in Chromium: a clinician documents six meetings of a medicated client at group X
   (six in a row reached, VIII.G) and feedback that members encouraged stopping medication
   (IX.B); X leaves that client's suggestions ("Not suitable under VI.C"); the clinical-record
   note carries the 42 CFR Part 2 notice; the site admin finds the flag on the worklist; the
   supervisor sees the review's figures and charts and signs the documentation off.
2. The review's three charts are drawn under the CSP, with no refusal or script error.
3. axe finds nothing serious or critical on the forms and pages, empty and refused (only its
   injected scans bypass the CSP); error summaries lead to their fields; pages reflow at 320px.

Sign-in follows the demo's mode (REQUIRE_MFA off); the starting data is made in the database.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from clients.models import Attendance, DocumentationSignOff, Feedback, PeerContact
from clients.services import attendance as attendance_services
from clients.services import feedback as feedback_services
from directory.models import Language, Meeting, Need, ReviewFlag, ServiceArea
from directory.services import listings as directory_services
from referrals.models import Referral, ReferredGroup
from referrals.services import procedure as procedure_services
from tests.browser.conftest import SIGN_IN_PATH, path_is, sign_in_with_password
from tests.browser.test_referrals_browser import Scans, Tally
from tests.factories.accounts import PASSWORD
from tests.factories.clients import ClientFactory
from tests.factories.directory import GroupFactory, MeetingFactory
from tests.factories.referrals import ReferralFactory, ScreeningFactory

pytestmark = pytest.mark.browser

X = "Sunrise Circle"
OTHER = "Evening Hope Group"
X_MEETING = "Tuesday 7:00 p.m., Wilshire Hall"  # how the attendance form names X's meeting
STOP_MEDICATION = "Members encouraged stopping prescribed medication"
PYTHON_TUESDAY = 1  # Python's weekday numbering (Monday = 0)
CSP_MARKERS = ("Content Security Policy", "Refused to")
CHARTS_DRAWN = 'canvas[data-review-chart][data-rendered="true"]'

# A screening that refers for depression (IV.H), the client on prescribed medication (VI.C).
REFER_SCREENING = {
    "indications": [{"code": "IV.H", "detail": "depression"}],
    "no_indication_found": False,
    "selection_criterion": "met",
    "violence_without_impulse_control": "no",
    "expressed_disinterest": "no",
    "explanation_given": True,
    "on_prescribed_medication": "yes",
}


# --- Data ----------------------------------------------------------------------------------------


def tuesdays(n: int) -> list[dt.date]:
    """The latest ``n`` Tuesdays that have happened (today counts), oldest first."""
    today = timezone.localdate()
    latest = today - dt.timedelta(days=(today.weekday() - PYTHON_TUESDAY) % 7)
    return [latest - dt.timedelta(weeks=k) for k in reversed(range(n))]


def us(day: dt.date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


@pytest.fixture
def listings():
    """X meets on Tuesdays and helps with depression and alcohol (so a note naming it carries
    the Part 2 notice); another listing fits too, so the suggestions are never empty."""
    depression = Need.objects.create(slug="depression", name="Depression")
    alcohol = Need.objects.create(slug="alcohol", name="Alcohol")
    east = ServiceArea.objects.create(
        slug="east", name="East", kind=ServiceArea.Kind.SPA, spa_number=7, order=7
    )
    english = Language.objects.create(code="en", name="English")

    def listing(name, *needs):
        group = GroupFactory(name=name, slug=name.lower().replace(" ", "-"))
        group.needs.add(*needs)
        group.service_areas.add(east)
        group.languages.add(english)
        return group

    x = listing(X, depression, alcohol)
    MeetingFactory(
        group=x, weekday=Meeting.Weekday.TUESDAY, start_time=dt.time(19, 0),
        end_time=dt.time(20, 0), location_name="Wilshire Hall",
    )  # fmt: skip
    other = listing(OTHER, depression)
    MeetingFactory(group=other, weekday=Meeting.Weekday.THURSDAY, start_time=dt.time(18, 0))
    return {"x": x, "other": other, "area": east, "depression": depression}


@pytest.fixture
def ximena(clinician):
    return ClientFactory(
        clinic=clinician.clinic,
        created_by=clinician,
        first_name="Ximena",
        last_name="Uzcategui",
        record_number="424242",
        on_prescribed_medication=True,
    )


def referral_to(client, groups, *, by, weeks_ago: int = 10) -> Referral:
    """A referral of ``client`` with ``groups`` chosen ``weeks_ago`` weeks ago (VIII.C)."""
    screening = ScreeningFactory(client=client, screened_by=by, answers=REFER_SCREENING)
    referral = ReferralFactory(screening=screening, language="en")
    chosen_at = timezone.now() - dt.timedelta(weeks=weeks_ago)
    Referral.objects.filter(pk=referral.pk).update(
        status=Referral.Status.REFERRED,
        approval=Referral.Approval.APPROVED,
        referred_at=chosen_at,
    )
    for rank, group in enumerate(groups):
        ReferredGroup.objects.create(
            referral=referral, group=group, reasons=["helps with depression"],
            suggested_rank=rank, chosen_at=chosen_at, chosen_by=by,
        )  # fmt: skip
    referral.refresh_from_db()
    return referral


@pytest.fixture
def referred(ximena, listings, clinician):
    """Ximena was referred to X ten weeks ago."""
    return referral_to(ximena, [listings["x"]], by=clinician)


@pytest.fixture
def preparing(ximena, listings, clinician):
    """A second referral of Ximena, approved and waiting for its groups: the page that shows
    what matching suggests for her (the first referral's groups are already chosen)."""
    screening = ScreeningFactory(client=ximena, screened_by=clinician, answers=REFER_SCREENING)
    return ReferralFactory(
        screening=screening,
        approval=Referral.Approval.APPROVED,
        preferred_area=listings["area"],
        language="en",
    )


def sign_in_as(page: Page, settings, user, home: str) -> None:
    settings.REQUIRE_MFA = False  # the demo's mode: a password, then the role's home
    sign_in_with_password(page, user.username)
    expect(page).to_have_url(path_is(home))


def watch_console(page: Page) -> list[str]:
    """Console messages and uncaught script errors of ``page``, as they come."""
    lines: list[str] = []
    page.on("console", lambda message: lines.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: lines.append(f"pageerror: {error}"))
    return lines


def csp_refusals_and_errors(lines: list[str]) -> list[str]:
    return [
        line
        for line in lines
        if any(marker in line for marker in CSP_MARKERS) or line.startswith("pageerror:")
    ]


def group_field(page: Page):
    """The forms' group drop-down (crispy marks the label of a required field with "*")."""
    return page.get_by_role("combobox", name=re.compile(r"^Group\*?$"))


def suggested(page: Page):
    # VI.C: for a medicated client the suggestions come in two groups, confirmed-safe first
    # and "stance not confirmed — ask before referring" apart; both are suggestions.
    return page.locator("form").filter(
        has=page.get_by_role("button", name="Refer to the groups picked")
    )


def not_suitable(page: Page):
    return page.get_by_role("region", name="Not suitable under VI.C")


def attendance_at(page: Page, name: str):
    return page.locator("#attendance").get_by_role("article", name=name)


def figures_row(page: Page, name: str):
    """The supervisor review's row of a clinician in "Referrals, documentation and concerns"."""
    table = page.get_by_role("table", name=re.compile(r"^Referrals, documentation and concerns"))
    return table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=name))


# --- 1. The journey ("Done when") -------------------------------------------------------------


def test_six_meetings_and_a_medication_concern_reach_the_admin_and_the_supervisor(
    page, new_context, settings, clinician, site_admin, supervisor, ximena, listings, referred,
    preparing, capsys,
):  # fmt: skip
    """The documentation journey, tried as a new user would, each role in its own browser, under the
    strict CSP. IX.A: six meetings documented at once; VIII.G: six in a row reached; IX.B and
    VI.C: the medication concern opens a flag at once and X is no longer suggested to this
    medicated client; the site admin's worklist shows the flag; IX: the supervisor sees the
    figures and charts and signs off."""
    settings.REQUIRE_MFA = False
    x = listings["x"]
    console = watch_console(page)
    tally = Tally()
    tally.watch(page)

    # The clinician signs in.
    page.goto("/")
    expect(page).to_have_url(path_is(SIGN_IN_PATH))
    tally.type(page.get_by_label("Username"), clinician.username)
    tally.type(page.get_by_label("Password"), PASSWORD)
    tally.click(page.get_by_role("button", name="Sign in", exact=True))
    expect(page).to_have_url(path_is("/clinician/"))

    # Before anything is documented: X is suggested for Ximena (VIII.C), as is the other one.
    page.goto(f"/referrals/{preparing.pk}/groups/")
    expect(suggested(page).get_by_role("checkbox", name=X)).to_be_visible()
    expect(suggested(page).get_by_role("checkbox", name=OTHER)).to_be_visible()
    expect(page.get_by_role("heading", name="Not suitable under VI.C")).to_have_count(0)

    # The client's page, from the navigation: X's attendance, nothing documented yet.
    start = tally.snapshot()
    tally.click(page.get_by_role("navigation", name="Main").get_by_role("link", name="Clients"))
    tally.click(page.get_by_role("link", name="Uzcategui, Ximena"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Ximena Uzcategui")
    section = attendance_at(page, X)
    expect(section).to_contain_text("The directory lists its meetings on Tuesdays.")
    expect(section.get_by_role("progressbar")).to_have_attribute("value", "0")
    tally.click(page.get_by_role("link", name="Document attendance"))

    # IX.A: six Tuesdays at once, on X's Tuesday meeting, as the client reported them.
    expect(page.get_by_role("heading", level=1)).to_have_text("Document self-help attendance")
    dates = tuesdays(6)
    tally.choose(group_field(page), X)
    tally.type(page.get_by_label("Dates of the meetings"), "\n".join(us(d) for d in dates))
    expect(page.get_by_role("radio", name="Attended")).to_be_checked()
    tally.choose(page.get_by_label("Which meeting"), X_MEETING)
    expect(page.get_by_role("radio", name="The client's report at an appointment")).to_be_checked()
    tally.click(page.get_by_role("button", name="Save the attendance"))

    # VIII.G: six scheduled meetings in a row, on the client's page.
    expect(page).to_have_url(re.compile(rf"/clients/{ximena.pk}/#attendance$"))
    expect(page.get_by_text("6 meetings documented.")).to_be_visible()
    section = attendance_at(page, X)
    expect(section).to_contain_text("Six in a row (VIII.G): 6 of 6")
    expect(section.get_by_role("progressbar", name=re.compile("Six in a row"))).to_have_attribute(
        "value", "6"
    )
    expect(section).to_contain_text("Six scheduled meetings in a row reached.")
    expect(section).to_contain_text("Documented: 6 attended, 0 missed")
    expect(section.get_by_role("table").get_by_role("row")).to_have_count(7)  # header + six
    attendance_screens = tally.snapshot()
    rows = Attendance.objects.filter(client=ximena, group=x).order_by("on_date")
    assert [row.on_date for row in rows] == dates
    assert {row.meeting_id for row in rows} == {x.meetings.get().pk}
    referred.refresh_from_db()
    assert referred.status == Referral.Status.ENGAGED  # sync_status after attendance
    referrals = page.get_by_role("region", name="Referrals", exact=True)
    expect(referrals.get_by_role("row").filter(has_text=X)).to_contain_text("Engaged")

    # IX.B: the client's feedback, with a medication concern (VI.C).
    tally.click(page.get_by_role("link", name="Document feedback"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Feedback on a group")
    expect(group_field(page)).to_have_value(str(x.pk))  # her one group
    expect(page.get_by_label("Date the client gave the feedback")).to_have_value(
        timezone.localdate().isoformat()
    )
    tally.click(page.get_by_role("radio", name="Every week or more often"))
    tally.type(page.get_by_label("What the client observed"), "Warm welcome; good speakers.")
    tally.type(
        page.get_by_label("Concerns the client raised"),
        "Two members told her to stop taking her medication.",
    )
    tally.click(page.get_by_role("checkbox", name=STOP_MEDICATION))
    tally.click(page.get_by_role("button", name="Document the feedback"))

    expect(page).to_have_url(re.compile(rf"/clients/{ximena.pk}/"))
    entry = page.locator("#feedback").get_by_role("listitem").filter(has_text=X)
    expect(entry).to_contain_text(STOP_MEDICATION)
    expect(entry.locator(".review-flag-state")).to_contain_text("Open")
    expect(entry.locator(".review-flag-state")).to_contain_text(
        f"Until it is resolved, {X} is not suggested to clients on prescribed medication (VI.C)."
    )
    feedback_done = tally.snapshot()
    flag = ReviewFlag.objects.get(group=x)
    assert flag.is_open and flag.concerns_medication
    assert Feedback.objects.get(client=ximena).review_flag == flag

    # VI.C: at once, X is not suggested to Ximena, and is listed apart with the reason.
    page.goto(f"/referrals/{preparing.pk}/groups/")
    expect(suggested(page).get_by_role("checkbox", name=OTHER)).to_be_visible()
    expect(suggested(page).get_by_text(X)).to_have_count(0)
    expect(not_suitable(page)).to_contain_text(X)
    expect(not_suitable(page)).to_contain_text("an open review flag reports a medication concern")

    # IX.A–B: the note for the clinical record, from the client's page; X is an alcohol group,
    # so the note carries the 42 CFR Part 2 notice.
    page.goto(f"/clients/{ximena.pk}/")
    page.get_by_role("link", name="Note for the clinical record").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Self-help note for the clinical record"
    )
    note = page.get_by_role("region", name="The note, to copy into the record")
    expect(note.locator("pre")).to_contain_text(f"{X}: attended 6, missed 0")
    expect(note.locator("pre")).to_contain_text("Six in a row (VIII.G), this period: reached")
    expect(note.locator("pre")).to_contain_text(STOP_MEDICATION)
    expect(note.locator("pre")).to_contain_text("42 CFR PART 2 NOTICE")
    expect(page.get_by_role("note").filter(has_text="redisclosure notice")).to_contain_text(
        f"it names {X}, a substance-use group"
    )
    expect(page.get_by_role("note", name="42 CFR Part 2 notice")).to_be_visible()
    assert csp_refusals_and_errors(console) == [], console

    # The site admin, in a browser of their own: the flag is on the directory worklist, naming
    # the concern, never the client.
    admin = new_context().new_page()
    admin_console = watch_console(admin)
    sign_in_as(admin, settings, site_admin, "/site-admin/")
    admin.get_by_role("link", name="Directory worklist").click()
    flags = admin.get_by_role("region", name=re.compile(r"^Open review flags"))
    row = flags.get_by_role("row").filter(has_text=X)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(STOP_MEDICATION)
    expect(row).to_contain_text("VI.C medication")
    expect(row.get_by_role("link", name=re.compile("^Resolve"))).to_be_visible()
    for identifying in ("Ximena", "Uzcategui", "424242", "stop taking her medication"):
        expect(flags).not_to_contain_text(identifying)
    assert csp_refusals_and_errors(admin_console) == [], admin_console

    # The supervisor, in a browser of their own: the figures, the three charts, the sign-off.
    boss = new_context().new_page()
    boss_console = watch_console(boss)
    sign_in_as(boss, settings, supervisor, "/supervisor/")
    boss.get_by_role("link", name="Review your clinic's self-help documentation").click()
    expect(boss.get_by_role("heading", level=1)).to_have_text("Supervisor review")
    expect(boss.locator(CHARTS_DRAWN)).to_have_count(3)
    name = clinician.get_full_name()
    figures = figures_row(boss, name).get_by_role("cell")
    # Referred, attendance documented, six in a row, concerns raised, gaps, signed off.
    expect(figures).to_have_text(["1", "1", "1", "1", "0", "Not yet"])
    funnel = boss.get_by_role("table", name=re.compile(r"^Referral funnel"))
    expect(funnel.get_by_role("row", name=re.compile(r"^Six in a row"))).to_contain_text("1")
    weekly = boss.get_by_role("table", name="Attendance documented per week of the meeting")
    totals = weekly.locator("tbody tr td:last-child")
    assert sum(int(t) for t in totals.all_inner_texts()) == 6

    form = boss.locator("form").filter(
        has=boss.get_by_role("heading", name="Sign off a clinician's documentation")
    )
    form.get_by_label("Clinician (required)").select_option(label=name)
    form.get_by_label("Note").fill("Six in a row at Sunrise Circle; flag raised at once.")
    form.get_by_role("button", name="Sign off").click()
    expect(boss.get_by_role("status")).to_contain_text(f"Signed off {name}'s documentation")
    expect(figures_row(boss, name).get_by_role("cell").last).to_contain_text("Yes, ")
    expect(boss.get_by_role("region", name="Sign-offs", exact=True)).to_contain_text(
        "Six in a row at Sunrise Circle"
    )
    expect(boss.locator(CHARTS_DRAWN)).to_have_count(3)  # drawn again after the redirect
    signed = DocumentationSignOff.objects.get()
    assert (signed.clinician, signed.signed_by) == (clinician, supervisor)
    assert signed.period_end == timezone.localdate()
    assert csp_refusals_and_errors(boss_console) == [], boss_console

    with capsys.disabled():
        a = [n - m for n, m in zip(attendance_screens, start, strict=True)]
        f = [n - m for n, m in zip(feedback_done, attendance_screens, strict=True)]
        print(
            f"\nJourney (documentation): six meetings documented from the client list in {a[0]} "
            f"screens, {a[1]} clicks, {a[2]} keystrokes; the feedback in {f[0]} screens, "
            f"{f[1]} clicks, {f[2]} keystrokes"
        )


# --- 2. The charts under the strict CSP -------------------------------------------------------


@pytest.fixture
def documented(clinician, ximena, listings, referred):
    """Six Tuesdays at X and a medication concern, saved through the services the pages use."""
    today = timezone.localdate()
    attendance_services.record_attendance(
        client=ximena, group=listings["x"], dates=tuesdays(6), status="attended",
        by=clinician, today=today,
    )  # fmt: skip
    return feedback_services.record_feedback(
        client=ximena, group=listings["x"], given_on=today,
        frequency=Feedback.Frequency.WEEKLY_OR_MORE, concerns="Told to stop her pills.",
        concern_kinds=[Feedback.Concern.STOP_MEDICATION], by=clinician,
    )  # fmt: skip


def test_the_review_charts_are_drawn_under_the_strict_csp(page, settings, supervisor, documented):
    """No bypass: Chart.js and review-charts.js are static files the policy allows, the data
    comes through json_script; three canvases drawn and nothing refused in the console."""
    console = watch_console(page)
    sign_in_as(page, settings, supervisor, "/supervisor/")
    page.goto("/referrals/review/")
    expect(page.locator(CHARTS_DRAWN)).to_have_count(3)
    assert page.evaluate("typeof window.Chart") == "function"
    for chart in ("funnel", "weekly", "clinicians"):
        # Chart.js attached a chart to the canvas and painted on it.
        drawn = page.evaluate(
            """kind => {
              const canvas = document.querySelector(`canvas[data-review-chart="${kind}"]`);
              const chart = window.Chart.getChart(canvas);
              if (!chart) return null;
              const {data} = canvas.getContext('2d')
                .getImageData(0, 0, canvas.width, canvas.height);
              let painted = 0;
              for (let i = 3; i < data.length; i += 4) if (data[i]) painted++;
              return {datasets: chart.data.datasets.length, painted};
            }""",
            chart,
        )
        assert drawn and drawn["datasets"] >= 1 and drawn["painted"] > 0, (chart, drawn)
    assert csp_refusals_and_errors(console) == [], console
    # The policy was in force (no bypass in this context): an inline script is refused.
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.__inline = 1'; document.body.append(s); }"""
    )
    assert page.evaluate("window.__inline") is None
    assert any(any(m in line for m in CSP_MARKERS) for line in console), console


# --- 3. Accessibility -------------------------------------------------------------------------

REFLOW_WIDTH = 320  # WCAG 1.4.10: content reflows at 320 CSS pixels, no scrolling sideways

WIDER_THAN_THE_WINDOW = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .filter(e => !e.parentElement.closest('.table-responsive, pre'))
  .slice(0, 5)
  .map(e => `${e.tagName.toLowerCase()}.${e.className} ${e.getBoundingClientRect().right}px`)
"""


def test_the_error_summaries_lead_to_each_field(page, settings, clinician, ximena, referred):
    """Both forms list every message in the alert, each linked to its field; a link to a group
    of radio buttons leads to its first option (the group has no element of its own)."""
    sign_in_as(page, settings, clinician, "/clinician/")
    page.goto(f"/referrals/attendance/{ximena.pk}/new/")
    page.evaluate(
        "() => document.querySelectorAll('input[name=status]').forEach(r => r.checked = false)"
    )
    page.get_by_role("button", name="Save the attendance").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Say whether the client attended or missed.")
    alert.get_by_role("link", name=re.compile(r"^The client")).click()
    expect(page.get_by_role("radio", name="Attended")).to_be_focused()
    alert.get_by_role("link", name=re.compile(r"^Dates of the meetings")).click()
    expect(page.get_by_label("Dates of the meetings")).to_be_focused()

    page.goto(f"/clients/{ximena.pk}/feedback/new/")
    page.get_by_label("Date the client gave the feedback").fill("")
    page.get_by_role("button", name="Document the feedback").click()
    alert = page.get_by_role("alert")
    expect(alert.get_by_role("listitem")).to_have_count(2)
    expect(alert).to_contain_text("Give the date.")
    alert.get_by_role("link", name=re.compile(r"^How often the client goes")).click()
    expect(page.get_by_role("radio", name="Every week or more often")).to_be_focused()
    alert.get_by_role("link", name=re.compile(r"^Date the client gave")).click()
    expect(page.get_by_label("Date the client gave the feedback")).to_be_focused()
    assert not Feedback.objects.exists() and not Attendance.objects.exists()


def test_the_pages_reflow_at_320_pixels(
    new_context, settings, clinician, supervisor, ximena, listings, documented
):
    """WCAG 1.4.10: at 320 CSS pixels nothing but a table (in its own scrolling region) or the
    note's text is wider than the window, so the page never scrolls sideways."""
    PeerContact.objects.create(
        client=ximena, clinic=ximena.clinic, group=listings["x"], first_name="Xime",
        phone="+13235550101", consented_on=timezone.localdate(), recorded_by=clinician,
    )  # fmt: skip
    viewport = {"width": REFLOW_WIDTH, "height": 800}
    wide: dict[str, list[str]] = {}

    def check(page: Page, path: str) -> None:
        page.goto(path)
        page.wait_for_load_state("load")
        found = page.evaluate(WIDER_THAN_THE_WINDOW)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > REFLOW_WIDTH or found:
            wide[path] = [f"page {width}px wide", *found]

    page = new_context(viewport=viewport).new_page()
    sign_in_as(page, settings, clinician, "/clinician/")
    for path in (
        f"/clients/{ximena.pk}/",
        f"/referrals/attendance/{ximena.pk}/new/",
        f"/clients/{ximena.pk}/feedback/new/",
        f"/referrals/record-note/{ximena.pk}/",
        "/clients/peer-contacts/",
    ):
        check(page, path)
    boss = new_context(viewport=viewport).new_page()
    sign_in_as(boss, settings, supervisor, "/supervisor/")
    check(boss, "/referrals/review/")
    expect(boss.locator(CHARTS_DRAWN)).to_have_count(3)
    assert not wide, wide


@pytest.fixture
def scan_page(new_context) -> Page:
    """A page in a context that bypasses the CSP, so that axe's script can run."""
    return new_context(bypass_csp=True).new_page()


def test_attendance_and_feedback_pages_have_no_serious_accessibility_violations(
    scan_page, settings, clinician, site_admin, ximena, listings, referred, documented
):
    """The attendance form (empty, refused), the feedback form (empty, refused) and the client's
    page with attendance (six in a row) and feedback (one flag open, one resolved)."""
    page = scan_page
    scans = Scans(page)
    # A second concern, resolved by the site admin: the page shows both states.
    resolved = feedback_services.record_feedback(
        client=ximena, group=listings["other"], given_on=timezone.localdate(),
        frequency=Feedback.Frequency.ONCE, concern_kinds=[Feedback.Concern.NOT_FULL_MEMBER],
        concerns="Not called on to share.", by=clinician,
    )  # fmt: skip
    directory_services.resolve_flag(
        flag=resolved.review_flag,
        note="Spoke with the group's contact.",
        outcome="unfounded",
        by=site_admin,
    )
    sign_in_as(page, settings, clinician, "/clinician/")

    page.goto(f"/referrals/attendance/{ximena.pk}/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Document self-help attendance")
    scans.scan("attendance form")
    # Refused: a date in the future, a date that is not one, a date given twice, no group.
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    twice = us(tuesdays(8)[0])
    typed = f"{us(tomorrow)}\n2/30/2026\n6/2/26\n{twice}\n{twice}"
    page.get_by_label("Dates of the meetings").fill(typed)
    page.get_by_role("button", name="Save the attendance").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was saved.")
    expect(alert).to_contain_text("Choose the group.")
    expect(alert).to_contain_text("is not a real date")
    expect(alert).to_contain_text("write the year in full")
    expect(alert).to_contain_text("Document meetings that have happened")
    expect(alert).to_contain_text("given twice")
    expect(page.get_by_label("Dates of the meetings")).to_have_value(typed)  # the input is kept
    scans.scan("attendance form, refused (400)")
    # Refused again, for other reasons: already documented, and the meeting on another day.
    group_field(page).select_option(label=X)
    page.get_by_label("Dates of the meetings").fill(us(tuesdays(1)[0] - dt.timedelta(days=1)))
    page.get_by_label("Which meeting").select_option(label=X_MEETING)
    page.get_by_role("button", name="Save the attendance").click()
    expect(page.get_by_role("alert")).to_contain_text("The meeting chosen is on Tuesdays")
    page.get_by_label("Dates of the meetings").fill(us(tuesdays(1)[0]))
    page.get_by_role("button", name="Save the attendance").click()
    expect(page.get_by_role("alert")).to_contain_text("Already documented for this client")
    scans.scan("attendance form, duplicate and weekday refused (400)")
    assert Attendance.objects.count() == 6

    page.goto(f"/clients/{ximena.pk}/feedback/new/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Feedback on a group")
    scans.scan("feedback form")
    page.get_by_label("Date the client gave the feedback").fill("")
    page.get_by_role("button", name="Document the feedback").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")
    expect(page.get_by_text("Give the date.", exact=True)).to_be_visible()
    how_often = "Say how often the client goes to the group."
    expect(page.get_by_text(how_often, exact=True)).to_be_visible()
    scans.scan("feedback form, refused (400)")
    page.get_by_label("Date the client gave the feedback").fill(timezone.localdate().isoformat())
    page.get_by_role("radio", name="Once").check()
    page.get_by_role("button", name="Document the feedback").click()  # empty: nothing said
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")
    scans.scan("feedback form, empty feedback refused (400)")
    assert Feedback.objects.count() == 2

    page.goto(f"/clients/{ximena.pk}/")
    expect(attendance_at(page, X)).to_contain_text("6 of 6")
    states = page.locator("#feedback .review-flag-state")
    expect(states).to_have_count(2)
    resolved_state = states.filter(has_text=re.compile(r"^\s*Resolved"))
    expect(resolved_state).to_contain_text("Spoke with the group's contact.")
    expect(resolved_state).to_contain_text(site_admin.get_full_name())
    expect(states.filter(has_text=re.compile(r"^\s*Open since"))).to_have_count(1)
    scans.scan("client page with attendance and feedback")

    scans.check()
    assert len(scans.scanned) == 7


def test_peer_contacts_and_the_note_have_no_serious_accessibility_violations(
    scan_page, settings, clinician, ximena, listings, referred, documented
):
    """The peer contacts list (active and withdrawn), the note with the Part 2 notice, a note
    without it (another client, a group that is not about substance use), and bad dates."""
    page = scan_page
    scans = Scans(page)
    today = timezone.localdate()
    contact = PeerContact.objects.create(
        client=ximena, clinic=ximena.clinic, group=listings["x"], first_name="Xime",
        phone="+13235550101", consented_on=today - dt.timedelta(days=14), recorded_by=clinician,
    )  # fmt: skip
    other_client = ClientFactory(
        clinic=clinician.clinic, created_by=clinician, first_name="Luis", last_name="Ortega"
    )
    withdrawn = PeerContact.objects.create(
        client=other_client, clinic=other_client.clinic, group=listings["other"],
        first_name="Luis", phone="+13235550102", consented_on=today - dt.timedelta(days=60),
        recorded_by=clinician,
    )  # fmt: skip
    procedure_services.withdraw_peer_contact(contact=withdrawn, by=clinician)
    thursday = today - dt.timedelta(days=(today.weekday() - 3) % 7)
    attendance_services.record_attendance(
        client=other_client, group=listings["other"], dates=[thursday], status="attended",
        by=clinician, today=today,
    )  # fmt: skip
    sign_in_as(page, settings, clinician, "/clinician/")

    page.get_by_role("link", name="Peer contacts (VIII.K)").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Peer contacts")
    table = page.get_by_role("table")
    expect(table.get_by_role("row", name=re.compile("^Xime"))).to_contain_text("Active")
    expect(table.get_by_role("row", name=re.compile("^Luis"))).to_contain_text("Withdrawn")
    expect(page.get_by_role("button", name=f"Withdraw Xime as a contact for {X}")).to_be_visible()
    scans.scan("peer contacts")
    page.get_by_role("button", name=f"Withdraw Xime as a contact for {X}").click()
    expect(page.get_by_role("status")).to_contain_text("The consent was withdrawn")
    contact.refresh_from_db()
    assert contact.status == PeerContact.Status.WITHDRAWN
    scans.scan("peer contacts, after a withdrawal")

    page.goto(f"/referrals/record-note/{ximena.pk}/")
    expect(page.locator(".record-note pre")).to_contain_text("42 CFR PART 2 NOTICE")
    expect(page.get_by_role("note", name="42 CFR Part 2 notice")).to_be_visible()
    scans.scan("note with the Part 2 notice")

    # Luis went to a depression group only: no notice, anywhere on the page.
    page.goto(f"/referrals/record-note/{other_client.pk}/")
    expect(page.locator(".record-note pre")).to_contain_text(f"{OTHER}: attended 1, missed 0")
    expect(page.get_by_text("42 CFR")).to_have_count(0)
    scans.scan("note without the Part 2 notice")

    page.get_by_label("From").fill((today + dt.timedelta(days=3)).isoformat())
    page.get_by_role("button", name="Show this period").click()
    expect(page.get_by_role("alert")).to_contain_text("The note cannot be prepared")
    expect(page.get_by_label("From")).to_have_attribute("aria-invalid", "true")
    scans.scan("note, bad dates (400)")

    scans.check()
    assert len(scans.scanned) == 5


def test_the_review_has_no_serious_accessibility_violations(
    scan_page, settings, clinician, supervisor, documented
):
    """The review with its charts drawn, refused for a bad period (400), and a refused
    sign-off; each message and help text is the description of its field."""
    page = scan_page
    scans = Scans(page)
    sign_in_as(page, settings, supervisor, "/supervisor/")

    page.goto("/referrals/review/")
    expect(page.locator(CHARTS_DRAWN)).to_have_count(3)
    expect(figures_row(page, clinician.get_full_name()).get_by_role("cell").nth(3)).to_have_text(
        "1"
    )  # concerns raised
    scans.scan("review, charts drawn")
    # Printed, the tables that scroll sideways on screen are not cut off at the page's edge.
    page.emulate_media(media="print")
    overflow = page.evaluate(
        "[...document.querySelectorAll('.table-responsive')]"
        ".map(e => getComputedStyle(e).overflowX)"
    )
    assert len(overflow) >= 5 and set(overflow) == {"visible"}, overflow
    page.emulate_media(media="screen")

    response = page.goto("/referrals/review/?start=2026-02-30&end=2026-01-01&weeks=99")
    assert response is not None and response.status == 400
    expect(page.get_by_role("alert")).to_contain_text("The review could not be shown.")
    expect(page.locator("canvas")).to_have_count(0)
    expect(page.get_by_label("From", exact=True)).to_have_accessible_description(
        "Enter a date as YYYY-MM-DD, for example 2026-03-31."
    )
    expect(page.get_by_label("Gap after (weeks)")).to_have_accessible_description(
        re.compile(r"documentation gap \(1 to 26; default 4\).*whole number from 1 to 26")
    )
    scans.scan("review, bad period (400)")

    page.goto("/referrals/review/")
    page.get_by_role("button", name="Sign off").click()  # no clinician chosen
    expect(page.get_by_label("Clinician (required)")).to_have_accessible_description(
        "Choose the clinician whose documentation you reviewed."
    )
    expect(page.get_by_label("Note", exact=True)).to_have_accessible_description(
        "What you reviewed, and anything the clinician should follow up."
    )
    expect(page.locator(CHARTS_DRAWN)).to_have_count(3)
    scans.scan("review, sign-off refused (400)")
    assert not DocumentationSignOff.objects.exists()

    scans.check()
    assert len(scans.scanned) == 3
