"""Hostile input to any form gets a clear 4xx, never a 500, and loses nothing already saved.

Every URL the matrix (``url_matrix.py``) lets someone POST to is fuzzed with hypothesis, as a
person allowed to post there: the form's real fields (read from the page that shows it) get
``HOSTILE`` and generated values, ids are tampered in the fields and the address, and some
examples are valid but for one field so that the code behind a valid form is reached too. The
GET forms' query strings are fuzzed the same way. For every example:

1. never a 5xx (the test client raises a view's exception);
2. a refused request (4xx, or 200 on ``REFUSED_WITH_200``) shows an error (``ERROR_MARKS``);
3. a refused request writes only what ``test_get_is_safe.EXEMPT_TABLES`` allows;
4. no posted markup (``XSS_PROBES``) comes back raw, in the answer or the page it leads to.

CI runs ``FUZZ_EXAMPLES`` (25) per URL with a fixed seed; ``make fuzz``, 2,000 with a random one.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories.accounts import PASSWORD
from tests.factories.clients import AttendanceFactory, FeedbackFactory, PeerContactFactory
from tests.factories.directory import ReviewFlagFactory
from tests.factories.referrals import FollowUpFactory, ReferredGroupFactory
from tests.security import url_matrix as m
from tests.security import world as w
from tests.security.test_get_is_safe import EXEMPT_TABLES, Watch, admin_records

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 25))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # CI: the same examples on every run (a failure is reproducible, never flaky); `make fuzz`
    # explores with a random seed. No example database: nothing is written to the checkout.
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
    database=None,
)

# What a page shows when it refuses something (crispy's field errors, the product's alerts,
# Django's error lists, the review page's inline messages, the 403 and 404 pages' headings).
ERROR_MARKS = (
    "invalid-feedback",
    "alert-danger",
    "errorlist",
    "text-danger",
    'role="alert"',  # the conflict (409) pages: what was saved meanwhile, and that yours was not
    "You do not have access",
    "Page not found",
)

# Markup that, found raw in an HTML page, means a posted value was rendered unescaped (each is
# in HOSTILE, and posted into every text field by check_markup_is_escaped).
XSS_PROBES = (
    b"<script>alert(1)</script>",
    b"<img src=x onerror=alert(1)>",
    b"<script>alert(document.cookie)</script>",
)

# Writes a refused request may make on these pages, beyond EXEMPT_TABLES, and why.
REFUSAL_WRITES = {
    "accounts:two-factor": {"otp_totp_totpdevice": "django-otp counts a wrong code to throttle"},
    "accounts:two-factor-setup": {
        "otp_totp_totpdevice": "django-otp counts a wrong code to throttle"
    },
    "accounts:sign-in": {
        "accounts_signinlock": "a wrong password is counted towards the username's lockout"
    },
    "accounts:backup-codes": {
        "accounts_signinlock": "a wrong password is counted towards the username's lockout"
    },
}

# Pages that answer a refusal with 200 rather than a 4xx, and why. For these a 200 is checked
# as a refusal: the error shown, nothing written.
REFUSED_WITH_200 = {
    "accounts:sign-in": (
        "Django's LoginView shows a refused sign-in again with 200, as "
        "tests/integration/accounts/test_sign_in.py pins; a success is a redirect"
    ),
}

# --- the people who post -------------------------------------------------------------------

# Who posts to each URL: the first of these the matrix allows to POST there. Sign-in is for
# people not signed in; the two-factor pages for people half-way through signing in.
POSTER_PREFERENCE = ("clinician", "supervisor", "site_admin", "superuser", "other_clinic")
POSTER_OVERRIDES = {
    "accounts:sign-in": "anonymous",
    "accounts:two-factor": "unverified",  # a password, an enrolled app, no code yet
    "accounts:two-factor-setup": "unenrolled",  # a password, no app yet
}


def post_urls() -> list[str]:
    """Every URL name some person may POST to (the matrix's ALLOWED for POST)."""
    return sorted(
        name for name, route in m.MATRIX.items() if m.ALLOWED in route.expected("POST").values()
    )


def poster(name: str) -> str:
    if name in POSTER_OVERRIDES:
        return POSTER_OVERRIDES[name]
    allowed = m.MATRIX[name].expected("POST")
    return next(role for role in POSTER_PREFERENCE if allowed[role] == m.ALLOWED)


# --- the world: the matrix's, and records in other states and of another clinic -------------


@dataclass
class FuzzWorld:
    base: w.World
    # For each URL argument kind (the matrix's World keys): the values an address may carry.
    candidates: dict[str, list]
    # Ids a tampered field may carry: another clinic's records, other kinds, nonsense.
    tamper_ids: list[str]
    extra: dict[str, object] = field(default_factory=dict)

    def primary_url(self, name: str) -> str:
        """The URL with the first candidate for each argument (a referral already referred)."""
        route = m.MATRIX[name]
        return reverse(
            name, kwargs={arg: self.candidates[key][0] for arg, key in route.kwargs.items()}
        )

    def url(self, name: str, kwargs: dict | None = None) -> str:
        route = m.MATRIX[name]
        values = self.base.kwargs_for(route)
        values.update(kwargs or {})
        return reverse(name, kwargs=values)


def build_fuzz_world(
    *, base: w.World, clinic, clinician, other_clinic, outsider, superuser
) -> FuzzWorld:
    """The shared world (``base``), and what fuzzing needs beyond it: a referral already
    referred (every form of the procedure shows), one approved and still preparing, a screening
    with no referral, an archived listing, a resolved flag, and another clinic's records for
    tampered ids to point at."""
    from clients.models import Feedback
    from directory.models import Group, ReviewFlag
    from referrals.models import ProcedureStep, Referral
    from tests.factories.clients import ClientFactory
    from tests.factories.directory import GroupFactory, MeetingFactory
    from tests.factories.referrals import ReferralFactory, ScreeningFactory

    group = base.objects["group"]
    today = timezone.localdate()
    now = timezone.now()

    def referred_referral(client, by):
        referral = ReferralFactory(
            screening=ScreeningFactory(client=client, screened_by=by),
            status=Referral.Status.REFERRED,
            approval=Referral.Approval.APPROVED,
            approval_recorded_at=now,
            approval_recorded_by=by,
            referred_at=now,
        )
        ReferredGroupFactory(referral=referral, group=group, chosen_at=now, chosen_by=by)
        followup = FollowUpFactory(
            referral=referral, clinic=client.clinic, clinician=by, due_on=today
        )
        AttendanceFactory(
            client=client,
            clinic=client.clinic,
            group=group,
            on_date=today - timedelta(days=5),
            recorded_by=by,
        )
        # As the services leave a referred referral: the benefits explained (A), the client's
        # approval (B), the follow-ups scheduled (J). Every other step is then waiting, so
        # every form of the procedure shows.
        ProcedureStep.objects.filter(
            referral=referral,
            code__in=[ProcedureStep.Code.A, ProcedureStep.Code.B, ProcedureStep.Code.J],
        ).update(status=ProcedureStep.Status.DONE, completed_by=by, completed_at=now)
        return referral, followup

    # The first clinic: a referral already referred (the procedure's forms all show), one
    # approved and still preparing (the groups page), a screening with no referral yet.
    referred, referred_followup = referred_referral(
        ClientFactory(clinic=clinic, created_by=clinician), clinician
    )
    approved = ReferralFactory(
        screening=ScreeningFactory(
            client=ClientFactory(clinic=clinic, created_by=clinician), screened_by=clinician
        ),
        approval=Referral.Approval.APPROVED,
        approval_recorded_at=now,
        approval_recorded_by=clinician,
    )
    fresh_screening = ScreeningFactory(
        client=ClientFactory(clinic=clinic, created_by=clinician), screened_by=clinician
    )
    # VI.C after the referral: a medicated client's chosen group now discourages medication,
    # so the clinician's decision form shows.
    unsafe_group = GroupFactory(
        slug="unsafe-anonymous",
        name="Unsafe Anonymous",
        medication_stance=Group.MedicationStance.DISCOURAGES,
    )
    unsafe_referral, _ = referred_referral(
        ClientFactory(clinic=clinic, created_by=clinician, on_prescribed_medication=True),
        clinician,
    )
    ReferredGroupFactory(
        referral=unsafe_referral, group=unsafe_group, chosen_at=now, chosen_by=clinician
    )
    unsafe = (unsafe_referral, unsafe_group)
    archived = GroupFactory(slug="archived-anonymous", name="Archived Anonymous")
    archived.archived_at = now
    archived.save()
    MeetingFactory(group=archived)
    resolved = ReviewFlagFactory(
        group=group,
        source=ReviewFlag.Source.ADMIN,
        summary="Resolved already",
        resolved_at=now,
        resolved_by=superuser,
        resolution_note="Checked.",
    )

    # Another clinic's records: what a tampered id points at.
    other_client = ClientFactory(clinic=other_clinic, created_by=outsider)
    other_referral, other_followup = referred_referral(other_client, outsider)
    other_peer = PeerContactFactory(
        client=other_client,
        clinic=other_clinic,
        group=group,
        first_name="Robin",
        phone="+13235550177",
        consented_on=today - timedelta(days=10),
        recorded_by=outsider,
    )
    other_feedback = FeedbackFactory(
        client=other_client,
        clinic=other_clinic,
        group=group,
        given_on=today - timedelta(days=1),
        frequency=Feedback.Frequency.WEEKLY_OR_MORE,
        recorded_by=outsider,
    )
    missing = 2_147_483_000  # an id no record has (and fits every integer column)
    huge = 2**63  # an id no integer column can hold
    candidates = {
        "client": [base.value("client"), referred.client_id, other_client.pk, missing, huge],
        "screening": [
            base.value("screening"),
            fresh_screening.pk,
            other_referral.screening_id,
            missing,
            huge,
        ],
        "referral": [
            referred.pk,
            base.value("referral"),
            approved.pk,
            other_referral.pk,
            missing,
            huge,
        ],
        "followup": [
            referred_followup.pk,
            base.value("followup"),
            other_followup.pk,
            missing,
            huge,
        ],
        "peer_contact": [base.value("peer_contact"), other_peer.pk, missing, huge],
        "flag": [base.value("flag"), resolved.pk, missing, huge],
        # A chosen group (VI.C decision): the referred referral's, one chosen elsewhere.
        "group": [group.pk, unsafe_group.pk, missing, huge],
        "group_slug": [group.slug, archived.slug, "no-such-listing"],
        "resource_key": [base.value("resource_key"), "no-such-resource"],
        "step_letter": [*"abcdefghijk", "z"],
        "change_request": [base.value("change_request"), missing, huge],
        "verify_token": [base.value("verify_token"), "made-up", base.value("verify_token") + "x"],
    }
    tamper_ids = sorted(
        {
            str(pk)
            for pk in (
                other_client.pk,
                other_referral.pk,
                other_referral.screening_id,
                other_followup.pk,
                other_peer.pk,
                other_feedback.pk,
                other_clinic.pk,
                outsider.pk,
                superuser.pk,
                base.value("client"),
                base.value("referral"),
                group.pk,
                archived.pk,
            )
        }
        | {"0", "-1", str(missing), str(2**31), str(2**63), str(-(2**63) - 1), "1e3", "1.0"}
    )
    return FuzzWorld(
        base=base,
        candidates=candidates,
        tamper_ids=tamper_ids,
        extra={
            "referred": referred,
            "approved": approved,
            "archived": archived,
            "unsafe": unsafe,
        },
    )


# Where each POST-only URL's form is shown (the URL itself when its GET is allowed).
def host_urls(name: str, w: FuzzWorld) -> list[str]:
    referred = {"pk": w.extra["referred"].pk}
    archived = {"slug": w.extra["archived"].slug}
    hosts = {
        "referrals:screen-decision": [w.url("referrals:screen")],
        "referrals:start": [w.url("referrals:screening", {"pk": w.candidates["screening"][1]})],
        "clients:peer-contact-withdraw": [w.url("clients:peer-contacts")],
        "clients:find": [w.url("clients:list")],
        "referrals:groups": [w.url("referrals:groups", {"pk": w.extra["approved"].pk})],
        # VI.C: the decision's form shows while a chosen group is ruled out.
        "referrals:vic-decision": [
            w.url(
                "referrals:vic-decision",
                {"pk": w.extra["unsafe"][0].pk, "group_id": w.extra["unsafe"][1].pk},
            )
        ],
        "clients:review-sign-off": [
            w.url("clients:review")
            + "?"
            + "&".join(f"{k}={v}" for k, v in w.base.values["review_period"].items())
        ],
        "directory:group-archive": [w.url("directory:group-edit")],
        "directory:send-link": [w.url("directory:call")],
        "directory:report": [w.url("directory:group")],
        "directory:group-verify": [w.url("directory:group-edit")],
        "directory:group-unarchive": [w.url("directory:group-edit", archived)],
        "accounts:sign-out": [w.url("directory:search")],  # in every page's header
        "accounts:issue-enrolment-code": [w.url("supervisor-home")],  # a button per person
        "admin:index": [],
    }
    procedure = [w.url("referrals:detail", referred)]
    for step in (
        "step-done",
        "step-not-applicable",
        "introduction",
        "advocate",
        "contact-answer",
        "followup-add",
        "followup-done",
        "close",
    ):
        hosts[f"referrals:{step}"] = procedure
    return hosts.get(name, [w.url(name)])


# URLs that take POST but whose page has no form for it, and why they are fuzzed anyway.
NO_FORM = {
    "admin:index": "the admin's index answers POST as GET; fuzzed with made-up fields only",
}


# --- reading forms off a page ---------------------------------------------------------------


@dataclass
class FieldSpec:
    kind: str  # text, textarea, select, checkbox, radio, hidden, file, date, number, ...
    samples: set[str] = field(default_factory=set)
    multiple: bool = False


@dataclass
class FormSpec:
    method: str
    targets: set[str]  # paths the form sends to (action, hx-post)
    fields: dict[str, FieldSpec] = field(default_factory=dict)


PLAUSIBLE = {
    "date": lambda: [
        timezone.localdate().isoformat(),
        (timezone.localdate() - timedelta(days=7)).isoformat(),
    ],
    "number": lambda: ["1", "4"],
    "tel": lambda: ["+13235550188", "(323) 555-0188"],
    "email": lambda: ["someone@example.org"],
    "url": lambda: ["https://example.org/"],
    "time": lambda: ["19:00"],
    "text": lambda: ["Sam", "A short note."],
    "textarea": lambda: ["What the client said.", "2026-01-06\n2026-01-13"],
    "password": lambda: [PASSWORD],
    "search": lambda: ["Reyes"],
}


class FormParser(HTMLParser):
    """The forms of a page: method, where they send, and each field with sample values."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[FormSpec] = []
        self._form: FormSpec | None = None
        self._select: FieldSpec | None = None
        self._textarea: FieldSpec | None = None
        self._text: list[str] = []

    def _path(self, target: str) -> str:
        return urlsplit(urljoin(self.page, target)).path

    def _field(self, name: str, kind: str) -> FieldSpec:
        spec = self._form.fields.setdefault(name, FieldSpec(kind))
        return spec

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            method = a.get("method", "get").lower() or "get"
            targets = {self._path(a.get("action") or self.page)}
            if a.get("hx-post"):
                targets.add(self._path(a["hx-post"]))
                method = "post"
            self._form = FormSpec(method, targets)
            self.forms.append(self._form)
            return
        if self._form is None or not a.get("name"):
            if tag == "option" and self._select is not None:
                self._select.samples.add(a.get("value", ""))
            return
        name = a["name"]
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                self._field(name, "button").samples.add(a.get("value", ""))
                return
            spec = self._field(name, kind)
            if kind in ("checkbox", "radio"):
                spec.samples.add(a.get("value", "on"))
                spec.multiple = spec.multiple or kind == "checkbox"
            elif kind != "file":
                if a.get("value"):
                    spec.samples.add(a["value"])
                spec.samples.update(PLAUSIBLE.get(kind, PLAUSIBLE["text"])())
        elif tag == "select":
            self._select = self._field(name, "select")
            self._select.multiple = "multiple" in a
        elif tag == "textarea":
            self._textarea = self._field(name, "textarea")
            self._textarea.samples.update(PLAUSIBLE["textarea"]())
            self._text = []
        elif tag == "button":
            self._field(name, "button").samples.add(a.get("value", ""))

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text).strip("\n")
            if text:
                self._textarea.samples.add(text)
            self._textarea = None


def url_name(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


def forms_on(html: str, page: str) -> list[FormSpec]:
    parser = FormParser(page)
    parser.feed(html)
    return parser.forms


def discover(prober: m.Prober, role: str, name: str, w: FuzzWorld) -> dict[str, FieldSpec]:
    """The fields of every form, on the pages that show them, that sends to URL ``name``."""
    fields: dict[str, FieldSpec] = {}
    for page in host_urls(name, w):
        probe = prober.send(role, "GET", page)
        assert probe.status == 200, f"the page for {name}, {page}, answered {probe.status}"
        for form in forms_on(probe.body.decode(), page):
            if form.method != "post" or name not in {url_name(t) for t in form.targets}:
                continue
            for field_name, spec in form.fields.items():
                known = fields.setdefault(field_name, FieldSpec(spec.kind, set(), spec.multiple))
                known.samples |= spec.samples
                known.multiple = known.multiple or spec.multiple
    fields.pop("csrfmiddlewaretoken", None)  # the test client does not check CSRF
    return fields


# --- hostile values ------------------------------------------------------------------------

HOSTILE = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</textarea><script>alert(document.cookie)</script>",
    "javascript:alert(1)",
    "{{ request.user.password }}",
    "{% debug %}",
    "${7*7}",
    "%s%s%s%n",
    "' OR '1'='1",
    "1; DROP TABLE clients_client; --",
    '" OR 1=1 --',
    "1 UNION SELECT password FROM accounts_user",
    "\u202eexe.txt\u202c",
    "\u200f\u05e9\u05dc\u05d5\u05dd \u0639\u0627\u0644\u0645",
    "👩🏽‍⚕️🏳️‍🌈👨‍👩‍👧‍👦",
    "e\u0301\u0302\u0303\u0304\u0305\u0306",
    "Z\u0334\u0321\u031b\u0353a\u0337l\u0338g\u0336o\u0335",
    "\r\n\t\x07\x08\x1b[31m\x7f\x85",
    "\ufeffBOM",
    "\uffff\U0010ffff",
    "x" * 10_000,
    "é" * 10_000,
    "9" * 10_000,
    "-1",
    "0",
    "1.5",
    "1e309",
    "NaN",
    "Infinity",
    "٣",
    "１２３",
    str(2**31),
    str(2**63),
    str(-(2**63) - 1),
    "9" * 40,
    "2026-02-30",
    "2026-13-01",
    "0000-00-00",
    "9999-12-31",
    "0001-01-01",
    "31/12/2026",
    "yesterday",
    "25:61",
    "true",
    "None",
    "null",
    "[]",
    '{"a": 1}',
    "../../../etc/passwd",
    "%00",
    "http://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]
MISSING = object()
EXTRA_FIELDS = [
    "clinic",
    "clinic_id",
    "client",
    "client_id",
    "id",
    "pk",
    "version",
    "status",
    "created_by",
    "recorded_by",
    "clinician",
    "is_superuser",
    "next",
    "token",
]

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
hostile = st.one_of(
    st.sampled_from(HOSTILE),
    text,
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def upload(data: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


FILE_CONTENTS = [
    b"",
    b"\x00\x01\x02\xff\xfe",
    b"\xff\xfeN\x00a\x00m\x00e\x00",  # UTF-16
    b"\xc3\x28 not utf-8",
    b"name,slug\n" + b"x" * 100_000,
    b"name,slug,phone\n=cmd|' /C calc'!A0,evil,@SUM(1+1)\n<script>alert(1)</script>,x,\x00\n",
    b'{"name": "\\u0000", "slug": ' + b"[" * 200 + b"]" * 200 + b"}",
    b'[{"name": "<script>", "day": 9, "time": "25:61", "slug": null}]',
    b"[" * 5000,
    b"\xef\xbb\xbfname\n" + "é\u202e".encode() * 1000,
]
files = st.builds(
    upload,
    st.one_of(st.sampled_from(FILE_CONTENTS), st.binary(max_size=200)),
    st.sampled_from(["listings.csv", "meetings.json", "x", "\u202egnp.csv", "a" * 300 + ".csv"]),
)


def value_for(spec: FieldSpec, tamper_ids: list[str]) -> st.SearchStrategy:
    if spec.kind == "file":
        return st.one_of(files, st.just(MISSING), hostile)
    singles = [hostile, st.sampled_from(tamper_ids)]
    if spec.samples:
        valid = st.sampled_from(sorted(spec.samples))
        singles = [valid, valid, *singles]
    single = st.one_of(*singles)
    return st.one_of(single, single, st.lists(single, min_size=2, max_size=4), st.just(MISSING))


def valid_for(spec: FieldSpec) -> st.SearchStrategy:
    if spec.kind == "file":
        return st.builds(upload, st.sampled_from(FILE_CONTENTS), st.just("listings.csv"))
    if not spec.samples:
        return st.just(MISSING)
    valid = st.sampled_from(sorted(spec.samples))
    if spec.multiple:
        return st.lists(valid, min_size=1, max_size=3, unique=True)
    return valid


@st.composite
def bodies(draw, fields: dict[str, FieldSpec], tamper_ids: list[str]):
    """A POST body: all hostile, or valid but for one field (to reach the code behind)."""
    names = sorted(fields)
    mode = draw(st.sampled_from(["hostile", "mostly-valid"])) if names else "hostile"
    if mode == "hostile":
        body = {n: draw(value_for(fields[n], tamper_ids)) for n in names}
    else:
        body = {n: draw(valid_for(fields[n])) for n in names}
        spoilt = draw(st.sampled_from(names))
        body[spoilt] = draw(value_for(fields[spoilt], tamper_ids))
    extra = draw(
        st.dictionaries(
            st.one_of(st.sampled_from(EXTRA_FIELDS), text.filter(bool)),
            st.one_of(st.sampled_from(tamper_ids), hostile),
            max_size=3,
        )
    )
    for key, value in extra.items():
        body.setdefault(key, value)
    return {k: v for k, v in body.items() if v is not MISSING}


def shows_error(body: bytes) -> bool:
    page = body.decode(errors="replace")
    return any(mark in page for mark in ERROR_MARKS)


def html_of(response) -> bytes:
    """The body of an HTML response (a download or a redirect has none to inject into)."""
    if response.streaming or not response.get("Content-Type", "").startswith("text/html"):
        return b""
    return response.content


def raw_markup(*pages: bytes) -> list[bytes]:
    return [probe for page in pages for probe in XSS_PROBES if probe in page]


def inspector(prober: m.Prober, role: str, watch: Watch, allowed: set[str]):
    """Read, inside the request's savepoint: what it wrote, and, when it was accepted and sent
    the browser on (Post/Redirect/Get), the page it was sent to, where a stored value shows."""

    def inspect(response):
        changes = watch.changes(allowed)
        shown = b""
        location = response.get("Location", "")
        if response.status_code in (301, 302, 303) and location.startswith("/"):
            shown = html_of(prober.browser(role).get(location))
        return changes, shown

    return inspect


# --- running it ------------------------------------------------------------------------------

FIGURES: dict[str, Counter] = {}


@pytest.fixture
def special_people(clinic):
    """Half-way through signing in: a password and an enrolled app (``unverified``), or a
    password and no app yet (``unenrolled``)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import Role
    from tests.factories.accounts import UserFactory

    unverified = UserFactory(username="unverified", clinic=clinic, roles=[Role.CLINICIAN])
    TOTPDevice.objects.create(user=unverified, name="Authenticator app", confirmed=True)
    unenrolled = UserFactory(username="unenrolled", clinic=clinic, roles=[Role.CLINICIAN])
    return {"unverified": unverified, "unenrolled": unenrolled}


@pytest.fixture
def fuzz_world(world, clinic, clinician, other_clinic, outsider, superuser):
    return build_fuzz_world(
        base=world,
        clinic=clinic,
        clinician=clinician,
        other_clinic=other_clinic,
        outsider=outsider,
        superuser=superuser,
    )


@pytest.fixture
def prober(people, superuser, special_people, clinic):
    from django.test import Client

    prober = m.Prober(people)
    for role, user in special_people.items():
        browser = Client()
        browser.force_login(user)  # the password step only
        prober.session_keys[role] = browser.session.session_key
    admin_records(clinic=clinic, user=superuser)
    return prober


def address_variants(name: str, w: FuzzWorld) -> st.SearchStrategy:
    """The URL, with each id drawn from the world's candidates (the first is the usual one)."""
    route = m.MATRIX[name]
    if not route.kwargs:
        return st.just(w.primary_url(name))
    choices = {
        arg: st.one_of(st.just(w.candidates[key][0]), st.sampled_from(w.candidates[key]))
        for arg, key in route.kwargs.items()
    }
    return st.fixed_dictionaries(choices).map(lambda kwargs: reverse(name, kwargs=kwargs))


TEXT_KINDS = {"text", "textarea", "search", "email", "tel", "url", "password"}


def check_markup_is_escaped(name, role, fields, w: FuzzWorld, prober, watch, inspect) -> int:
    """Every text field of the form carries markup, the rest are valid: the answer, and the
    page the browser is sent on to when it was saved (where the stored value shows), show it
    escaped, never as markup. Returns the number of requests."""
    for payload in (XSS_PROBES[0], b'"><img src=x onerror=alert(1)>'):
        body = {
            field_name: payload.decode()
            if spec.kind in TEXT_KINDS
            else (sorted(spec.samples)[0] if spec.samples else "")
            for field_name, spec in fields.items()
            if spec.kind != "file"
        }
        watch.start()
        probe = prober.send(role, "POST", w.primary_url(name), body, inspect=inspect)
        assert probe.outcome != m.ERROR, f"POST {name} with markup: {probe.error}"
        _changes, shown = probe.seen
        assert raw_markup(html_of(probe.response), shown) == [], (name, body)
    return 2


@pytest.mark.parametrize("name", post_urls())
def test_fuzz_every_form(name, fuzz_world, prober):
    role = poster(name)
    # May be empty: a button alone (archive, withdraw, sign out). That the form was found at
    # all is test_every_post_url_has_its_form_on_a_page's to prove.
    fields = discover(prober, role, name, fuzz_world)
    watch = Watch()
    allowed = set(EXEMPT_TABLES) | set(REFUSAL_WRITES.get(name, {}))
    inspect = inspector(prober, role, watch, allowed)
    figures = FIGURES.setdefault(name, Counter())
    figures["markup requests"] += check_markup_is_escaped(
        name, role, fields, fuzz_world, prober, watch, inspect
    )

    @FUZZ_SETTINGS
    @given(data=st.data())
    def run(data):
        url = data.draw(address_variants(name, fuzz_world), label="url")
        body = data.draw(bodies(fields, fuzz_world.tamper_ids), label="body")
        watch.start()
        probe = prober.send(role, "POST", url, body, inspect=inspect)
        figures["requests"] += 1
        figures[f"{(probe.status or 500) // 100}xx"] += 1
        assert probe.outcome != m.ERROR, f"POST {url} as {role}: {probe.error or probe.status}"
        changes, shown = probe.seen
        assert raw_markup(html_of(probe.response), shown) == [], f"POST {url}: unescaped"
        if probe.status >= 400 or (probe.status == 200 and name in REFUSED_WITH_200):
            assert shows_error(probe.body), (
                f"POST {url} as {role} refused ({probe.status}) without an error message"
            )
            assert not changes, (
                f"POST {url} as {role} refused ({probe.status}) but wrote: {changes}"
            )
            figures["refused"] += 1

    run()
    assert figures["requests"] >= EXAMPLES


def test_every_post_url_has_its_form_on_a_page(fuzz_world, prober):
    """The fields fuzzed are the real ones: each POST URL's form is found where it is shown
    (and a URL whose form is on no page is declared in NO_FORM with why)."""
    missing = []
    for name in post_urls():
        fields = discover(prober, poster(name), name, fuzz_world)
        found = fields or any(
            name in {url_name(t) for t in form.targets}
            for page in host_urls(name, fuzz_world)
            for form in forms_on(prober.send(poster(name), "GET", page).body.decode(), page)
        )
        if not found and name not in NO_FORM:
            missing.append(name)
    assert missing == [], missing
    assert set(NO_FORM) <= set(post_urls())


def test_every_post_url_is_fuzzed():
    """The fuzz covers exactly the URLs the matrix lets someone POST to: a new form is
    fuzzed as soon as its row is in the matrix (and a POST nobody may send is not a form)."""
    names = post_urls()
    assert len(names) >= 30
    for name in names:
        assert poster(name) in (*m.ROLES, "unverified", "unenrolled")


# --- GET forms: the search, filters and periods ---------------------------------------------

GET_FORM_PAGES = {
    # URL name: who uses it
    "directory:search": "clinician",
    "access-log": "supervisor",
    "clients:review": "supervisor",
    "clients:record-note": "clinician",
    "directory:worklist": "site_admin",
    "clients:list": "clinician",
    "clients:peer-contacts": "clinician",
}
GET_EXTRA_FIELDS = ["page", "show", "q", "start", "end", "weeks", "next", "sort", "format"]


@pytest.mark.parametrize("name", sorted(GET_FORM_PAGES))
def test_fuzz_every_get_form(name, fuzz_world, prober):
    """Query strings: never a 5xx, and (as any GET) nothing written but the exempt tables."""
    role = GET_FORM_PAGES[name]
    page = fuzz_world.url(name)
    fields: dict[str, FieldSpec] = {}
    for form in forms_on(prober.send(role, "GET", page).body.decode(), page):
        if form.method == "get" and name in {url_name(t) for t in form.targets}:
            fields.update(form.fields)
    for extra in GET_EXTRA_FIELDS:
        fields.setdefault(extra, FieldSpec("text", {"1", "2"}))
    watch = Watch()
    figures = FIGURES.setdefault(f"GET {name}", Counter())

    @FUZZ_SETTINGS
    @given(data=st.data())
    def run(data):
        query = data.draw(bodies(fields, fuzz_world.tamper_ids), label="query")
        query = {k: v for k, v in query.items() if isinstance(v, (str, list))}
        query = {
            k: [x for x in v if isinstance(x, str)] if isinstance(v, list) else v
            for k, v in query.items()
        }
        watch.start()
        probe = prober.send(
            role, "GET", page, query, inspect=lambda _r: watch.changes(set(EXEMPT_TABLES))
        )
        figures["requests"] += 1
        figures[f"{(probe.status or 500) // 100}xx"] += 1
        assert probe.outcome != m.ERROR, f"GET {page} {query!r}: {probe.error or probe.status}"
        if probe.status >= 400:
            assert shows_error(probe.body), f"GET {page} refused ({probe.status}) silently"
        assert not probe.seen, f"GET {page} wrote: {probe.seen}"
        assert raw_markup(html_of(probe.response)) == [], f"GET {page} {query!r}: unescaped"

    run()


# --- NUL characters: refused centrally with 400 ---------------------------------------------


class TestNulCharacters:
    """PostgreSQL cannot hold U+0000; a NUL anywhere in a request answers 400 before a view
    can pass it to the database (``core.middleware.RejectNulCharactersMiddleware``)."""

    def test_sign_in_with_a_nul_in_the_username_is_400_not_500(self, client, db):
        # Before the middleware: the lockout's lookup of the name raised DataError on PostgreSQL.
        from accounts.models import AccessEvent

        response = client.post("/account/sign-in/", {"username": "clini\x00cian", "password": "x"})
        assert response.status_code == 400
        assert b"Null characters are not allowed" in response.content
        assert b"Nothing was saved" in response.content
        assert AccessEvent.objects.count() == 0
        # The 400 page carries every security header, as every page does.
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert "no-store" in response.headers["Cache-Control"]

    @pytest.mark.parametrize(
        "where",
        ["form value", "form key", "repeated value", "query", "address", "upload field"],
    )
    def test_a_nul_anywhere_is_refused_and_nothing_is_written(
        self, where, sign_in, clinician, clinic
    ):
        from clients.models import Client

        browser = sign_in(clinician)
        good = {
            "record_number": "555123",
            "first_name": "Ana",
            "last_name": "Reyes",
            "preferred_language": "en",
            "primary_clinician": str(clinician.pk),
            "on_prescribed_medication": "no",
        }
        path = "/clients/new/"
        data = dict(good)
        if where == "form value":
            data["first_name"] = "An\x00a"
        elif where == "form key":
            data["fir\x00st"] = "x"
        elif where == "repeated value":
            data["last_name"] = ["Reyes", "\x00"]
        elif where == "query":
            path += "?x=%00"
        elif where == "address":
            path = "/clients/new/%00/"
        else:
            data["up\x00load"] = SimpleUploadedFile("a.csv", b"x")
        before = Client.objects.count()
        response = browser.post(path, data)
        assert response.status_code == 400, where
        assert b"Null characters are not allowed" in response.content
        assert Client.objects.count() == before

    def test_without_a_nul_the_same_form_saves(self, sign_in, clinician, clinic):
        """The control for the test above: the middleware refuses only the NUL."""
        from clients.models import Client

        response = sign_in(clinician).post(
            "/clients/new/",
            {
                "record_number": "555123",
                "first_name": "Ana",
                "last_name": "Reyes",
                "preferred_language": "en",
                "primary_clinician": str(clinician.pk),
                "on_prescribed_medication": "no",
                "version": "1",
            },
        )
        assert response.status_code == 302, response.content.decode()[-2000:]
        assert Client.objects.filter(record_number="555123").exists()

    def test_a_get_with_a_nul_is_refused(self, sign_in, clinician):
        response = sign_in(clinician).get("/directory/", {"q": "Anon\x00ymous"})
        assert response.status_code == 400
        assert b"Null characters are not allowed" in response.content

    def test_a_session_cookie_with_a_nul_is_no_session(self, client, db, settings):
        # Before accounts.sessions checked the key's characters: DataError (500) on PostgreSQL.
        client.cookies[settings.SESSION_COOKIE_NAME] = "abcdefgh\x00ijklmnop"
        response = client.get("/clients/")
        assert response.status_code == 302
        assert response["Location"].startswith("/account/sign-in/")

    def test_a_real_session_key_still_works(self, sign_in, clinician):
        assert sign_in(clinician).get("/clients/").status_code == 200


# --- what the fuzz found, each pinned by a plain test ----------------------------------------


class TestFoundByFuzzing:
    """Each of these answered 500 (or hung, or said nothing) before its fix."""

    def test_a_conflict_on_a_client_last_saved_by_no_one_shows_the_conflict(
        self, sign_in, clinician, clinic
    ):
        """clients/form.html: a history row with no user (a data migration, a script) made the
        409 page fail (VariableDoesNotExist in a ``default:`` argument): 500, not 409."""
        from clients.models import Client
        from tests.factories.clients import ClientFactory

        client = ClientFactory(clinic=clinic, created_by=clinician, last_name="Reyes")
        assert client.history.get().history_user is None  # made outside any request
        response = sign_in(clinician).post(
            f"/clients/{client.pk}/edit/",
            {
                "record_number": client.record_number,
                "first_name": client.first_name,
                "last_name": "Changed",
                "preferred_language": "en",
                "primary_clinician": str(clinician.pk),
                "version": str(client.version + 1),  # not the version saved: a conflict
            },
        )
        assert response.status_code == 409
        assert b"Someone saved them" in response.content
        assert Client.objects.get(pk=client.pk).last_name == "Reyes"

    @pytest.mark.parametrize("action", ["archive", "verify"])
    @pytest.mark.parametrize("target", ["worklist", "{% debug %}", "javascript:alert(1)"])
    def test_a_next_that_is_not_a_path_goes_to_the_default(
        self, action, target, sign_in, site_admin
    ):
        """directory/views/manage.py ``_next``: ``redirect("worklist")`` looks for a URL
        pattern of that name: NoReverseMatch, 500. Only a path is followed now."""
        from tests.factories.directory import GroupFactory

        group = GroupFactory(slug="next-anonymous")
        response = sign_in(site_admin).post(f"/directory/{group.slug}/{action}/", {"next": target})
        assert response.status_code == 302
        assert response["Location"] == f"/directory/{group.slug}/edit/"

    def test_a_next_that_is_a_path_is_still_followed(self, sign_in, site_admin):
        from tests.factories.directory import GroupFactory

        group = GroupFactory(slug="next-anonymous")
        response = sign_in(site_admin).post(
            f"/directory/{group.slug}/verify/", {"next": "/directory/manage/"}
        )
        assert response["Location"] == "/directory/manage/"

    def test_two_factor_next_that_is_not_a_path_goes_home(self, client, db, clinic):
        """``_safe_next`` (accounts/views/two_factor.py): the same fault on the second step."""
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from accounts.models import Role
        from tests.factories.accounts import UserFactory

        user = UserFactory(username="halfway", clinic=clinic, roles=[Role.CLINICIAN])
        TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
        client.force_login(user)
        response = client.get("/account/two-factor/", {"next": "home"})
        assert response.status_code == 200  # the form, not a 500
        response = client.post("/account/two-factor/?next=worklist", {"token": "000000"})
        assert response.status_code == 400

    @pytest.mark.parametrize("total", ["21", "1000", "99999"])
    def test_a_formset_with_thousands_of_rows_posted_is_refused_at_once(
        self, total, sign_in, site_admin, world
    ):
        """directory/forms.py ``MAX_NEW_ROWS``: a listing's edit with TOTAL_FORMS 99,999 built
        2,000 forms and a 20 MB page in about a minute (resource exhaustion by one request)."""
        import time

        from directory.models import Contact, Group

        group = world.objects["group"]
        data = {
            "contacts-TOTAL_FORMS": total,
            "contacts-INITIAL_FORMS": "0",
            "meetings-TOTAL_FORMS": total,
            "meetings-INITIAL_FORMS": "0",
        }
        started = time.monotonic()
        response = sign_in(site_admin).post(f"/directory/{group.slug}/edit/", data)
        elapsed = time.monotonic() - started
        assert response.status_code == 400
        assert b"Please submit at most" in response.content
        assert len(response.context["contacts"].forms) <= 1 + 20  # the saved rows + 20 new
        assert elapsed < 10, elapsed  # was about 60 s
        assert Contact.objects.filter(group=group).count() == 0
        assert Group.objects.get(pk=group.pk).version == group.version

    def test_twenty_new_rows_are_still_accepted_by_the_form(self, site_admin, world):
        from directory.forms import MAX_NEW_ROWS, ContactFormSetFactory

        group = world.objects["group"]
        data = {"contacts-TOTAL_FORMS": str(MAX_NEW_ROWS), "contacts-INITIAL_FORMS": "0"}
        formset = ContactFormSetFactory(data, instance=group, prefix="contacts")
        formset.is_valid()
        assert formset.non_form_errors() == []
        assert len(formset.forms) == MAX_NEW_ROWS

    @pytest.mark.parametrize("huge", [2**63, -(2**63) - 1, 10**30])
    def test_an_id_no_column_can_hold_matches_nothing(self, huge, db):
        """accounts/lookups.py: ``__in`` with 2**63 raised OverflowError on SQLite."""
        from directory.models import Category

        category = Category.objects.create(slug="kept", name="Kept")
        assert list(Category.objects.filter(pk__in=[huge])) == []
        assert list(Category.objects.filter(pk__in=[huge, category.pk])) == [category]
        assert list(Category.objects.exclude(pk__in=[huge])) == [category]

    def test_a_listing_edit_with_a_category_id_of_2_63_is_refused(self, sign_in, site_admin, world):
        group = world.objects["group"]
        browser = sign_in(site_admin)
        page = browser.get(f"/directory/{group.slug}/edit/")
        data = {}
        for form in forms_on(page.content.decode(), page.request["PATH_INFO"]):
            if form.method == "post" and f"/directory/{group.slug}/edit/" in form.targets:
                data = {n: sorted(f.samples)[0] for n, f in form.fields.items() if f.samples}
        data["categories"] = str(2**63)
        response = browser.post(f"/directory/{group.slug}/edit/", data)
        assert response.status_code == 400
        assert b"invalid-feedback" in response.content or b"alert-danger" in response.content

    def test_resolving_a_flag_already_resolved_says_the_note_was_not_saved(
        self, sign_in, site_admin, superuser
    ):
        """templates/directory/manage/flag_resolve.html: the 409 said only "This flag is
        resolved", not that the note just typed was not saved."""
        from directory.models import ReviewFlag
        from tests.factories.directory import GroupFactory

        flag = ReviewFlagFactory(
            group=GroupFactory(slug="flagged-anonymous"),
            source=ReviewFlag.Source.ADMIN,
            summary="Check",
            resolved_at=timezone.now(),
            resolved_by=superuser,
            resolution_note="Checked by phone.",
        )
        response = sign_in(site_admin).post(
            f"/directory/flags/{flag.pk}/resolve/", {"resolution_note": "Mine"}
        )
        assert response.status_code == 409
        assert b"your note was not saved" in response.content
        flag.refresh_from_db()
        assert flag.resolution_note == "Checked by phone."


# --- the figures ---------------------------------------------------------------------------


def test_the_figures():
    """Printed for docs/SECURITY.md (run the whole module with -rP): URLs fuzzed, examples per
    URL, requests by status class, and the number of 5xx (zero, or the tests above failed)."""
    posts = [n for n in FIGURES if not n.startswith("GET ")]
    gets = [n for n in FIGURES if n.startswith("GET ")]
    total = sum(FIGURES.values(), Counter())
    print(
        f"fuzz: {len(posts)} POST URLs and {len(gets)} GET forms, {EXAMPLES} examples each "
        f"(FUZZ_EXAMPLES), database {connection.vendor}: {total['requests']} requests, "
        f"2xx {total['2xx']}, 3xx {total['3xx']}, 4xx {total['4xx']}, 5xx {total['5xx']}"
    )
    for name in sorted(FIGURES):
        c = FIGURES[name]
        print(
            f"  {name}: {c['requests']} requests, "
            + ", ".join(f"{k} {c[k]}" for k in ("2xx", "3xx", "4xx", "5xx") if c[k])
        )
    if FIGURES:  # run with the fuzz tests above (alone, it has nothing to report)
        assert total["5xx"] == 0
