"""Referral in a real browser: a clinician adds a client, screens them (IV–VI) with the decision
changing live beside the questions, records the client's input (VIII.B) and refers them to a
group (VIII.C) that is safe under VI.C; axe finds nothing serious or critical on any of the
client and referral pages; the screening can be answered from the keyboard.

The journey runs in a normal browser context, under the strict Content-Security-Policy, so it
also proves that htmx's live decision works under it. axe's script is injected into the page,
which that policy forbids, so the scans (and only they) run in a context that bypasses the CSP
(as in test_accessibility). Sign-in follows the demo's mode (REQUIRE_MFA off, as in
test_directory_manage_browser): a password, then the clinician's home.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from clients.models import Client
from directory.models import Group, Language, Need, ReferralResource, ReviewFlag, ServiceArea
from referrals.models import Referral, ReferredGroup, Screening
from tests.browser.conftest import SIGN_IN_PATH, path_is, sign_in_with_password
from tests.factories.accounts import PASSWORD
from tests.factories.clients import ClientFactory
from tests.factories.directory import GroupFactory
from tests.factories.referrals import ReferralFactory, ScreeningFactory

pytestmark = pytest.mark.browser

SEVERE_IMPACTS = {"serious", "critical"}
DECISION_PATH = re.compile(r"/referrals/screen/\d+/decision/$")

axe = Axe()

# What the screening page's controls are called (their accessible names).
IV_H = "IV.H Support for specific diagnoses"
IV_H_DETAIL = "Which one (IV.H), it helps matching"
NONE_APPLIES = "None of the indications IV.A–H applies"
V_GROUP = "V. Selection criterion"
V_MET = "Met: can be with a group for 20 minutes"
VI_A_GROUP = "VI.A Violence with lack of impulse control"
VI_B_GROUP = "VI.B Expressed disinterest in self-help options after adequate explanation"
VI_B_EXPLAINED = "Self-help options were explained adequately (VIII.A counselling)"
VI_C_GROUP = "VI.C Taking appropriately prescribed psychiatric medication"

# A screening that says "refer", as stored (eligibility.ScreeningAnswers.to_dict).
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


@pytest.fixture
def directory_data():
    """Needs, service areas, languages and listings: two that fit a Spanish-speaking client with
    depression in Metro (SPA 4), two that would fit but are unsafe under VI.C, one unrelated."""
    needs = {
        slug: Need.objects.create(slug=slug, name=name)
        for slug, name in [("depression", "Depression"), ("alcohol", "Alcohol")]
    }
    areas = {
        spa: ServiceArea.objects.create(
            slug=slug, name=name, kind=ServiceArea.Kind.SPA, spa_number=spa, order=spa
        )
        for spa, slug, name in [(4, "metro", "Metro"), (7, "east", "East")]
    }
    areas["countywide"] = ServiceArea.objects.create(
        slug="countywide", name="Los Angeles County", kind=ServiceArea.Kind.COUNTYWIDE, order=9
    )
    languages = {
        code: Language.objects.create(code=code, name=name)
        for code, name in [("en", "English"), ("es", "Spanish")]
    }

    def group(name, *, need="depression", area=4, language="es", **fields):
        made = GroupFactory(name=name, slug=name.lower().replace(" ", "-"), **fields)
        made.needs.add(needs[need])
        made.service_areas.add(areas[area])
        made.languages.add(languages[language])
        return made

    recently = timezone.localdate() - dt.timedelta(days=30)
    groups = {
        "spanish": group(
            "Grupo Depresion Metro",
            medication_stance=Group.MedicationStance.AFFIRMING,
            last_verified_on=recently,
        ),
        "countywide": group("Depression Circle", area="countywide", language="en"),
        # VI.C: a group that discourages medication, and one with an open medication concern.
        "discourages": group(
            "Pill Free Peers", medication_stance=Group.MedicationStance.DISCOURAGES
        ),
        "flagged": group("Flagged Friends"),
        "unrelated": group("Gamblers Table", need="alcohol"),
    }
    ReviewFlag.objects.create(
        group=groups["flagged"],
        source=ReviewFlag.Source.FEEDBACK,
        summary="Members told a client to stop medication",
        concerns_medication=True,
    )
    return {"needs": needs, "areas": areas, "languages": languages, "groups": groups}


def sign_in_as_clinician(page: Page, settings, user) -> None:
    settings.REQUIRE_MFA = False  # the demo's mode: a password, then the role's home
    sign_in_with_password(page, user.username)
    expect(page).to_have_url(path_is("/clinician/"))


# --- Counting what the clinician does ---------------------------------------------------------


@dataclass
class Tally:
    """Screens (full page loads), clicks and keystrokes a clinician makes on the journey.

    ``exploring`` counts apart what the test does only to show the rules at work (VI.A set to
    yes and back): a clinician referring the client would not need it.
    """

    screens: int = 0
    clicks: int = 0
    keystrokes: int = 0
    explore_clicks: int = 0
    live_updates: int = 0
    _exploring: bool = field(default=False, repr=False)

    def watch(self, page: Page) -> None:
        page.on("load", lambda _page: self._loaded())

    def _loaded(self) -> None:
        self.screens += 1

    def _count_clicks(self, n: int = 1) -> None:
        if self._exploring:
            self.explore_clicks += n
        else:
            self.clicks += n

    @contextmanager
    def exploring(self):
        self._exploring = True
        try:
            yield
        finally:
            self._exploring = False

    def click(self, target: Locator) -> None:
        target.click()
        self._count_clicks()

    def type(self, target: Locator, text: str) -> None:
        """A click into the field, then one keystroke per character."""
        target.click()
        self._count_clicks()
        target.press_sequentially(text)
        self.keystrokes += len(text)

    def choose(self, target: Locator, label: str) -> None:
        """A drop-down: one click to open it, one to pick."""
        target.select_option(label=label)
        self._count_clicks(2)

    def snapshot(self) -> tuple[int, int, int]:
        return (self.screens, self.clicks, self.keystrokes)

    def report(self, signed_in: tuple[int, int, int]) -> str:
        screens, clicks, keystrokes = (
            a - b for a, b in zip(self.snapshot(), signed_in, strict=True)
        )
        return (
            f"Journey (referral): {self.screens} screens (page loads), {self.clicks} clicks, "
            f"{self.keystrokes} keystrokes in all; after signing in {screens} screens, "
            f"{clicks} clicks, {keystrokes} keystrokes; {self.live_updates} live decision "
            f"updates without a reload; plus {self.explore_clicks} clicks only to show VI.A "
            "ruling a referral out"
        )


def live(page: Page, action, *, status: int = 200, tally: Tally | None = None):
    """Do what changes an answer and wait for the live decision (htmx) to come back."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and DECISION_PATH.search(r.url) is not None
    ) as response:
        action()
    assert response.value.status == status, response.value.status
    if tally is not None:
        tally.live_updates += 1
    return response.value


