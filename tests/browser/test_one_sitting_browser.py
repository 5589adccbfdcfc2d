"""A referral in one sitting, counted in a real browser (Chromium, under the strict CSP).

From the clients list to the printed sheet, for a NEW client with one indication and one group:
at most 4 screens, 12 clicks and 5 typed fields; for an EXISTING client with a screening on
file that says "refer": at most 2 screens. The counts are printed.

What is counted (``Tally`` of the referral journey):
- a screen is a full page load of the main frame (the ``load`` event). The clients list is
  where the journey starts: it is open already, and its own load is not counted. Each form
  of the referral's page saves in place (htmx): no load, so no screen;
- a click is a press on a link, button, checkbox or radio; choosing in a drop-down
  (``select_option``) counts as one click (the test below needs none);
- a typed field is a field typed into. The cursor reaches it by the page's autofocus or Tab,
  which is a keystroke, not a click (``type_field``).
The policy is never shortened: the screening answers IV, V and VI (A, B, C), VIII.A is the
counselling recorded at screening, VIII.B needs the client's place and their approval (a
button of its own), and VI.C and II exclusions are not offered.

Also: axe finds nothing serious or critical on the working page in each state, and two tabs
stay consistent: a step sent from a page older than the last save answers 409 in place, says
so, and writes nothing.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from clients.models import Client
from directory.models import Group, Need
from referrals.models import ProcedureStep, Referral
from referrals.rules import eligibility
from referrals.services import referral as referral_services
from referrals.services import screening as screening_services
from tests.browser.conftest import path_is
from tests.browser.test_referrals_browser import (  # the referral journey's data and counting
    V_MET,
    VI_A_GROUP,
    VI_B_EXPLAINED,
    VI_B_GROUP,
    VI_C_GROUP,
    Scans,
    Tally,
    directory_data,  # noqa: F401 (a fixture)
    sign_in_as_clinician,
)
from tests.factories.clients import ClientFactory
from tests.factories.directory import GroupFactory

pytestmark = pytest.mark.browser

IV_C = "IV.C Problems with illness management"
GROUP = "Living Well Circle"  # an English group for illness management in Metro (SPA 4)
RECORD_NUMBER = "55120034"
PLACE = "Boyle Heights"  # in Metro (SPA 4)
SCREENS, CLICKS, TYPED = 4, 12, 5  # the budget, new client
SCREENS_EXISTING = 2
# The card's one-click button; its accessible name ends with the group's (a hidden span).
REFER_ONE = re.compile(rf"^Refer to this group\s*:\s*{GROUP}$")


@pytest.fixture
def one_sitting_data(directory_data):  # noqa: F811
    """The journey's directory, with a group IV.C points to (emotional health) in Metro."""
    need = Need.objects.create(slug="emotional-health", name="Emotional health")
    group = GroupFactory(
        name=GROUP,
        slug="living-well-circle",
        medication_stance=Group.MedicationStance.AFFIRMING,
    )
    group.needs.add(need)
    group.service_areas.add(directory_data["areas"][4])
    group.languages.add(directory_data["languages"]["en"])
    return {**directory_data, "group": group}


class Counted(Tally):
    """The journey's tally, with typed fields counted as fields (the cursor reaches each by
    autofocus or Tab, not by a click)."""

    typed_fields: int = 0

    def type_field(self, page: Page, text: str, *, tab_first: bool = False) -> None:
        if tab_first:
            page.keyboard.press("Tab")
            self.keystrokes += 1
        page.keyboard.type(text)
        self.keystrokes += len(text)
        self.typed_fields += 1

    def counts(self) -> tuple[int, int, int]:
        return (self.screens, self.clicks, self.typed_fields)


def focused_label(page: Page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.labels"
                         " && document.activeElement.labels[0]"
                         " && document.activeElement.labels[0].innerText || ''")  # fmt: skip


def work(page: Page) -> Locator:
    return page.locator("#referral-work")


def stub_print(page: Page) -> None:
    """The print dialogue is the browser's: window.print is only counted (set before any
    page's scripts run, so that the sheet's own call on load is seen), on the page's root
    element too, where a locator can wait for it: waiting on a script expression instead
    makes Playwright evaluate a string in the page, which the site's CSP refuses."""
    page.add_init_script(
        "window.__printed = 0; window.print = () => { window.__printed++;"
        " document.documentElement.dataset.printed = String(window.__printed); };"
    )


