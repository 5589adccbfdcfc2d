"""The role and clinic matrix: who may use each URL of the product, with which method.

``MATRIX`` declares, for every URL pattern (``namespace:name``) and for GET and POST, the outcome
(:func:`classify`) as each of six people (``ROLES``): anonymous; a clinician, a supervisor and a
site admin of the first clinic; ``other_clinic``, clinician and supervisor of another clinic; and a
superuser with no clinic. Every id in a URL names a record of the first clinic (``world.py``), so
the table states deny by default, one permission per view, and tenancy (another clinic's record
answers 404, as a missing one does). It must list exactly the project's URL patterns, so an
undeclared page fails; Django's own admin pages, behind one gate, are represented by their index.
``client_related`` rows name the access-log row a request must write (``Log``); ``TENANCY_KINDS``
mark the tenancy probes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

if TYPE_CHECKING:
    from tests.security.world import World

# --- outcome classes ---------------------------------------------------------------------------

ALLOWED = "allowed"
SIGN_IN = "sign-in"
DENIED = "403"
NOT_FOUND = "404"
NO_METHOD = "405"
ERROR = "5xx"

# What the table may declare (ERROR never is).
DECLARABLE = frozenset({ALLOWED, SIGN_IN, DENIED, NOT_FOUND, NO_METHOD})

ROLES = ("anonymous", "clinician", "supervisor", "site_admin", "other_clinic", "superuser")
METHODS = ("GET", "POST")

# Short names for the table below, one column per role in the order of ROLES.
OK, S, D, N, M = ALLOWED, SIGN_IN, DENIED, NOT_FOUND, NO_METHOD


def sign_in_paths() -> frozenset[str]:
    return frozenset({reverse(settings.LOGIN_URL), reverse("admin-login")})


def classify(response) -> str:
    """The outcome class of a response.

    ``SIGN_IN``: 302 to the sign-in page (or the admin's ``admin-login``) carrying ``next=``, the
    deny-by-default gate; a redirect to sign-in without ``next`` (after signing out) is
    ``ALLOWED``. ``DENIED``: 403, a permission refused or a user without a clinic.
    ``NOT_FOUND``: 404, tenancy or no such record. ``NO_METHOD``: 405. ``ALLOWED``: anything
    else below 500, including 400/409/422 (the request passed every gate and the form or the
    rules answered; the matrix posts an empty body). ``ERROR``: 5xx, never expected.
    """
    status = response.status_code
    if status >= 500:
        return ERROR
    if status in (301, 302, 303, 307, 308):
        location = urlsplit(response.headers.get("Location", ""))
        if location.path in sign_in_paths() and "next" in parse_qs(location.query):
            return SIGN_IN
        return ALLOWED
    return {403: DENIED, 404: NOT_FOUND, 405: NO_METHOD}.get(status, ALLOWED)


# --- the access-log row a client-related request writes --------------------------------------


@dataclass(frozen=True)
class Log:
    """One access-log row: its action, object type, and the World key whose id it names.

    ``key=None``: no one record (a list, a search, a refused create): the id is empty.
    """

    action: str
    object_type: str
    key: str | None = None
    # Logged only when refused (another clinic's record, no permission): a request that
    # shows nothing of the record writes no row when it is let in.
    refused_only: bool = False
    # What a refusal names when it differs: the record asked for (a screening) rather than
    # the one a request let in creates (its referral): its type and World key.
    refused_type: str = ""
    refused_key: str | None = None

    @property
    def type_when_refused(self) -> str:
        return self.refused_type or self.object_type

    def when_refused(self) -> Log:
        return replace(self, object_type=self.type_when_refused, key=self.refused_key or self.key)


@dataclass(frozen=True)
class NotLogged:
    """A client-related URL whose request, with this method, touches no record."""

    why: str


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    get: tuple[str, ...]
    post: tuple[str, ...]
    kwargs: dict[str, str] = field(default_factory=dict)
    client_related: bool = False
    log: dict[str, Log | NotLogged] = field(default_factory=dict)
    query: str | None = None  # a World key: query parameters for GET, body for POST

    def expected(self, method: str) -> dict[str, str]:
        outcomes = self.get if method == "GET" else self.post
        return dict(zip(ROLES, outcomes, strict=True))


def _r(*outcomes: str) -> tuple[str, ...]:
    assert len(outcomes) == len(ROLES), outcomes
    return outcomes


# Shapes that repeat. Columns: anonymous, clinician, supervisor, site_admin, other, superuser.
EVERYONE = _r(OK, OK, OK, OK, OK, OK)
NO_ONE = _r(M, M, M, M, M, M)  # a read-only page open to everyone: POST is no method
# The only pages anonymous people may open: sign-in, the health check, the public directory.
PUBLIC = frozenset(
    {
        "accounts:sign-in",
        "healthz",
        "public:search",
        "public:search-es",
        "public:group",
        "public:group-es",
        "public:meetings",
        # The groups' own corrections (VII.D): suggest a change, the e-mailed link.
        "public:suggest-change",
        "public:verify-link",
    }
)
STAFF = _r(S, OK, OK, OK, OK, OK)  # any signed-in person
STAFF_NO_METHOD = _r(S, M, M, M, M, M)
# The catalogue's management: site admins (and the superuser, who holds every permission).
SITE_ADMIN = _r(S, D, D, OK, D, OK)
SITE_ADMIN_NO_METHOD = _r(S, D, D, M, D, M)
# A page about one client record of the first clinic, for clinicians and supervisors.
RECORD_PAGE = _r(S, OK, OK, D, N, N)
RECORD_PAGE_NO_METHOD = _r(S, M, M, D, M, M)
# A change to one client record of the first clinic: clinicians only.
RECORD_CHANGE = _r(S, OK, D, D, N, N)
RECORD_CHANGE_NO_METHOD = _r(S, M, D, D, M, M)
# A clinic's list (each sees their own clinic's; the superuser's is empty).
CLINIC_LIST = _r(S, OK, OK, D, OK, OK)
CLINIC_LIST_NO_METHOD = _r(S, M, M, D, M, M)
# Supervisors' pages about their own clinic.
SUPERVISOR = _r(S, D, OK, D, OK, OK)
SUPERVISOR_NO_METHOD = _r(S, D, M, D, M, M)

CLIENT = {"pk": "client"}
CLIENT_ID = {"client_id": "client"}
REFERRAL = {"pk": "referral"}
SLUG = {"slug": "group_slug"}


def _viewed(key, object_type):
    return {"GET": Log("view", object_type, key)}


MATRIX: dict[str, Route] = {
    # --- homes and the access log (config/urls.py) ---------------------------------------------
    # Everyone signed in is sent on to their role's home; the superuser to the admin.
    "home": Route(get=STAFF, post=STAFF_NO_METHOD),
    # The clinician's worklist names clients (one "view" row, no one client).
    "clinician-home": Route(
        get=_r(S, OK, D, D, OK, OK),
        post=_r(S, M, D, D, M, M),
        client_related=True,
        log={"GET": Log("view", "client")},
    ),
    "supervisor-home": Route(get=SUPERVISOR, post=SUPERVISOR_NO_METHOD),
    "site-admin-home": Route(get=SITE_ADMIN, post=SITE_ADMIN_NO_METHOD),
    # The log shows staff names, actions and record ids: never a client's name (not PHI).
    "access-log": Route(get=SUPERVISOR, post=SUPERVISOR_NO_METHOD),
    "healthz": Route(get=EVERYONE, post=_r(M, M, M, M, M, M)),
    # What the service is: every signed-in person (the benchmark's floor page).
    "about": Route(get=STAFF, post=STAFF_NO_METHOD),
    # The admin's sign-in is the product's: anonymous people are sent to it; a signed-in
    # person sent here by the admin (not staff) is refused rather than looped.
    "admin-login": Route(get=_r(S, D, D, D, D, D), post=_r(S, D, D, D, D, D)),
    # The admin sends everyone but active staff to its sign-in (above).
    "admin:index": Route(get=_r(S, S, S, S, S, OK), post=_r(S, S, S, S, S, OK)),
    # --- accounts ------------------------------------------------------------------------------
    # Signed-in people are sent home; anonymous ones see the form (an empty POST: 200, errors).
    "accounts:sign-in": Route(get=EVERYONE, post=EVERYONE),
    "accounts:sign-out": Route(get=STAFF, post=STAFF),
    # Both factors done: sent on. (The unverified session's access: tests/integration.)
    "accounts:two-factor": Route(get=STAFF, post=STAFF),
    "accounts:two-factor-setup": Route(get=STAFF, post=STAFF),
    "accounts:backup-codes": Route(get=STAFF, post=STAFF),
    # A supervisor issues an enrolment code to a person of their clinic (the person is in the
    # form: an empty POST is a 400 with the message). GET: 405.
    "accounts:issue-enrolment-code": Route(get=SUPERVISOR_NO_METHOD, post=SUPERVISOR),
    # --- the directory: reading (every role) -----------------------------------------------
    "directory:search": Route(get=STAFF, post=STAFF_NO_METHOD),
    "directory:print": Route(get=STAFF, post=STAFF_NO_METHOD),
    "directory:group": Route(get=STAFF, post=STAFF_NO_METHOD, kwargs=SLUG),
    "directory:export-csv": Route(get=STAFF, post=STAFF_NO_METHOD),
    "directory:export-xlsx": Route(get=STAFF, post=STAFF_NO_METHOD),
    "directory:export-hsds": Route(get=STAFF, post=STAFF_NO_METHOD),
    "directory:meeting-guide": Route(get=STAFF, post=STAFF_NO_METHOD),
    # --- the directory: keeping it current (site admins) ------------------------------------
    "directory:worklist": Route(get=SITE_ADMIN, post=SITE_ADMIN_NO_METHOD),
    "directory:group-create": Route(get=SITE_ADMIN, post=SITE_ADMIN),
    "directory:resources": Route(get=SITE_ADMIN, post=SITE_ADMIN_NO_METHOD),
    "directory:resource-edit": Route(
        get=SITE_ADMIN, post=SITE_ADMIN, kwargs={"key": "resource_key"}
    ),
    "directory:resource-flag-create": Route(
        get=SITE_ADMIN, post=SITE_ADMIN, kwargs={"key": "resource_key"}
    ),
    "directory:flag-resolve": Route(get=SITE_ADMIN, post=SITE_ADMIN, kwargs={"pk": "flag"}),
    "directory:group-edit": Route(get=SITE_ADMIN, post=SITE_ADMIN, kwargs=SLUG),
    "directory:group-archive": Route(get=SITE_ADMIN_NO_METHOD, post=SITE_ADMIN, kwargs=SLUG),
    "directory:group-unarchive": Route(get=SITE_ADMIN_NO_METHOD, post=SITE_ADMIN, kwargs=SLUG),
    "directory:group-verify": Route(get=SITE_ADMIN_NO_METHOD, post=SITE_ADMIN, kwargs=SLUG),
    "directory:group-criteria": Route(get=SITE_ADMIN, post=SITE_ADMIN, kwargs=SLUG),
    "directory:group-history": Route(get=SITE_ADMIN, post=SITE_ADMIN_NO_METHOD, kwargs=SLUG),
    "directory:flag-create": Route(get=SITE_ADMIN, post=SITE_ADMIN, kwargs=SLUG),
    "directory:import": Route(get=SITE_ADMIN, post=SITE_ADMIN),
    "directory:import-progress": Route(get=SITE_ADMIN, post=SITE_ADMIN_NO_METHOD),
    "directory:meeting-guide-import": Route(get=SITE_ADMIN, post=SITE_ADMIN),
    # --- the directory: verification calls, change requests, reports, progress (VII.D) ------
    "referrals:verification-queue": Route(get=SITE_ADMIN, post=SITE_ADMIN_NO_METHOD),
    "directory:call": Route(get=SITE_ADMIN, post=SITE_ADMIN, kwargs=SLUG),
    "directory:send-link": Route(get=SITE_ADMIN_NO_METHOD, post=SITE_ADMIN, kwargs=SLUG),
    "directory:change-requests": Route(get=SITE_ADMIN, post=SITE_ADMIN_NO_METHOD),
    "directory:change-request": Route(
        get=SITE_ADMIN, post=SITE_ADMIN, kwargs={"pk": "change_request"}
    ),
    # Any signed-in person who reads the list may report a listing (an empty POST: 400).
    "directory:report": Route(get=STAFF_NO_METHOD, post=STAFF, kwargs=SLUG),
    # Site admins and supervisors (the other clinic's person is a supervisor too).
    "directory:progress": Route(get=_r(S, D, OK, OK, OK, OK), post=_r(S, D, M, M, M, M)),
    # The groups' own pages: no sign-in (an empty POST: 400, nothing queued).
    "public:suggest-change": Route(get=EVERYONE, post=EVERYONE, kwargs=SLUG),
    "public:verify-link": Route(get=EVERYONE, post=EVERYONE, kwargs={"token": "verify_token"}),
    # --- the public directory (VII.A): open to everyone, read-only ----------------------------
    **{name: Route(get=EVERYONE, post=NO_ONE) for name in ("public:search", "public:search-es")},
    **{
        name: Route(get=EVERYONE, post=NO_ONE, kwargs=SLUG)
        for name in ("public:group", "public:group-es")
    },
    "public:meetings": Route(get=EVERYONE, post=NO_ONE),
    # The waiting-room poster is printed by staff, for any clinic (no client data on it).
    "public:poster": Route(get=STAFF, post=STAFF_NO_METHOD, kwargs={"clinic_id": "clinic"}),
    # --- clients -----------------------------------------------------------------------------
    "clients:list": Route(
        get=CLINIC_LIST,
        post=CLINIC_LIST_NO_METHOD,
        client_related=True,
        log={"GET": Log("view", "client")},
    ),
    # GET: a retyped address is sent to the list. POST: the search (an empty one: 400).
    "clients:find": Route(
        get=CLINIC_LIST,
        post=CLINIC_LIST,
        client_related=True,
        log={
            "GET": NotLogged("sent on to the list, which logs itself"),
            "POST": Log("view", "client"),
        },
    ),
    # The superuser holds add_client but has no clinic to add the client to: 403.
    "clients:new": Route(
        get=_r(S, OK, D, D, OK, D),
        post=_r(S, OK, D, D, OK, D),
        client_related=True,
        log={
            "GET": NotLogged("the blank form touches no record"),
            "POST": Log("create", ""),  # refused (empty): no record was made
        },
    ),
    "clients:detail": Route(
        get=RECORD_PAGE,
        post=RECORD_PAGE_NO_METHOD,
        kwargs=CLIENT,
        client_related=True,
        log=_viewed("client", "client"),
    ),
    "clients:edit": Route(
        get=RECORD_CHANGE,
        post=RECORD_CHANGE,
        kwargs=CLIENT,
        client_related=True,
        log={"GET": Log("view", "client", "client"), "POST": Log("edit", "client", "client")},
    ),
    "clients:feedback-new": Route(
        get=RECORD_CHANGE,
        post=RECORD_CHANGE,
        kwargs=CLIENT,
        client_related=True,
        log={"GET": Log("view", "client", "client"), "POST": Log("create", "client", "client")},
    ),
    # 42 CFR Part 2 consents (an empty POST records one and is refused: "create").
    "clients:part2-consents": Route(
        get=RECORD_CHANGE,
        post=RECORD_CHANGE,
        kwargs=CLIENT,
        client_related=True,
        log={"GET": Log("view", "client", "client"), "POST": Log("create", "client", "client")},
    ),
    "clients:peer-contacts": Route(
        get=CLINIC_LIST,
        post=CLINIC_LIST_NO_METHOD,
        client_related=True,
        log={"GET": Log("view", "peercontact")},
    ),
    "clients:peer-contact-withdraw": Route(
        get=RECORD_CHANGE_NO_METHOD,
        post=RECORD_CHANGE,
        kwargs={"pk": "peer_contact"},
        client_related=True,
        log={"POST": Log("edit", "peercontact", "peer_contact")},
    ),
    # --- referrals: screening (IV–VI), input (VIII.B), groups (VIII.C) ---------------------
    "referrals:screen": Route(
        get=RECORD_CHANGE,
        post=RECORD_CHANGE,
        kwargs=CLIENT_ID,
        client_related=True,
        # The matrix's POST is refused (empty answers): a failed create, of this client.
        log={"GET": Log("view", "client", "client"), "POST": Log("create", "client", "client")},
    ),
    "referrals:screen-decision": Route(
        get=RECORD_CHANGE_NO_METHOD,
        post=RECORD_CHANGE,
        kwargs=CLIENT_ID,
        client_related=True,
        # Nothing is saved and nothing of the client shown: a row only for a refusal.
        log={"POST": Log("view", "client", "client", refused_only=True)},
    ),
    "referrals:screening": Route(
        get=RECORD_PAGE,
        post=RECORD_PAGE_NO_METHOD,
        kwargs={"pk": "screening"},
        client_related=True,
        log=_viewed("screening", "screening"),
    ),
    # The world's screening already has its referral: the POST (a second click) goes on to
    # that referral, which the row names.
    "referrals:start": Route(
        get=RECORD_CHANGE_NO_METHOD,
        post=RECORD_CHANGE,
        kwargs={"pk": "screening"},
        client_related=True,
        log={
            "POST": Log(
                "create", "referral", "referral", refused_type="screening", refused_key="screening"
            )
        },
    ),
    "referrals:detail": Route(
        get=RECORD_PAGE,
        post=RECORD_PAGE_NO_METHOD,
        kwargs=REFERRAL,
        client_related=True,
        log=_viewed("referral", "referral"),
    ),
    "referrals:client-input": Route(
        get=RECORD_CHANGE,
        post=RECORD_CHANGE,
        kwargs=REFERRAL,
        client_related=True,
        log={
            "GET": Log("view", "referral", "referral"),
            "POST": Log("edit", "referral", "referral"),
        },
    ),
    # Before the client's approval (VIII.B) a GET is sent to the input; it is still logged.
    "referrals:groups": Route(
        get=RECORD_CHANGE,
        post=RECORD_CHANGE,
        kwargs=REFERRAL,
        client_related=True,
        log={
            "GET": Log("view", "referral", "referral"),
            "POST": Log("edit", "referral", "referral"),
        },
    ),
    # VIII.C on the referral's page: listings found by name as the clinician types. It shows
    # nothing of the client the page does not, so it writes a row only for a refusal.
    "referrals:find-listing": Route(
        get=RECORD_CHANGE,
        post=RECORD_CHANGE_NO_METHOD,
        kwargs=REFERRAL,
        client_related=True,
        log={"GET": Log("view", "referral", "referral", refused_only=True)},
    ),
    # VI.C after the referral: the decision about a chosen group (clinicians of the clinic).
    "referrals:vic-decision": Route(
        get=RECORD_CHANGE,
        post=RECORD_CHANGE,
        kwargs={"pk": "referral", "group_id": "group"},
        client_related=True,
        log={
            "GET": Log("view", "referral", "referral"),
            "POST": Log("edit", "referral", "referral"),
        },
    ),
    "referrals:sheet": Route(
        get=RECORD_PAGE,
        post=RECORD_PAGE_NO_METHOD,
        kwargs=REFERRAL,
        client_related=True,
        log={"GET": Log("print", "referral", "referral")},
    ),
    # The referral as FHIR for the clinic's health record: its clinicians only.
    "referrals:fhir": Route(
        get=RECORD_CHANGE,
        post=RECORD_CHANGE_NO_METHOD,
        kwargs=REFERRAL,
        client_related=True,
        log={"GET": Log("export", "referral", "referral")},
    ),
    # --- referrals: the procedure VIII.A–K (POST only, clinicians) --------------------------
    **{
        name: Route(
            get=RECORD_CHANGE_NO_METHOD,
            post=RECORD_CHANGE,
            kwargs=kwargs,
            client_related=True,
            log={"POST": Log("edit", "referral", "referral")},
        )
        for name, kwargs in {
            "referrals:step-done": {"pk": "referral", "letter": "step_letter"},
            "referrals:step-not-applicable": {"pk": "referral", "letter": "step_letter"},
            "referrals:introduction": REFERRAL,
            "referrals:advocate": REFERRAL,
            "referrals:contact-answer": REFERRAL,
            "referrals:followup-add": REFERRAL,
            "referrals:followup-done": {"pk": "referral", "followup_id": "followup"},
            "referrals:close": REFERRAL,
        }.items()
    },
    # VIII.J: the clinic's schedule. The superuser (no clinic) is told so: 400, past the gate.
    "referrals:followup-schedule": Route(get=SUPERVISOR, post=SUPERVISOR),
    # --- referrals: documentation (IX) ------------------------------------------------------
    "clients:record-note": Route(
        get=RECORD_PAGE,
        post=RECORD_PAGE_NO_METHOD,
        kwargs=CLIENT_ID,
        client_related=True,
        log={"GET": Log("print", "client", "client")},
    ),
    "clients:record-note-text": Route(
        get=RECORD_PAGE,
        post=RECORD_PAGE_NO_METHOD,
        kwargs=CLIENT_ID,
        client_related=True,
        log={"GET": Log("export", "client", "client")},
    ),
    "clients:attendance-new": Route(
        get=RECORD_CHANGE,
        post=RECORD_CHANGE,
        kwargs=CLIENT_ID,
        client_related=True,
        log={"GET": Log("view", "client", "client"), "POST": Log("create", "client", "client")},
    ),
    # The supervisor's review names clients in its gaps; its row names the period.
    "clients:review": Route(
        get=SUPERVISOR,
        post=SUPERVISOR_NO_METHOD,
        client_related=True,
        query="review_period",
        log={"GET": Log("view", "supervisor-review", "review_period")},
    ),
    "clients:review-export": Route(
        get=SUPERVISOR,
        post=SUPERVISOR_NO_METHOD,
        client_related=True,
        query="review_period",
        log={"GET": Log("export", "supervisor-review", "review_period")},
    ),
    # A refused sign-off (the matrix's empty one) is a failed create of a sign-off.
    "clients:review-sign-off": Route(
        get=SUPERVISOR_NO_METHOD,
        post=SUPERVISOR,
        client_related=True,
        query="review_period",
        log={"POST": Log("create", "documentationsignoff")},
    ),
}

# URL arguments that name a client's record (or part of one): the tenancy probes.
TENANCY_KINDS = frozenset(
    {"client", "screening", "referral", "attendance", "feedback", "followup", "peer_contact"}
)


def tenancy_routes() -> dict[str, Route]:
    return {
        name: route for name, route in MATRIX.items() if TENANCY_KINDS & set(route.kwargs.values())
    }


# --- walking the URL configuration ---------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    name: str | None
    route: str
    arguments: tuple[str, ...]
    callback: object


def url_patterns() -> list[Pattern]:
    """Every URL pattern of the project, namespaces followed, admin pages but its index out."""
    found: list[Pattern] = []

    def walk(patterns, prefix: str, namespace: str | None):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, route, inner)
                continue
            assert isinstance(pattern, URLPattern)
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            callback = pattern.callback
            if getattr(callback, "__module__", "") == "django.views.static":
                continue  # static files (DEBUG only)
            if namespace == "admin" and name != "admin:index":
                continue  # Django's admin, one gate: exercised through its index
            found.append(
                Pattern(
                    name=name,
                    route=route,
                    arguments=tuple(pattern.pattern.converters),
                    callback=callback,
                )
            )

    walk(get_resolver().url_patterns, "", None)
    return found


def review_log_id(world: World) -> str:
    """The access log names the review by its period (``referrals.review.Period.log_id``)."""
    period = world.values["review_period"]
    return f"{period['start']}/{period['end']}"


def expected_object_id(world: World, log: Log) -> str:
    if log.key is None:
        return ""
    if log.key == "review_period":
        return review_log_id(world)
    return str(world.value(log.key))


def converters_named(pattern: Pattern) -> set[str]:
    """The argument names of a route, read from its text (``<int:pk>`` → ``pk``)."""
    return set(re.findall(r"<(?:\w+:)?(\w+)>", pattern.route))


# --- requests, each in a savepoint that is rolled back ---------------------------------------


@dataclass
class Probe:
    outcome: str
    status: int | None
    response: object = None
    body: bytes = b""
    error: str = ""
    seen: object = None  # what ``inspect`` returned, read before the rollback


class Prober:
    """Signs each role in once (both factors, as the real flow leaves them) and sends requests
    whose every write (the view's, the access log's, the session's) is rolled back afterwards,
    so that each request meets the same world whatever was sent before it."""

    def __init__(self, users: dict[str, object | None]):
        from django.test import Client
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        self.session_keys: dict[str, str | None] = {}
        self._browsers: dict[str, object] = {}
        for role, user in users.items():
            if user is None:
                self.session_keys[role] = None
                continue
            browser = Client()
            browser.force_login(user)
            device, _ = TOTPDevice.objects.get_or_create(
                user=user, name="Authenticator app", defaults={"confirmed": True}
            )
            session = browser.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
            self.session_keys[role] = session.session_key

    def browser(self, role: str):
        """The role's browser with only its session cookie (a sign-out or a new session key
        sent by the last request is forgotten). One test client per role: building one loads
        the middleware, whitenoise's scan of the static files included."""
        from http.cookies import SimpleCookie

        from django.test import Client

        browser = self._browsers.get(role)
        if browser is None:
            browser = self._browsers[role] = Client()
        browser.cookies = SimpleCookie()
        key = self.session_keys[role]
        if key is not None:
            browser.cookies[settings.SESSION_COOKIE_NAME] = key
        return browser

    def send(self, role: str, method: str, url: str, data=None, inspect=None) -> Probe:
        from django.db import transaction

        browser = self.browser(role)
        with transaction.atomic():
            try:
                if method == "GET":
                    response = browser.get(url, data or {})
                else:
                    response = browser.post(url, data or {})
            except Exception as error:  # a 500: the test client re-raises the view's error
                transaction.set_rollback(True)
                return Probe(ERROR, None, error=f"{type(error).__name__}: {error}")
            # A streamed export is read here, while its queries still see the world.
            body = b"".join(response.streaming_content) if response.streaming else response.content
            probe = Probe(classify(response), response.status_code, response, body)
            if inspect is not None:
                probe.seen = inspect(response)
            transaction.set_rollback(True)
        return probe