def decision(page: Page) -> Locator:
    return page.locator("#decision")


# --- 1. The journey ---------------------------------------------------------------------------


def test_a_new_clinician_adds_screens_and_refers_a_client(
    page, settings, clinician, directory_data, capsys
):
    """The referral journey: sign in, add a client, screen (IV–VI, live), VIII.B, VIII.C.

    VI.C: the client takes prescribed medication, so the group that discourages medication and
    the one with an open medication concern are not suggested, but are shown apart.
    """
    settings.REQUIRE_MFA = False
    tally = Tally()
    tally.watch(page)

    # Sign in.
    page.goto("/")
    expect(page).to_have_url(path_is(SIGN_IN_PATH))
    tally.type(page.get_by_label("Username"), clinician.username)
    tally.type(page.get_by_label("Password"), PASSWORD)
    tally.click(page.get_by_role("button", name="Sign in", exact=True))
    expect(page).to_have_url(path_is("/clinician/"))
    signed_in = tally.snapshot()

    # Clients, from the navigation; add a client.
    tally.click(page.get_by_role("navigation", name="Main").get_by_role("link", name="Clients"))
    expect(page).to_have_url(path_is("/clients/"))
    tally.click(page.get_by_role("link", name="Add a client", exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a client")
    tally.type(page.get_by_label("Clinical record number"), "44551234")
    tally.type(page.get_by_label("First name"), "Rosa")
    tally.type(page.get_by_label("Last name"), "Alvarez")
    tally.choose(page.get_by_label("Preferred language"), "Spanish")
    tally.click(page.get_by_label("On appropriately prescribed psychiatric medication"))
    tally.click(page.get_by_role("button", name="Add the client", exact=True))

    # The client's page.
    expect(page.get_by_role("heading", level=1)).to_have_text("Rosa Alvarez")
    client = Client.objects.get(record_number="44551234")
    expect(page).to_have_url(path_is(f"/clients/{client.pk}/"))
    expect(page.get_by_text("The client was added.")).to_be_visible()
    assert client.preferred_language == "es" and client.on_prescribed_medication
    tally.click(page.get_by_role("link", name="Screen this client").first)

    # The screening: nothing answered yet but VI.C, filled in from the record for confirming.
    screen_url = f"/referrals/screen/{client.pk}/"
    expect(page).to_have_url(path_is(screen_url))
    expect(decision(page)).to_contain_text("Answer the questions")
    expect(
        page.get_by_role("group", name=VI_C_GROUP).get_by_role("radio", name="Yes", exact=True)
    ).to_be_checked()

    live(page, lambda: tally.click(page.get_by_role("checkbox", name=IV_H)), tally=tally)
    live(
        page, lambda: tally.choose(page.get_by_label(IV_H_DETAIL), "Mood disorder: depression"),
        tally=tally,
    )  # fmt: skip
    # IV is met; V and VI.A–B are not answered yet, and the panel says so, clause by clause.
    expect(decision(page)).to_contain_text("Screening incomplete")
    missing = decision(page).locator(".reason-missing")
    expect(missing.filter(has_text="VI.A")).to_have_count(1)
    expect(missing.filter(has_text="VI.B")).to_have_count(1)
    expect(decision(page).locator(".reason-supports").filter(has_text="IV.H")).to_have_count(1)

    live(page, lambda: tally.click(page.get_by_label(V_MET)), tally=tally)
    expect(decision(page)).to_contain_text("Screening incomplete")
    violence = page.get_by_role("group", name=VI_A_GROUP)
    live(
        page, lambda: tally.click(violence.get_by_role("radio", name="No", exact=True)), tally=tally
    )
    expect(decision(page)).to_contain_text("Screening incomplete")
    live(page, lambda: tally.click(page.get_by_label(VI_B_EXPLAINED)), tally=tally)
    expect(decision(page)).to_contain_text("Screening incomplete")
    disinterest = page.get_by_role("group", name=VI_B_GROUP)
    live(
        page,
        lambda: tally.click(disinterest.get_by_role("radio", name="No", exact=True)),
        tally=tally,
    )
    # Every question answered: refer, restricted to medication-safe groups (VI.C).
    expect(decision(page)).to_contain_text("Refer.")
    expect(decision(page)).not_to_contain_text("Screening incomplete")
    expect(decision(page)).to_contain_text(
        "are not suggested; nor are groups with a medication concern"
    )

    # VI.A rules a referral out, and says so; back to no, and it is "refer" again.
    with tally.exploring():
        live(
            page,
            lambda: tally.click(violence.get_by_role("radio", name="Yes", exact=True)),
            tally=tally,
        )
        expect(decision(page)).to_contain_text("Do not refer now")
        expect(decision(page).locator(".reason-blocks").filter(has_text="VI.A")).to_have_count(1)
        live(
            page,
            lambda: tally.click(violence.get_by_role("radio", name="No", exact=True)),
            tally=tally,
        )
        expect(decision(page)).to_contain_text("Refer.")
    expect(page).to_have_url(path_is(screen_url))
    assert not Screening.objects.exists()  # the live decision saves nothing

    tally.click(page.get_by_role("button", name="Save screening"))

    # "Refer": saving goes straight on to the referral's working page.
    screening = Screening.objects.get(client=client)
    referral = Referral.objects.get(screening=screening)
    expect(page).to_have_url(path_is(f"/referrals/{referral.pk}/"))
    assert screening.decision == "refer" and screening.on_prescribed_medication
    # The saved screening keeps the decision and the VI.C restriction (seen in another tab, so
    # that the journey's count stays the clinician's own).
    record = page.context.new_page()
    record.goto(f"/referrals/screenings/{screening.pk}/")
    expect(record.get_by_role("heading", level=1)).to_have_text("Screening of Rosa Alvarez")
    panel = record.get_by_role("region", name="Decision")
    expect(panel).to_contain_text("Refer.")
    expect(panel).to_contain_text("VI.C")
    expect(panel).to_contain_text("are not suggested; nor are groups with a medication concern")
    record.close()
    page.bring_to_front()

    # VIII.B, on the referral's page: the client's goals, location and approval.
    expect(page.get_by_label("Language for the group")).to_have_value("es")
    tally.type(
        page.get_by_label("The client's goals in attending a group, in their words"),
        "Talk with others who live with depression",
    )
    tally.type(page.get_by_label("Or a city, neighbourhood or ZIP code"), "Boyle Heights")
    tally.click(page.get_by_role("button", name="The client approves: save and show the groups"))

    # VIII.C, in place: suggestions with their reasons; VI.C-unsafe groups apart, never among
    # them.
    expect(page.locator("#choose-groups")).to_be_visible()
    expect(page).to_have_url(path_is(f"/referrals/{referral.pk}/"))
    # VI.C, for this medicated client: confirmed-safe groups first, those whose stance is not
    # confirmed apart, below them ("ask before referring").
    suggested = page.get_by_role("group", name=re.compile("^Suggested: confirmed to treat"))
    unconfirmed = page.get_by_role("group", name=re.compile("^Suggested: stance not confirmed"))
    expect(suggested.get_by_role("checkbox")).to_have_count(1)
    best = suggested.get_by_role("checkbox", name="Grupo Depresion Metro")
    expect(best).to_have_accessible_description(re.compile("helps with depression.*Spanish"))
    expect(unconfirmed.get_by_role("checkbox", name="Depression Circle")).to_be_visible()
    for unsafe in ("Pill Free Peers", "Flagged Friends"):
        expect(suggested.get_by_text(unsafe)).to_have_count(0)
        expect(unconfirmed.get_by_text(unsafe)).to_have_count(0)
    not_suitable = page.get_by_role("region", name="Not suitable under VI.C")
    expect(not_suitable.get_by_role("listitem")).to_have_count(2)
    expect(not_suitable).to_contain_text("Pill Free Peers")
    expect(not_suitable).to_contain_text(
        "members encourage clients to stop taking their psychiatric medications"
    )
    expect(not_suitable).to_contain_text("Flagged Friends")
    expect(not_suitable).to_contain_text("an open review flag reports a medication concern")
    expect(page.get_by_text("Gamblers Table")).to_have_count(0)
    tally.click(best)
    tally.click(page.get_by_role("button", name="Refer to the groups picked"))

    # The referral: the group chosen and why.
    expect(page).to_have_url(path_is(f"/referrals/{referral.pk}/"))
    chosen = page.get_by_role("region", name="Groups referred to (VIII.C)")
    expect(chosen.get_by_role("listitem")).to_have_count(1)
    expect(chosen).to_contain_text("Grupo Depresion Metro")
    expect(chosen).to_contain_text("helps with depression")
    expect(chosen).to_contain_text("Spanish")
    expect(page.get_by_role("region", name="The client's input (VIII.B)")).to_contain_text(
        "Metro (Boyle Heights)"
    )

    referral.refresh_from_db()
    assert referral.status == Referral.Status.REFERRED
    assert referral.approval == Referral.Approval.APPROVED
    assert referral.preferred_area == directory_data["areas"][4]  # Boyle Heights is SPA 4
    rows = list(ReferredGroup.objects.filter(referral=referral))
    assert [row.group for row in rows] == [directory_data["groups"]["spanish"]]
    assert any("Spanish" in reason for reason in rows[0].reasons)

    with capsys.disabled():
        print("\n" + tally.report(signed_in))
    assert tally.screens >= 5 and tally.clicks > 0 and tally.keystrokes > 0


# --- 2 and 3. The live decision ---------------------------------------------------------------


@pytest.fixture
def medicated_client(clinician):
    return ClientFactory(
        clinic=clinician.clinic,
        created_by=clinician,
        first_name="Rosa",
        last_name="Alvarez",
        preferred_language="es",
        on_prescribed_medication=True,
    )


def test_the_decision_changes_with_the_answers_without_a_reload(
    page, settings, clinician, medicated_client
):
    """IV, V, VI.A–C: the panel follows the answers, in place; the page is never reloaded."""
    sign_in_as_clinician(page, settings, clinician)
    url = f"/referrals/screen/{medicated_client.pk}/"
    page.goto(url)
    # A mark on the window: a reload would lose it. And the live region the panel is in, which
    # must stay the same element for a screen reader to announce the changes.
    page.evaluate("window.__notReloaded = true")
    page.evaluate(
        "window.__liveRegion = document.getElementById('decision').closest('[aria-live]')"
    )
    before = decision(page).inner_text()

    live(page, lambda: page.get_by_role("checkbox", name=IV_H).check())
    live(page, lambda: page.get_by_label(IV_H_DETAIL).select_option("depression"))
    incomplete = decision(page).inner_text()
    assert "Screening incomplete" in incomplete and incomplete != before

    live(page, lambda: page.get_by_label(V_MET).check())
    live(
        page,
        lambda: page.get_by_role("group", name=VI_A_GROUP).get_by_label("No", exact=True).check(),
    )
    live(page, lambda: page.get_by_label(VI_B_EXPLAINED).check())
    live(
        page,
        lambda: page.get_by_role("group", name=VI_B_GROUP).get_by_label("No", exact=True).check(),
    )
    expect(decision(page)).to_contain_text("Refer.")

    # V not met: no longer "refer", with V among the reasons.
    live(page, lambda: page.get_by_role("group", name=V_GROUP).get_by_label("Not met").check())
    expect(decision(page)).to_contain_text("Do not refer now")
    blocks = decision(page).locator(".reason-blocks .clause-badge")
    expect(blocks).to_have_text(["V"])

    # VI.B after explanation: ruled out too; both reasons are given, not only the first.
    live(
        page,
        lambda: page.get_by_role("group", name=VI_B_GROUP).get_by_label("Yes", exact=True).check(),
    )
    expect(blocks).to_have_text(["V", "VI.B"])

    # VI.C answered "no": still a decision, and no medication restriction in the panel.
    live(page, lambda: page.get_by_role("group", name=V_GROUP).get_by_label(V_MET).check())
    live(
        page,
        lambda: page.get_by_role("group", name=VI_B_GROUP).get_by_label("No", exact=True).check(),
    )
    expect(decision(page)).to_contain_text(
        "are not suggested; nor are groups with a medication concern"
    )
    live(
        page,
        lambda: page.get_by_role("group", name=VI_C_GROUP).get_by_label("No", exact=True).check(),
    )
    expect(decision(page)).to_contain_text("Refer.")
    expect(decision(page)).not_to_contain_text(
        "are not suggested; nor are groups with a medication concern"
    )

    expect(page).to_have_url(path_is(url))
    assert page.evaluate("window.__notReloaded") is True
    # htmx replaced #decision at every answer; the polite live region around it was never replaced.
    assert page.evaluate(
        "window.__liveRegion !== null && window.__liveRegion.isConnected"
        " && document.getElementById('decision').closest('[aria-live]') === window.__liveRegion"
    )
    assert not Screening.objects.exists()


def test_contradictory_answers_get_a_422_partial_in_the_panel(
    page, settings, clinician, medicated_client
):
    """IV: "none of the indications applies" beside an indication cannot be accepted."""
    sign_in_as_clinician(page, settings, clinician)
    page.goto(f"/referrals/screen/{medicated_client.pk}/")
    live(page, lambda: page.get_by_role("checkbox", name=IV_H).check())
    response = live(page, lambda: page.get_by_label(NONE_APPLIES).check(), status=422)
    assert "contradicts the indications recorded" in response.text()

    alert = decision(page).get_by_role("alert")
    expect(alert).to_contain_text("These answers cannot be accepted")
    expect(alert).to_contain_text("contradicts the indications recorded")
    # Untick one of the two: the message goes, and the panel shows a decision again.
    live(page, lambda: page.get_by_label(NONE_APPLIES).uncheck())
    expect(decision(page).get_by_role("alert")).to_have_count(0)
    expect(decision(page)).to_contain_text("Screening incomplete")

    # Saving the contradiction anyway is refused on the page (400), and nothing is saved.
    page.get_by_label(NONE_APPLIES).check()
    page.get_by_role("button", name="Save screening").click()
    expect(page.get_by_text("contradicts the indications recorded").first).to_be_visible()
    assert not Screening.objects.exists()


# --- 4. Accessibility -------------------------------------------------------------------------


@pytest.fixture
def scan_page(new_context) -> Page:
    """A page in a context that bypasses the CSP, so that axe's script can run."""
    return new_context(bypass_csp=True).new_page()


class Scans:
    """Scan each state of a page in turn, and fail once at the end with every finding."""

    def __init__(self, page: Page):
        self.page = page
        self.found: list[str] = []
        self.scanned: list[str] = []

    def scan(self, name: str) -> None:
        self.page.wait_for_load_state("load")  # stylesheets applied: contrast depends on them
        violations = axe.run(self.page).response["violations"]
        self.scanned.append(name)
        for v in violations:
            if v.get("impact") in SEVERE_IMPACTS:
                targets = json.dumps([node.get("target") for node in v.get("nodes", [])[:3]])
                self.found.append(f"{name}: {v['id']} ({v['impact']}): {v['help']} {targets}")

    def check(self) -> None:
        assert not self.found, "serious or critical axe violations:\n" + "\n".join(self.found)


def test_client_pages_have_no_serious_accessibility_violations(
    scan_page, settings, clinician, medicated_client
):
    page = scan_page
    scans = Scans(page)
    sign_in_as_clinician(page, settings, clinician)

    page.goto("/clients/")
    expect(page.get_by_role("link", name="Alvarez, Rosa")).to_be_visible()
    scans.scan("clients list")

    # Find, in place (htmx), then an error in place (422).
    page.get_by_label("Name or clinical record number").fill("alva")
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.get_by_role("region", name="Search results")).to_contain_text("Alvarez")
    scans.scan("find results (in place)")
    page.get_by_label("Name or clinical record number").fill("123")
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#search-results").get_by_role("alert")).to_be_visible()
    scans.scan("find error (in place)")
    # The results page itself, as without JavaScript (submit() skips htmx's handler).
    page.get_by_label("Name or clinical record number").fill("rosa")
    page.locator("form.client-search").evaluate("form => form.submit()")
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a client")
    expect(page.get_by_role("region", name="Search results")).to_contain_text("Alvarez")
    scans.scan("find results page")

    page.goto("/clients/new/")
    scans.scan("new client form")
    page.get_by_label("Clinical record number").fill("12")
    page.get_by_label("Preferred language").select_option(label="Other language")
    page.get_by_role("button", name="Add the client", exact=True).click()
    expect(page.get_by_text("Nothing was saved.")).to_be_visible()
    scans.scan("new client form with errors")

    page.goto(f"/clients/{medicated_client.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Rosa Alvarez")
    scans.scan("client page")
    page.get_by_role("link", name="Edit details").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Edit details")
    scans.scan("edit form")
    page.get_by_label("Last name").fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Nothing was saved.")).to_be_visible()
    scans.scan("edit form with errors")

    scans.check()
    assert len(scans.scanned) == 9


def test_screening_pages_have_no_serious_accessibility_violations(
    scan_page, settings, clinician, medicated_client
):
    page = scan_page
    scans = Scans(page)
    sign_in_as_clinician(page, settings, clinician)

    page.goto(f"/referrals/screen/{medicated_client.pk}/")
    scans.scan("screening page, before any answer")
    live(page, lambda: page.get_by_role("checkbox", name=IV_H).check())
    live(page, lambda: page.get_by_label(IV_H_DETAIL).select_option("depression"))
    expect(decision(page)).to_contain_text("Screening incomplete")
    scans.scan("screening page, incomplete")
    live(page, lambda: page.get_by_label(NONE_APPLIES).check(), status=422)
    expect(decision(page).get_by_role("alert")).to_be_visible()
    scans.scan("screening page, answers refused (422)")
    live(page, lambda: page.get_by_label(NONE_APPLIES).uncheck())
    live(page, lambda: page.get_by_label(V_MET).check())
    live(
        page,
        lambda: page.get_by_role("group", name=VI_A_GROUP).get_by_label("No", exact=True).check(),
    )
    live(page, lambda: page.get_by_label(VI_B_EXPLAINED).check())
    live(
        page,
        lambda: page.get_by_role("group", name=VI_B_GROUP).get_by_label("No", exact=True).check(),
    )
    expect(decision(page)).to_contain_text("Refer.")
    scans.scan("screening page, refer with the VI.C restriction")
    live(
        page,
        lambda: page.get_by_role("group", name=VI_A_GROUP).get_by_label("Yes", exact=True).check(),
    )
    expect(decision(page)).to_contain_text("Do not refer now")
    scans.scan("screening page, do not refer now")

    # Saving with a problem re-shows the page (400) with the message.
    page.get_by_label(NONE_APPLIES).check()
    page.get_by_role("button", name="Save screening").click()
    expect(page.get_by_text("contradicts the indications recorded").first).to_be_visible()
    scans.scan("screening page, refused on saving (400)")

    page.get_by_label(NONE_APPLIES).uncheck()
    page.get_by_role("group", name=VI_A_GROUP).get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Save screening").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Referral of Rosa Alvarez")
    scans.scan("saved screening (refer): the referral's page")
    page.goto(f"/referrals/screenings/{Screening.objects.get(decision='refer').pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Screening of Rosa Alvarez")
    scans.scan("saved screening (refer)")

    # A saved "do not refer now" screening has its own buttons and reasons.
    page.goto(f"/referrals/screen/{medicated_client.pk}/")
    page.get_by_role("checkbox", name=IV_H).check()
    page.get_by_label(IV_H_DETAIL).select_option("depression")
    page.get_by_label(V_MET).check()
    page.get_by_role("group", name=VI_A_GROUP).get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Save screening").click()
    expect(page.get_by_role("link", name="Screen again")).to_be_visible()
    scans.scan("saved screening (do not refer now)")

    scans.check()


