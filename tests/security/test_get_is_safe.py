"""GET never changes the database: writes happen only when someone sends a form.

Every URL of the matrix (real ids of the first clinic) and every admin page it leaves out
(``admin_urls``) is requested with GET as each of the matrix's six people and an
``unenrolled`` seventh (password, no second factor yet). Around each request, every table's row
count and a row-trigger write log (:class:`WriteTracker`, which also sees a changed row) must
show nothing but ``EXEMPT_TABLES`` (the access log, the session's idle timer) and the one page's
write declared in ``GET_WRITES``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

from tests.security import url_matrix as m
from tests.security import world as w

# Tables any request may write, GET included, and why. Everything else must stay as it was.
EXEMPT_TABLES = {
    "accounts_accessevent": "the access log: each view of a client's record writes one row",
    "accounts_staffsession": "the session: last activity (idle limit), messages, sign-out",
}

# One GET that writes by design. A person who has a password but no authenticator yet opens
# the enrolment page: the secret shown in the QR code must be kept (an unconfirmed device)
# until the code typed from the app confirms it. Each opening makes this session's own key
# (and drops the session's previous one): a key is never shown to two sessions.
GET_WRITES = {
    ("accounts:two-factor-setup", "unenrolled"): {
        "otp_totp_totpdevice": "enrolment keeps the new, unconfirmed secret until it is confirmed"
    },
}

WALK_ROLES = (*m.ROLES, "unenrolled")


# --- measuring writes ------------------------------------------------------------------------


def table_names() -> list[str]:
    """Every table of the project's models (auto-created many-to-many tables included)."""
    return sorted(connection.introspection.django_table_names(only_existing=True))


def row_counts(tables: list[str]) -> dict[str, int]:
    """The row count of every table, in one query."""
    quote = connection.ops.quote_name
    # Table names from Django's introspection, never from a request.
    sql = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {quote(t)}" for t in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


