"""Clinicians doing the referral journey, for locust (headless, on loopback).

``scripts/loadtest.py`` starts gunicorn and runs this file. Each simulated user is one clinician
signed in with a password (the server runs with REQUIRE_MFA=0: a load test has no authenticator
app), working like a person at a browser: it reads each page, sends the form it holds with its
CSRF token and the person's answers, asks for each redirect's target as its own request, and
takes ids only from the pages, never from guesses. One journey:

    worklist → client list → find the client (POST search, by record number) → client page →
    screening form → screening saved ("refer": it lands on the referral's working page) →
    the client's input (VIII.B, approved) from that page → its suggestions (matching) → a
    suggested group chosen → the referral page's checklist → client's sheet → a procedure step
    marked done,

and, one journey in three, a directory search and a group page. Requests are named by page, so
the per-endpoint table has one row per step. Any answer other than the one the step expects (a
4xx or 5xx, a wrong redirect, a page without what the next step needs) is a failure, and the
user starts a new journey.

Environment: ``LOADTEST_ACCOUNTS`` (JSON ``{"password": ..., "usernames": [...]}``; user i is
``usernames[i % len]``), ``LOADTEST_WAIT`` ("min,max" seconds between steps, default "1,3"),
``LOADTEST_UNTIL_EVERY_STEP`` ("1": stop once every step was asked for, a smoke run) and
``LOADTEST_RESULTS`` (a JSON file for the run's figures when locust quits).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

import gevent
from locust import HttpUser, between, events, task
from locust.exception import StopUser
from locust.stats import calculate_response_time_percentile

# random picks which client, area, word or listing a simulated person takes: nothing secret
# (hence the S311/B311 markers below).


def _accounts() -> tuple[str, list[str]]:
    path = os.environ.get("LOADTEST_ACCOUNTS")
    if not path:
        raise RuntimeError("Set LOADTEST_ACCOUNTS to a JSON file with password and usernames.")
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not data.get("usernames"):
        raise RuntimeError(f"{path} lists no usernames.")
    return data["password"], list(data["usernames"])


def _wait_range() -> tuple[float, float]:
    low, _, high = os.environ.get("LOADTEST_WAIT", "1,3").partition(",")
    return float(low), float(high or low)


PASSWORD, USERNAMES = _accounts()
WAIT_MIN, WAIT_MAX = _wait_range()
RESULTS_OUT = os.environ.get("LOADTEST_RESULTS", "")
STOP_WHEN_EVERY_STEP_RAN = os.environ.get("LOADTEST_UNTIL_EVERY_STEP") == "1"
DIRECTORY_EVERY = 3  # "now and then": one journey in three also looks at the directory

# Screening answers whose decision is "refer": IV.A social needs and IV.H depression, V met,
# VI.A and VI.B no with the options explained. IV.A's group types (support, social) and IV.H's
# need (depression) are among the most listed, so matching nearly always suggests a group.
REFER_ANSWERS = {
    "indications": ["IV.A", "IV.H"],
    "detail_iv_a": "peer-support",
    "detail_iv_h": "depression",
    "no_indication_found": None,
    "selection_criterion": "met",
    "violence": "no",
    "explanation_given": "on",
    "disinterest": "no",
}
DIRECTORY_WORDS = ["depression", "anxiety", "support", "family", "alcohol", "grief", ""]

# Every request name the journey uses, in order (scripts/loadtest.py and the test check that
# each one was asked for).
STEPS = (
    "sign-in form",
    "sign in",
    "worklist",
    "client list",
    "client search",
    "client page",
    "screening form",
    "screening (save)",
    "referral page (input)",
    "client input (save)",
    "referral page (groups)",
    "groups (choose)",
    "referral page",
    "client sheet",
    "procedure step (done)",
    "directory search",
    "group page",
)

SIGN_IN_STEPS = ("sign-in form", "sign in")

_user_numbers = itertools.count()
_quitting: list = []  # the greenlet ending a smoke run, once started
JOURNEYS = {"started": 0, "completed": 0, "no_suggestion": 0, "broken": 0, "directory": 0}


# --- reading pages as a browser does -----------------------------------------------------------

_TICKS = ("checkbox", "radio")
_BUTTONS = ("submit", "button", "reset", "image", "file")


@dataclass
class Form:
    action: str
    method: str
    inputs: list[dict] = field(default_factory=list)  # <input> and <textarea>
    selects: dict[str, list[dict]] = field(default_factory=dict)  # name → its <option>s

    def field_names(self) -> set[str]:
        return {i["name"] for i in self.inputs} | set(self.selects)

    def choices(self, name: str) -> list[str]:
        """The values a select, or the checkboxes or radios named ``name``, offer."""
        if name in self.selects:
            return [option["value"] for option in self.selects[name]]
        return [i["value"] for i in self.inputs if i["name"] == name and i["type"] in _TICKS]

    def ticked(self, name: str) -> list[str]:
        return [i["value"] for i in self.inputs if i["name"] == name and i["checked"]]

    def values(self, **answers) -> list[tuple[str, str]]:
        """What the browser sends: the form as shown, with the person's ``answers`` in place of
        what it holds (a value, a list of values, or None to leave the field out)."""
        sent = []
        for item in self.inputs:
            if item["name"] in answers or item["type"] in _BUTTONS:
                continue
            if item["type"] in _TICKS and not item["checked"]:
                continue
            sent.append((item["name"], item["value"]))
        for name, options in self.selects.items():
            if name in answers or not options:
                continue
            chosen = [o["value"] for o in options if o["selected"]] or [options[0]["value"]]
            sent.append((name, chosen[0]))
        for name, answer in answers.items():
            if answer is not None:
                for value in answer if isinstance(answer, list | tuple) else [answer]:
                    sent.append((name, str(value)))
        return sent


class _FormReader(HTMLParser):
    def __init__(self, page_path: str):
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._options: list[dict] | None = None
        self._text: dict | None = None  # the <textarea> or <option> whose text is being read

    def handle_starttag(self, tag, attrs):
        a = {key: value if value is not None else "" for key, value in attrs}
        if tag == "form":
            self._form = Form(a.get("action") or self.page_path, a.get("method", "get").lower())
            self.forms.append(self._form)
            return
        if self._form is None or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            value = a.get("value", "on" if kind in _TICKS else "")
            self._form.inputs.append(
                {"name": a["name"], "type": kind, "value": value, "checked": "checked" in a}
            )
        elif tag == "textarea" and a.get("name"):
            self._text = {"name": a["name"], "type": "textarea", "value": "", "checked": False}
            self._form.inputs.append(self._text)
        elif tag == "select" and a.get("name"):
            self._options = self._form.selects.setdefault(a["name"], [])
        elif tag == "option" and self._options is not None:
            # An <option> without value= sends its text (filled in at its end tag).
            self._text = {"value": a.get("value"), "selected": "selected" in a, "label": ""}
            self._options.append(self._text)

    def handle_data(self, data):
        if self._text is not None:
            self._text["label" if "label" in self._text else "value"] += data

    def handle_endtag(self, tag):
        if tag == "option" and self._text is not None and "label" in self._text:
            if self._text["value"] is None:
                self._text["value"] = self._text["label"].strip()
            self._text = None
        elif tag == "textarea":
            self._text = None
        elif tag == "select":
            self._options = None
        elif tag == "form":
            self._form = None


def forms_of(html: str, page_path: str) -> list[Form]:
    reader = _FormReader(page_path)
    reader.feed(html)
    reader.close()
    return reader.forms


class Missing(Exception):
    """The page answered, but without what the next step needs."""


def post_form(html: str, path: str, needs: str, action: str = "") -> Form:
    """The POST form on the page with a field ``needs`` (and an action matching ``action``)."""
    for form in forms_of(html, path):
        if form.method != "post" or needs not in form.field_names():
            continue
        if action and not re.search(action, form.action):
            continue
        if "csrfmiddlewaretoken" not in form.field_names():
            raise Missing("the form has no CSRF token")
        return form
    raise Missing(f"no form with {needs!r}" + (f" sent to {action}" if action else ""))


def client_rows(html: str) -> list[tuple[str, str]]:
    """(id, record number) of each client in a client table."""
    # The name's cell may also hold "Continue the referral" (a client with a draft).
    return re.findall(
        r'<a href="/clients/(\d+)/">[^<]*</a>(?:(?!</th>).)*</th>\s*<td>(\d+)</td>', html, re.S
    )


def listing_slugs(html: str) -> list[str]:
    return re.findall(r'<a href="/directory/([\w-]+)/">', html)


class JourneyBroken(Exception):
    """A step failed (already recorded as a failure of its request): start a new journey."""


# --- the simulated clinician -------------------------------------------------------------------


class Clinician(HttpUser):
    """One clinician: signs in once, then does the referral journey again and again."""

    wait_time = between(WAIT_MIN, WAIT_MAX)  # between journeys; steps pause the same way

    def on_start(self):
        self.number = next(_user_numbers)
        self.username = USERNAMES[self.number % len(USERNAMES)]
        self.journeys = 0
        try:
            form = self.get(
                "sign-in form", "/account/sign-in/", read=lambda html: self._sign_in_form(html)
            )
            self.post(
                "sign in",
                form,
                {"username": self.username, "password": PASSWORD},
                to=r"^/(clinician/)?$",
            )
        except JourneyBroken:
            raise StopUser() from None

    @staticmethod
    def _sign_in_form(html):
        return post_form(html, "/account/sign-in/", "username")

    # --- requests: each one checks its own answer, and reads what the next step needs ---

    def get(self, name: str, path: str, *, read=None):
        """GET a page (redirects are not followed); what ``read`` finds in it, or its text."""
        with self.client.get(
            path, name=name, allow_redirects=False, catch_response=True
        ) as response:
            return self._check(response, name, 200, "", read)

    def post(self, name: str, form: Form, answers: dict, *, to: str = "", expect=302, read=None):
        """Send a form with the person's answers; the redirect's target, or what ``read`` finds
        in the page that answered."""
        with self.client.post(
            form.action,
            data=form.values(**answers),
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            return self._check(response, name, expect, to, read)

    def _check(self, response, name, expect, to, read):
        if response.status_code != expect:
            response.failure(f"{response.status_code}, expected {expect}")
            raise JourneyBroken(name)
        if expect in (301, 302, 303):
            location = response.headers.get("Location", "")
            if to and not re.search(to, location):
                # The target's path only: an address holds no PHI, but keep reports short.
                response.failure(f"redirected to {location.split('?')[0][:60]}")
                raise JourneyBroken(name)
            return location
        if read is None:
            return response.text
        try:
            return read(response.text)
        except Missing as problem:
            response.failure(str(problem))
            raise JourneyBroken(name) from None

    def pause(self):
        """A person reading the page before the next step."""
        self.wait()

    # --- the journey ---

    @task
    def referral_journey(self):
        JOURNEYS["started"] += 1
        self.journeys += 1
        try:
            if self._journey():
                JOURNEYS["completed"] += 1
        except JourneyBroken:
            JOURNEYS["broken"] += 1
        if (
            STOP_WHEN_EVERY_STEP_RAN
            and not _quitting
            and not _steps_not_requested(self.environment.stats)
        ):
            # A smoke run (the test): done once every step was asked for; -t is only a cap.
            # From another greenlet: quitting stops every user, this one included.
            _quitting.append(gevent.spawn(self.environment.runner.quit))

    def _journey(self) -> bool:
        self.get("worklist", "/clinician/")
        self.pause()

        # The client list: the clinician's own clients, or the clinic's if they have none yet.
        rows, search = self.get("client list", "/clients/", read=_list_and_search(empty_ok=True))
        if not rows:
            rows, search = self.get(
                "client list", "/clients/?show=all", read=_list_and_search(empty_ok=False)
            )
        client_id, record_number = random.choice(rows)  # noqa: S311  # nosec B311
        self.pause()

        # Found by record number, as from a chart; sent by POST (no PHI in an address).
        self.post(
            "client search",
            search,
            {"q": record_number},
            expect=200,
            read=_has(f'href="/clients/{client_id}/"', "the client is not among the results"),
        )
        self.pause()
        self.get("client page", f"/clients/{client_id}/")
        self.pause()

        # IV–VI with answers that refer; VI.C as the form shows it from the client's record.
        path = f"/referrals/screen/{client_id}/"
        screening_form = self.get(
            "screening form", path, read=lambda html: post_form(html, path, "selection_criterion")
        )
        medicated = screening_form.ticked("on_medication") == ["yes"]
        # A screening that refers lands on the referral's working page; each of its forms is
        # posted as without JavaScript (Post/Redirect/Get back to the page).
        referral = self.post(
            "screening (save)",
            screening_form,
            {**REFER_ANSWERS, "on_medication": "yes" if medicated else "no"},
            to=r"^/referrals/\d+/$",
        )
        self.pause()

        # VIII.B: goals, a service area, the language as offered, and the client's approval.
        form = self.get(
            "referral page (input)",
            referral,
            read=lambda html: _client_input_form(html, referral),
        )
        areas = [value for value in form.choices("preferred_area") if value]
        answers = {
            "goals": "Meet people who understand what depression is like.",
            "preferred_area": random.choice(areas),  # noqa: S311  # nosec B311
            "location_text": "",
            "twelve_step": "no-preference",
            "approval": "approved",  # the button "The client approves"
            "declined_reason": "",
        }
        if "counselled" in form.field_names():  # VIII.A not yet recorded: confirm it here
            answers["counselled"] = "on"
        self.post("client input (save)", form, answers, to=r"^/referrals/\d+/(#[\w-]+)?$")
        self.pause()

        # VIII.C: the suggestions on the same page; the client and clinician take the first.
        choose = self.get(
            "referral page (groups)",
            referral,
            read=lambda html: (
                post_form(html, referral, "groups") if 'name="groups"' in html else None
            ),
        )
        if choose is None:
            # Nothing fits: the page refers to SHARE! (VIII.D). Not an error; no sheet then.
            JOURNEYS["no_suggestion"] += 1
            return False
        self.post(
            "groups (choose)",
            choose,
            {"groups": choose.choices("groups")[:1]},
            to=r"^/referrals/\d+/(#[\w-]+)?$",
        )
        self.pause()

        step = self.get(
            "referral page", referral, read=lambda html: _step_done_form(html, referral)
        )
        self.pause()
        self.get("client sheet", referral + "sheet/")
        self.pause()
        self.post(
            "procedure step (done)",
            step,
            {"note": "Given during the referral visit."},
            to=r"^/referrals/\d+/(#[\w-]+)?$",
        )

        if (self.number + self.journeys) % DIRECTORY_EVERY == 1:
            self.pause()
            self.browse_directory()
        return True

    def browse_directory(self):
        JOURNEYS["directory"] += 1
        word = random.choice(DIRECTORY_WORDS)  # noqa: S311  # nosec B311
        slugs = self.get(
            "directory search",
            f"/directory/?q={word}" if word else "/directory/",
            read=listing_slugs,
        )
        if not slugs:  # a word nothing matches: browse the whole list instead
            slugs = self.get("directory search", "/directory/", read=_some(listing_slugs))
        self.pause()
        self.get("group page", f"/directory/{random.choice(slugs)}/")  # noqa: S311  # nosec B311


# --- readers: each finds what the next step needs, or raises Missing ---------------------------


def _list_and_search(*, empty_ok: bool):
    def read(html):
        rows = client_rows(html)
        if not rows and not empty_ok:
            raise Missing("no client of the clinic is listed")
        return rows, post_form(html, "/clients/", "q", action="/clients/find/$")

    return read


def _has(text: str, problem: str):
    def read(html):
        if text not in html:
            raise Missing(problem)
        return html

    return read


def _some(reader):
    def read(html):
        found = reader(html)
        if not found:
            raise Missing("nothing listed")
        return found

    return read


def _client_input_form(html: str, path: str) -> Form:
    # The approval is the submit button pressed (not a field of the form as read).
    form = post_form(html, path, "preferred_area", action="/client-input/$")
    if not [value for value in form.choices("preferred_area") if value]:
        raise Missing("no service area offered")
    return form


def _step_done_form(html: str, path: str) -> Form:
    """The checklist's "done" form for VIII.E (the Client Coalition's contact, open as soon as a
    group is chosen), or else the first step offered."""
    offered = [
        form
        for form in forms_of(html, path)
        if form.method == "post" and re.search(r"/steps/[a-k]/done/$", form.action)
    ]
    if not offered:
        raise Missing("no procedure step can be marked done")
    return next((f for f in offered if f.action.endswith("/steps/e/done/")), offered[0])


@events.quitting.add_listener
def _write_results(environment, **_kwargs):
    """The run's figures, complete: written after the last user stopped (locust's CSV files are
    refreshed once a second and may miss the last requests)."""
    if not RESULTS_OUT:
        return
    stats = environment.stats
    order = {name: i for i, name in enumerate(STEPS)}
    pages = [entry for entry in stats.entries.values() if entry.num_requests or entry.num_failures]
    pages.sort(key=lambda entry: (order.get(entry.name, len(order)), entry.name, entry.method))
    failures = sorted(stats.errors.values(), key=lambda error: -error.occurrences)
    # The same over every page but the sign-in: each user signs in once, and a password hash
    # costs the server a third of a second of CPU, so the ramp-up's sign-ins weigh on the total.
    pages_only = Counter()
    for entry in pages:
        if entry.name not in SIGN_IN_STEPS:
            pages_only.update(entry.response_times)
    counted = sum(pages_only.values())
    results = {
        "total": _figures(stats.total),
        "pages_without_sign_in": {
            "requests": counted,
            "p50_ms": calculate_response_time_percentile(pages_only, counted, 0.5),
            "p95_ms": calculate_response_time_percentile(pages_only, counted, 0.95),
        },
        "endpoints": [_figures(entry) for entry in pages],
        "failures": [
            {
                "name": error.name,
                "method": error.method,
                "error": str(error.error)[:300],
                "occurrences": error.occurrences,
            }
            for error in failures
        ],
        # Errors raised by this file's own code (a bug here, not an answer from the server).
        "exceptions": [
            {"count": row["count"], "message": str(row["msg"])[:300]}
            for row in environment.runner.exceptions.values()
        ],
        "journeys": JOURNEYS,
        "steps_not_requested": _steps_not_requested(stats),
    }
    with open(RESULTS_OUT, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)


def _steps_not_requested(stats) -> list[str]:
    asked = {entry.name for entry in stats.entries.values() if entry.num_requests}
    return [name for name in STEPS if name not in asked]


def _figures(entry) -> dict:
    """Locust's own figures for one row (its percentiles are rounded to 2 significant digits)."""
    return {
        "name": entry.name,
        "method": entry.method,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "p50_ms": entry.get_response_time_percentile(0.5),
        "p95_ms": entry.get_response_time_percentile(0.95),
        "rps": round(entry.total_rps, 2),
    }