@pytest.fixture
def preparing_referral(clinician, medicated_client):
    screening = ScreeningFactory(
        client=medicated_client, screened_by=clinician, answers=REFER_SCREENING
    )
    return ReferralFactory(screening=screening, language="es")


def test_referral_pages_have_no_serious_accessibility_violations(
    scan_page, settings, clinician, directory_data, preparing_referral
):
    page = scan_page
    scans = Scans(page)
    sign_in_as_clinician(page, settings, clinician)
    referral = preparing_referral

    page.goto(f"/referrals/{referral.pk}/")
    scans.scan("referral page, preparing")
    page.goto(f"/referrals/{referral.pk}/client-input/")
    scans.scan("client input")
    page.get_by_label("Or a city, neighbourhood or ZIP code").fill("92614")  # Irvine: Orange County
    page.get_by_label("The client approves the referral").check()
    page.get_by_role("button", name="Save and see suggested groups").click()
    expect(page.get_by_text("outside Los Angeles County")).to_be_visible()
    scans.scan("client input with errors")

    page.get_by_label("Or a city, neighbourhood or ZIP code").fill("90033")
    page.get_by_role("button", name="Save and see suggested groups").click()
    expect(page).to_have_url(path_is(f"/referrals/{referral.pk}/groups/"))
    expect(page.get_by_role("region", name="Not suitable under VI.C")).to_be_visible()
    scans.scan("groups, with suggestions and VI.C exclusions")
    page.get_by_role("button", name="Refer to the groups picked").click()  # none picked: 400
    expect(page.get_by_text("Pick at least one group with the client.")).to_be_visible()
    scans.scan("groups, nothing picked")

    page.get_by_role("checkbox", name="Grupo Depresion Metro").check()
    page.get_by_role("checkbox", name="Depression Circle").check()
    page.get_by_role("button", name="Refer to the groups picked").click()
    expect(page.get_by_role("region", name="Groups referred to (VIII.C)")).to_contain_text(
        "Depression Circle"
    )
    scans.scan("referral page, referred")

    scans.check()