class WriteTracker:
    """A row trigger on every table that notes each insert, update and delete in a log table.

    SQLite: TEMP triggers (they may watch tables of the main database) writing to a TEMP table.
    PostgreSQL: a function in ``pg_temp`` and triggers created in the test's transaction. On
    both, the triggers and the log disappear when the test's transaction is rolled back, and a
    write undone by a rolled-back savepoint (a view's ``atomic`` that failed) is undone in the
    log too: the log holds what the request left written.
    """

    LOG = "security_write_log"

    def __init__(self, tables: list[str]):
        self.tables = tables
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute(f"CREATE TEMP TABLE {self.LOG} (tbl TEXT, op TEXT)")
                for n, table in enumerate(tables):
                    for op in ("INSERT", "UPDATE", "DELETE"):
                        cursor.execute(
                            f"CREATE TEMP TRIGGER security_w{n}_{op.lower()} AFTER {op} "  # noqa: S608
                            f"ON main.{quote(table)} BEGIN INSERT INTO {self.LOG} "
                            f"VALUES ('{table}', '{op.lower()}'); END"
                        )
            elif connection.vendor == "postgresql":
                cursor.execute(f"CREATE TEMP TABLE {self.LOG} (tbl text, op text)")
                cursor.execute(
                    "CREATE FUNCTION pg_temp.security_log_write() RETURNS trigger "  # noqa: S608
                    "LANGUAGE plpgsql AS $$ BEGIN "
                    f"INSERT INTO pg_temp.{self.LOG} VALUES (TG_TABLE_NAME, lower(TG_OP)); "
                    "RETURN NULL; END $$"
                )
                for table in tables:
                    cursor.execute(
                        f"CREATE TRIGGER security_write_log AFTER INSERT OR UPDATE OR DELETE "
                        f"ON {quote(table)} FOR EACH ROW "
                        "EXECUTE FUNCTION pg_temp.security_log_write()"
                    )
            else:  # pragma: no cover - the project runs on these two
                raise NotImplementedError(connection.vendor)

    def clear(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {self.LOG}")  # noqa: S608 (a constant)

    def written(self) -> dict[str, set[str]]:
        """The tables written since ``clear``, each with the kinds of write."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT DISTINCT tbl, op FROM {self.LOG}")  # noqa: S608 (a constant)
            found: dict[str, set[str]] = {}
            for table, op in cursor.fetchall():
                found.setdefault(table, set()).add(op)
            return found


@dataclass
class Changes:
    """What one request changed outside the tables it may write."""

    counts: dict[str, tuple[int, int]]  # table: (before, after)
    writes: dict[str, set[str]]  # table: {"insert", "update", "delete"}

    def __bool__(self) -> bool:
        return bool(self.counts or self.writes)

    def __str__(self) -> str:
        parts = [f"{t}: {a} -> {b} rows" for t, (a, b) in sorted(self.counts.items())]
        parts += [f"{t}: {', '.join(sorted(ops))}" for t, ops in sorted(self.writes.items())]
        return "; ".join(parts)


class Watch:
    """Row counts and the write log around one request (inside the request's savepoint)."""

    def __init__(self):
        self.tables = table_names()
        self.tracker = WriteTracker(self.tables)
        self.counts_before: dict[str, int] = {}

    def start(self) -> None:
        self.counts_before = row_counts(self.tables)
        self.tracker.clear()

    def changes(self, allowed: set[str] | frozenset[str] = frozenset()) -> Changes:
        """Read inside the savepoint, before it is rolled back."""
        after = row_counts(self.tables)
        counts = {
            t: (self.counts_before[t], after[t])
            for t in self.tables
            if after[t] != self.counts_before[t] and t not in allowed
        }
        writes = {t: ops for t, ops in self.tracker.written().items() if t not in allowed}
        return Changes(counts, writes)


def allowed_tables(extra=()) -> set[str]:
    return set(EXEMPT_TABLES) | set(extra)


# --- the Django admin's own pages (the matrix walks only its index) --------------------------


def _admin_patterns():
    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk_ns = pattern.namespace or namespace
                yield from walk(pattern.url_patterns, route, walk_ns)
            elif isinstance(pattern, URLPattern) and namespace == "admin":
                yield route, pattern

    yield from walk(get_resolver().url_patterns, "", None)


def admin_urls() -> list[tuple[str, str]]:
    """(label, URL) for every page of the Django admin, with a real record for every id.

    A new admin route with an argument nobody fills fails here (``ValueError``)."""
    registered = {(mdl._meta.app_label, mdl._meta.model_name): mdl for mdl in admin.site._registry}
    urls = []
    for route, pattern in _admin_patterns():
        if pattern.name == "index":
            continue  # in the matrix
        label = f"admin:{pattern.name}" if pattern.name else f"admin route {route}"
        if route.startswith("admin/^") or "(?P<" in route:
            if pattern.name == "app_list":
                apps_ = sorted({a for a, _ in registered})
                urls += [(label, f"/admin/{app}/") for app in apps_]
            elif "(?P<url>" in route:
                urls.append((label, "/admin/no-such-page/"))
            else:
                raise ValueError(f"admin route not understood: {route}")
            continue
        parts = route.split("/")
        model = registered.get((parts[1], parts[2])) if len(parts) > 3 else None
        args = re.findall(r"<(?:\w+:)?(\w+)>", route)
        values = {}
        for arg in args:
            if arg in ("object_id", "id", "pk") and model is not None:
                obj = model._default_manager.order_by("pk").first()
                if obj is None:
                    raise ValueError(f"no {model._meta.label} in the world for {route}")
                values[arg] = obj.pk
            elif arg == "content_type_id":
                values[arg] = ContentType.objects.get_for_model(
                    apps.get_model("accounts.Clinic")
                ).pk
            elif arg == "object_id" and model is None:
                values[arg] = apps.get_model("accounts.Clinic").objects.order_by("pk").first().pk
            else:
                raise ValueError(f"admin route argument {arg!r} not filled: {route}")
        url = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda g, v=values: str(v[g.group(1)]), route)
        urls.append((label, url))
    return urls


# --- the people and the world ------------------------------------------------------------------


def admin_records(*, clinic, user) -> None:
    """One row of every admin-registered model that a world has none of."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    StaticDevice.objects.create(user=user, name="Backup codes")
    # As url_matrix.Prober makes it when it signs the user in.
    TOTPDevice.objects.get_or_create(
        user=user, name="Authenticator app", defaults={"confirmed": True}
    )
    from accounts.models import AccessEvent

    AccessEvent.objects.create(user=user, username=user.username, clinic=clinic, action="view")
    # directory/admin.py's read-only changelist of listings (its history page needs one).
    from directory.models import Format, Group

    Group.objects.get_or_create(
        slug="admin-walk-listing",
        defaults={"name": "Admin walk listing", "format": Format.OTHER_MH},
    )


@pytest.fixture
def unenrolled(clinic):
    from accounts.models import Role
    from tests.factories.accounts import UserFactory

    return UserFactory(username="unenrolled", clinic=clinic, roles=[Role.CLINICIAN])


@pytest.fixture
def people(people, unenrolled):
    """The matrix's six people and ``unenrolled``."""
    return {**people, "unenrolled": unenrolled}


def make_prober(people) -> m.Prober:
    """The matrix's prober for its six people, and a password-only session for ``unenrolled``
    (signed in, second factor never set up: every page sends them to enrol)."""
    from django.test import Client

    prober = m.Prober({role: people[role] for role in m.ROLES})
    browser = Client()
    browser.force_login(people["unenrolled"])
    prober.session_keys["unenrolled"] = browser.session.session_key
    return prober


# --- the walk --------------------------------------------------------------------------------


def get_urls(world: w.World) -> list[tuple[str, str, dict]]:
    """(URL name, URL, query) for every GET the walk makes."""
    urls = []
    for pattern in m.url_patterns():
        route = m.MATRIX[pattern.name]
        urls.append((pattern.name, world.url(pattern.name, route), world.query(route)))
    urls += [(label, url, {}) for label, url in admin_urls()]
    return urls


def test_exempt_tables_exist():
    """A renamed table would silently stop being exempt, or exempt nothing: keep them real."""
    assert set(EXEMPT_TABLES) <= set(connection.introspection.django_table_names()), set(
        EXEMPT_TABLES
    ) - set(connection.introspection.django_table_names())


def test_the_watch_sees_a_write_a_row_count_cannot(db, clinic):
    """The write log catches an UPDATE (counts unchanged), and forgets a rolled-back one."""
    from django.db import transaction

    from accounts.models import Clinic

    watch = Watch()
    watch.start()
    with transaction.atomic():
        Clinic.objects.filter(pk=clinic.pk).update(name="Renamed")
        changes = watch.changes()
        transaction.set_rollback(True)
    assert changes.counts == {} and changes.writes == {"accounts_clinic": {"update"}}
    watch.start()
    with transaction.atomic():
        with transaction.atomic():
            Clinic.objects.create(name="Gone", service_planning_area=4)
            transaction.set_rollback(True)
        assert not watch.changes()
    watch.start()
    with transaction.atomic():
        Clinic.objects.create(name="Kept", service_planning_area=4)
        changes = watch.changes()
        transaction.set_rollback(True)
    assert changes.counts == {"accounts_clinic": (1, 2)}
    assert changes.writes == {"accounts_clinic": {"insert"}}
    assert "allowed" not in str(watch.changes(allowed={"accounts_clinic"}))


def test_every_admin_page_is_found(db, clinic, superuser):
    admin_records(clinic=clinic, user=superuser)
    urls = {url: label for label, url in admin_urls()}
    assert "/admin/accounts/clinic/" in urls
    assert any(u.startswith("/admin/accounts/user/") and u.endswith("/password/") for u in urls)


@pytest.mark.parametrize("role", WALK_ROLES)
def test_get_never_changes_the_database(role, clinic, world, people):
    admin_records(clinic=clinic, user=people["superuser"])
    prober = make_prober(people)
    watch = Watch()
    urls = get_urls(world)
    found, errors, requests = [], [], 0
    for name, url, query in urls:
        allowed = allowed_tables(GET_WRITES.get((name, role), {}))
        watch.start()
        probe = prober.send(role, "GET", url, query, inspect=lambda _r, a=allowed: watch.changes(a))
        requests += 1
        if probe.outcome == m.ERROR:
            errors.append(f"GET {url} ({name}) as {role}: {probe.error or probe.status}")
        elif probe.seen:
            found.append(f"GET {url} ({name}) as {role}: {probe.seen}")
    print(
        f"GET walk as {role}: {requests} URLs, {len(watch.tables)} tables watched, "
        f"{len(found)} with writes, {len(errors)} errors"
    )
    assert requests == len(m.MATRIX) + len(admin_urls())
    assert errors == []
    assert found == []


def test_the_declared_get_write_happens(clinic, clinician, people):
    """The one exemption is real (the enrolment page does keep a device), so it stays needed:
    if the page stopped writing, this fails and the exemption should go."""
    prober = make_prober(people)
    watch = Watch()
    watch.start()
    probe = prober.send(
        "unenrolled", "GET", "/account/two-factor/setup/", inspect=lambda _r: watch.changes()
    )
    assert probe.status == 200
    # The session (exempt) also notes which key is this session's own.
    assert set(probe.seen.writes) - {"accounts_staffsession"} == {"otp_totp_totpdevice"}