def approve_choose_and_print(page: Page, tally: Counted, referral: Referral) -> None:
    """On the referral's page: the place typed where the cursor waits, the client's approval,
    the one group, then the sheet, printed as it opens."""
    expect(page).to_have_url(path_is(f"/referrals/{referral.pk}/"))
    expect(page.locator("#id_location_text")).to_be_focused()
    tally.type_field(page, PLACE)
    tally.click(page.get_by_role("button", name="The client approves: save and show the groups"))
    choose = page.get_by_role("region", name=re.compile(r"Choose groups with the client"))
    expect(choose).to_be_focused()
    expect(choose).to_contain_text(GROUP)
    # VI.C: the group that discourages medication is never offered.
    expect(choose.get_by_role("button", name=re.compile("Pill Free Peers"))).to_have_count(0)
    tally.click(choose.get_by_role("button", name=REFER_ONE))
    expect(work(page).get_by_role("link", name="Print the client's sheet")).to_be_visible()
    expect(page).to_have_url(path_is(f"/referrals/{referral.pk}/"))
    tally.click(work(page).get_by_role("link", name="Print the client's sheet"))
    expect(page).to_have_url(re.compile(rf"/referrals/{referral.pk}/sheet/#print$"))
    expect(page.locator("article.client-sheet")).to_contain_text(GROUP)
    expect(page.locator("html")).to_have_attribute("data-printed", "1")


def test_a_new_client_is_referred_in_four_screens(
    page, settings, clinician, one_sitting_data, capsys
):
    """The budget for a new client with one indication and one group: ≤ 4 screens, ≤ 12
    clicks, ≤ 5 typed fields, from the clients list to the printed sheet."""
    stub_print(page)
    sign_in_as_clinician(page, settings, clinician)
    page.goto("/clients/")
    tally = Counted()
    tally.watch(page)  # from here: the clients list is open, its load not counted

    tally.click(page.get_by_role("link", name="Add a client", exact=True))
    expect(page.get_by_label("Clinical record number")).to_be_focused()
    tally.type_field(page, RECORD_NUMBER)
    tally.type_field(page, "Dana", tab_first=True)
    tally.type_field(page, "Okafor", tab_first=True)
    tally.click(page.get_by_role("button", name="Add the client and screen"))
    client = Client.objects.get(record_number=RECORD_NUMBER)
    expect(page).to_have_url(path_is(f"/referrals/screen/{client.pk}/"))

    # IV, V and VI (A, B with the explanation, which is VIII.A's counselling, and C).
    tally.click(page.get_by_role("checkbox", name=IV_C))
    tally.click(page.get_by_label(V_MET))
    for group in (VI_A_GROUP, VI_B_GROUP, VI_C_GROUP):
        if group == VI_B_GROUP:
            tally.click(page.get_by_label(VI_B_EXPLAINED))
        tally.click(
            page.get_by_role("group", name=group).get_by_role("radio", name="No", exact=True)
        )
    expect(page.locator("#decision")).to_contain_text("Refer.")
    tally.click(page.get_by_role("button", name="Save screening"))
    referral = Referral.objects.get(client=client)

    approve_choose_and_print(page, tally, referral)
    referral.refresh_from_db()
    assert referral.status == Referral.Status.REFERRED and referral.approval == "approved"
    assert list(referral.groups.values_list("group__name", flat=True)) == [GROUP]
    steps = dict(referral.steps.values_list("code", "status"))
    assert steps["VIII.A"] == steps["VIII.B"] == ProcedureStep.Status.DONE

    screens, clicks, typed = tally.counts()
    with capsys.disabled():
        print(
            f"\nOne sitting, new client (clients list to printed sheet): {screens} screens, "
            f"{clicks} clicks, {typed} typed fields ({tally.keystrokes} keystrokes); "
            f"budget {SCREENS}/{CLICKS}/{TYPED}; before: 8 screens, 14 loads, 27 clicks"
        )
    assert screens <= SCREENS and clicks <= CLICKS and typed <= TYPED, tally.counts()


def screened_client(clinician, *, first="Ines", last="Mora") -> Referral:
    """A client screened "refer" earlier: saving the screening started their draft."""
    client = ClientFactory(
        clinic=clinician.clinic, created_by=clinician, first_name=first, last_name=last,
        preferred_language="en",
    )  # fmt: skip
    answers = eligibility.ScreeningAnswers.from_dict(
        {
            "indications": [{"code": "IV.C", "detail": ""}],
            "no_indication_found": False,
            "selection_criterion": "met",
            "violence_without_impulse_control": "no",
            "expressed_disinterest": "no",
            "explanation_given": True,
            "on_prescribed_medication": "no",
        }
    )
    screening = screening_services.record_screening(client=client, answers=answers, by=clinician)
    return referral_services.start_referral(screening=screening, by=clinician)