def test_the_share_fallback_has_no_serious_accessibility_violations(
    scan_page, settings, clinician, directory_data, preparing_referral
):
    """VIII.D: no listing fits (here, none shares the client's need), so SHARE! is offered."""
    share = ReferralResource.objects.create(key="share", name="SHARE!")
    share.phones.create(phone="+18777427349", as_printed="1-877-SHARE-49")
    ReferralResource.objects.create(
        key="friendship-line", name="Friendship Line", hours="6:00 p.m.–10:00 p.m."
    )
    Group.objects.exclude(pk=directory_data["groups"]["unrelated"].pk).delete()
    Referral.objects.filter(pk=preparing_referral.pk).update(
        approval=Referral.Approval.APPROVED, preferred_area=directory_data["areas"][4]
    )
    page = scan_page
    scans = Scans(page)
    sign_in_as_clinician(page, settings, clinician)
    page.goto(f"/referrals/{preparing_referral.pk}/groups/")
    fallback = page.get_by_role("region", name=re.compile("ask SHARE! for a current group"))
    expect(fallback).to_contain_text("1-877-SHARE-49")
    expect(fallback).to_contain_text("Friendship Line")
    expect(page.get_by_role("checkbox")).to_have_count(0)
    scans.scan("groups, SHARE! fallback")
    scans.check()