def test_an_existing_screened_client_is_referred_in_two_screens(
    page, settings, clinician, one_sitting_data, capsys
):
    referral = screened_client(clinician)
    stub_print(page)
    sign_in_as_clinician(page, settings, clinician)
    page.goto("/clients/")
    tally = Counted()
    tally.watch(page)

    tally.click(page.get_by_role("link", name="Continue the referral of Ines Mora"))
    approve_choose_and_print(page, tally, referral)
    screens, clicks, typed = tally.counts()
    with capsys.disabled():
        print(
            f"\nOne sitting, a client screened before: {screens} screens, {clicks} clicks, "
            f"{typed} typed fields; budget {SCREENS_EXISTING} screens"
        )
    assert screens <= SCREENS_EXISTING, tally.counts()


# --- In place, two tabs, and axe -------------------------------------------------------------


def test_a_step_from_an_older_tab_answers_409_in_place_and_writes_nothing(
    page, settings, clinician, one_sitting_data
):
    """Two tabs on one referral: tab A records VIII.E; tab B, loaded before, records VIII.F:
    refused (409) in place, with the message beside the step, F not recorded; the address
    stays the referral's and a reload shows the page (no fragment, nothing sent again)."""
    referral = screened_client(clinician)
    sign_in_as_clinician(page, settings, clinician)
    url = f"/referrals/{referral.pk}/"
    page.goto(url)
    page.locator("#id_location_text").fill(PLACE)
    page.get_by_role("button", name="The client approves: save and show the groups").click()
    page.get_by_role("button", name=REFER_ONE).click()
    expect(page.locator("#step-e")).to_be_visible()

    other = page.context.new_page()
    other.goto(url)
    page.bring_to_front()
    page.locator("#step-e").get_by_role("button", name="Given to the client").click()
    expect(page.locator("#step-e .badge", has_text="Done")).to_have_count(1)
    expect(page.locator("#step-f")).to_be_focused()  # focus moved on to the next step

    other.bring_to_front()
    other.locator("#step-f").get_by_role("button", name="Etiquette discussed").click()
    alert = other.locator("#step-f").get_by_role("alert")
    expect(alert).to_contain_text("changed in another tab or by someone else")
    expect(alert).to_contain_text("The page now shows the current state")
    expect(other.locator("#step-e .badge", has_text="Done")).to_have_count(1)  # current state
    expect(other).to_have_url(path_is(url))
    assert ProcedureStep.objects.get(referral=referral, code="VIII.F").status == "pending"

    # Now current, the same click records it; a reload shows the whole page again.
    other.locator("#step-f").get_by_role("button", name="Etiquette discussed").click()
    expect(other.locator("#step-f .badge", has_text="Done")).to_have_count(1)
    other.reload()
    expect(other.get_by_role("heading", level=1)).to_contain_text("Referral of")
    expect(other.locator("#step-f .badge", has_text="Done")).to_have_count(1)


def test_bad_input_is_shown_in_place_and_kept(page, settings, clinician, one_sitting_data):
    """400 in place: approving without a place says what is missing beside the field; what
    was typed stays."""
    referral = screened_client(clinician)
    sign_in_as_clinician(page, settings, clinician)
    page.goto(f"/referrals/{referral.pk}/")
    page.get_by_label("The client's goals in attending a group, in their words").fill("Company")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="The client approves: save and show the groups").click()
    assert answer.value.status == 400
    expect(page.locator("#step-errors")).to_be_focused()
    expect(page.locator("#input")).to_contain_text("Give the most convenient location")
    expect(
        page.get_by_label("The client's goals in attending a group, in their words")
    ).to_have_value("Company")
    expect(page).to_have_url(path_is(f"/referrals/{referral.pk}/"))
    referral.refresh_from_db()
    assert referral.approval == "pending"


@pytest.fixture
def scan_page(new_context) -> Page:
    """A page in a context that bypasses the CSP, so that axe's script can run."""
    return new_context(bypass_csp=True).new_page()


def test_the_working_page_has_no_serious_accessibility_violations(
    scan_page, settings, clinician, one_sitting_data
):
    page = scan_page
    scans = Scans(page)
    referral = screened_client(clinician)
    sign_in_as_clinician(page, settings, clinician)
    page.goto(f"/referrals/{referral.pk}/")
    scans.scan("just screened: the client's input")
    page.get_by_role("button", name="The client approves: save and show the groups").click()
    expect(page.locator("#step-errors")).to_be_visible()
    scans.scan("input refused in place (400)")
    page.locator("#id_location_text").fill(PLACE)
    page.get_by_role("button", name="The client approves: save and show the groups").click()
    expect(page.locator("#choose-groups")).to_be_visible()
    scans.scan("approved: the groups to choose")
    page.get_by_role("button", name=REFER_ONE).click()
    expect(page.locator("#step-e")).to_be_visible()
    scans.scan("referred: the checklist")
    scans.check()