# --- 5. The keyboard --------------------------------------------------------------------------

FOCUS_STYLE = """el => {
  const style = getComputedStyle(el);
  return {outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
}"""


def tab_to(page: Page, target: Locator, *, most: int = 80) -> int:
    """Press Tab until the target has focus; how many presses it took."""
    for presses in range(1, most + 1):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return presses
    raise AssertionError(f"{target} never had focus after {most} Tabs")


def assert_focus_visible(target: Locator) -> None:
    """Focus is shown with the product's outline, not only Bootstrap's faint glow."""
    expect(target).to_be_focused()
    style = target.evaluate(FOCUS_STYLE)
    assert style["outline"] != "none" and style["width"] >= 2, style


def test_the_screening_can_be_answered_from_the_keyboard(
    page, settings, clinician, medicated_client
):
    """IV.H and V with Tab, Space and the arrow keys alone; the focus can always be seen."""
    sign_in_as_clinician(page, settings, clinician)
    page.goto(f"/referrals/screen/{medicated_client.pk}/")

    iv_h = page.get_by_role("checkbox", name=IV_H)
    tab_to(page, iv_h)
    assert_focus_visible(iv_h)
    live(page, lambda: page.keyboard.press("Space"))
    expect(iv_h).to_be_checked()

    detail = page.get_by_label(IV_H_DETAIL)
    page.keyboard.press("Tab")
    assert_focus_visible(detail)
    # "—", then Anxiety disorder, then Mood disorder: depression.
    live(page, lambda: page.keyboard.press("ArrowDown"))
    live(page, lambda: page.keyboard.press("ArrowDown"))
    expect(detail).to_have_value("depression")
    expect(decision(page)).to_contain_text("Screening incomplete")

    # V: Tab enters the radio group at its checked radio; an arrow key moves and answers.
    criterion = page.get_by_role("group", name=V_GROUP)
    not_assessed = criterion.get_by_role("radio", name="Not assessed yet")
    tab_to(page, not_assessed)
    assert_focus_visible(not_assessed)
    live(page, lambda: page.keyboard.press("ArrowRight"))
    met = criterion.get_by_role("radio", name=V_MET)
    expect(met).to_be_checked()
    assert_focus_visible(met)
    expect(decision(page).locator(".reason-missing").filter(has_text="VI.A")).to_have_count(1)
    expect(
        decision(page).locator(".reason-missing").filter(has_text=re.compile(r"^V\b"))
    ).to_have_count(0)

    # VI.A, VI.B and saving, from the keyboard too.
    violence_no = page.get_by_role("group", name=VI_A_GROUP).get_by_role(
        "radio", name="Not assessed yet"
    )
    tab_to(page, violence_no)
    live(page, lambda: page.keyboard.press("ArrowRight"))
    explained = page.get_by_label(VI_B_EXPLAINED)
    tab_to(page, explained)
    live(page, lambda: page.keyboard.press("Space"))
    disinterest = page.get_by_role("group", name=VI_B_GROUP)
    tab_to(page, disinterest.get_by_role("radio", name="Not assessed yet"))
    live(page, lambda: page.keyboard.press("ArrowRight"))
    expect(decision(page)).to_contain_text("Refer.")
    save = page.get_by_role("button", name="Save screening")
    tab_to(page, save)
    assert_focus_visible(save)
    page.keyboard.press("Enter")
    # "Refer": on to the referral's page, the cursor waiting in the place asked first.
    expect(page.get_by_role("heading", level=1)).to_have_text("Referral of Rosa Alvarez")
    expect(page.get_by_label("Or a city, neighbourhood or ZIP code")).to_be_focused()
    assert Screening.objects.get().decision == "refer"
