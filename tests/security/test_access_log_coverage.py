"""Every view, edit, print and export of a client's record writes exactly one access-log row.

Every matrix row marked ``client_related`` is requested, with each method it declares a ``Log``
for, as every role the matrix lets in: one row each, with the declared action, object type and
id, the user, the clinic, the address, and an outcome matching the answer (``success`` below
400, ``failure`` from 400). Every other row is walked too and must show none of the world's
sentinel client names and log no client's record, so a new client page cannot slip through.
``TestAppendOnlyOtherWays`` extends ``tests/integration/accounts/test_access_log.py``'s append-only
checks to the other ORM ways in, and on PostgreSQL to those only the trigger stops.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.db.utils import DatabaseError

from accounts.models import AccessEvent, AccessLogIsAppendOnly
from accounts.services import access_log
from tests.security import url_matrix as m
from tests.security import world as w

# Object types of rows about a client's record (the walker's rows name these).
CLIENT_RECORD_TYPES = {"client", "screening", "referral", "peercontact", "supervisor-review"}


def rows_since(since_id):
    def read(response):
        return list(AccessEvent.objects.filter(pk__gt=since_id).order_by("id"))

    return read


def last_id() -> int:
    return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def walk():
    """(name, method, role, expected log) for every client-related request the matrix lets
    through its gates."""
    for name, route in sorted(m.MATRIX.items()):
        if not route.client_related:
            continue
        for method, log in sorted(route.log.items()):
            for role, outcome in route.expected(method).items():
                if outcome == m.ALLOWED:
                    yield name, method, role, log


def test_the_walk_covers_every_client_page():
    """Every client-related row is walked, by at least one role, with every method it takes."""
    walked = {(name, method) for name, method, _, _ in walk()}
    for name, route in m.MATRIX.items():
        if route.client_related:
            for method in m.METHODS:
                takes = m.ALLOWED in route.expected(method).values()
                assert ((name, method) in walked) == takes, (name, method)
    assert {name for name, _ in walked} == {n for n, r in m.MATRIX.items() if r.client_related}


def test_every_client_page_writes_exactly_one_row(world, prober, people):
    problems = []
    requests = 0
    for name, method, role, log in walk():
        route = m.MATRIX[name]
        user = people[role]
        url = world.url(name, route)
        probe = prober.send(role, method, url, world.query(route), inspect=rows_since(last_id()))
        requests += 1
        where = f"{method} {url} ({name}) as {role} [{probe.status or probe.error}]"
        if probe.outcome != m.ALLOWED:
            problems.append(f"{where}: not let in")
            continue
        if isinstance(log, m.NotLogged) or (log.refused_only and probe.status not in (403, 404)):
            if probe.seen:
                problems.append(f"{where}: {len(probe.seen)} rows, expected none")
            continue
        if len(probe.seen) != 1:
            kinds = [(r.action, r.object_type, r.object_id) for r in probe.seen]
            problems.append(f"{where}: {len(probe.seen)} rows {kinds}, expected exactly one")
            continue
        row = probe.seen[0]
        record = world.objects.get(log.key) if log.key else None
        want = {
            "action": log.action,
            "object_type": log.object_type,
            "object_id": m.expected_object_id(world, log),
            "user_id": user.pk,
            "username": user.username,
            # A row about one record is filed under that record's clinic; a list, a search or
            # the review under the user's own.
            "clinic_id": record.clinic_id if record is not None else user.clinic_id,
            "ip_address": "127.0.0.1",
            "outcome": "success" if probe.status < 400 else "failure",
        }
        got = {key: getattr(row, key) for key in want}
        if got != want:
            wrong = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
            problems.append(f"{where}: (got, wanted) {wrong}")
    print(f"access-log walk: {requests} client-page requests, {len(problems)} problems")
    assert requests >= len([r for r in m.MATRIX.values() if r.client_related])
    assert not problems, "\n".join(problems)


def test_no_other_page_shows_or_logs_a_clients_record(world, prober, people):
    """The pages not marked client-related, as every role they let in, with every method:
    none shows a name of the world's client or peer contact, none writes a row about a
    client's record. A client page added without its mark fails here."""
    sentinels = [
        w.SENTINEL_FIRST_NAME.encode(),
        w.SENTINEL_LAST_NAME.encode(),
        w.SENTINEL_PEER_NAME.encode(),
    ]
    problems = []
    requests = 0
    for name, route in sorted(m.MATRIX.items()):
        if route.client_related:
            continue
        url = world.url(name, route)
        for method in m.METHODS:
            for role, outcome in route.expected(method).items():
                if outcome != m.ALLOWED:
                    continue
                probe = prober.send(
                    role, method, url, world.query(route), inspect=rows_since(last_id())
                )
                requests += 1
                where = f"{method} {url} ({name}) as {role}"
                shown = [s.decode() for s in sentinels if s in probe.body]
                if shown:
                    problems.append(f"{where}: shows {shown}; mark it client_related")
                logged = [
                    (r.action, r.object_type, r.object_id)
                    for r in probe.seen
                    if r.object_type in CLIENT_RECORD_TYPES
                ]
                if logged:
                    problems.append(f"{where}: logs {logged}; mark it client_related")
    print(f"other pages: {requests} requests, {len(problems)} problems")
    assert requests > 0
    assert not problems, "\n".join(problems)


def test_the_sentinels_are_found_where_they_are_shown(world, prober):
    """The scan above can fail: the client's page shows the sentinel names."""
    probe = prober.send("clinician", "GET", world.url("clients:detail"))
    assert probe.status == 200
    assert w.SENTINEL_LAST_NAME.encode() in probe.body
    probe = prober.send("clinician", "GET", world.url("clients:peer-contacts"))
    assert w.SENTINEL_PEER_NAME.encode() in probe.body


# --- append-only: the ways in that tests/integration/accounts/test_access_log.py does not try


class TestAppendOnlyOtherWays:
    @pytest.fixture
    def event(self, clinician):
        return access_log.record(
            None, AccessEvent.Action.VIEW, user=clinician, object_type="client", object_id=7
        )

    def test_related_managers_refuse_update_and_delete(self, event, clinician):
        with pytest.raises(AccessLogIsAppendOnly):
            clinician.access_events.update(reason="tampered")
        with pytest.raises(AccessLogIsAppendOnly):
            clinician.access_events.all().delete()
        with pytest.raises(AccessLogIsAppendOnly):
            clinician.clinic.access_events.filter(pk=event.pk).update(object_id="8")
        assert AccessEvent.objects.get(pk=event.pk).object_id == "7"

    def test_update_or_create_of_an_existing_row_is_refused(self, event):
        with pytest.raises(AccessLogIsAppendOnly):
            AccessEvent.objects.update_or_create(pk=event.pk, defaults={"object_id": "8"})
        assert AccessEvent.objects.get(pk=event.pk).object_id == "7"

    def test_a_saved_row_cannot_be_saved_over_by_its_id(self, event):
        """A new instance carrying an existing id is an insert (``force_insert``): refused
        by the primary key, never an update."""
        copy = AccessEvent(pk=event.pk, action="view", object_type="client", object_id="8")
        with pytest.raises(IntegrityError), transaction.atomic():
            copy.save()
        assert AccessEvent.objects.get(pk=event.pk).object_id == "7"

    def test_the_staff_member_and_clinic_of_a_row_cannot_be_deleted(self, event, clinician):
        """Deleting what a row points at would cascade or blank it: PROTECT refuses."""
        with pytest.raises(ProtectedError), transaction.atomic():
            clinician.delete()
        with pytest.raises(ProtectedError), transaction.atomic():
            clinician.clinic.delete()
        assert AccessEvent.objects.filter(pk=event.pk, user=clinician).exists()

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="database trigger: PostgreSQL")
    @pytest.mark.parametrize(
        "tamper",
        [
            pytest.param(
                lambda e: AccessEvent._base_manager.filter(pk=e.pk).update(object_id="8"),
                id="plain-manager-update",
            ),
            pytest.param(
                lambda e: AccessEvent._base_manager.filter(pk=e.pk).delete(),
                id="plain-manager-delete",
            ),
            pytest.param(
                lambda e: AccessEvent._base_manager.filter(pk=e.pk)._raw_delete("default"),
                id="raw-delete",
            ),
            pytest.param(lambda e: _save_base_over(e), id="save-base"),
        ],
    )
    def test_the_database_refuses_what_gets_past_the_orm_guard(self, event, tamper):
        """Ways round ``AccessEventQuerySet`` and ``AccessEvent.save`` exist in Django's API;
        the trigger of accounts/migrations/0003 refuses them all."""
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            tamper(event)
        assert AccessEvent.objects.filter(pk=event.pk, object_id="7").exists()


def _save_base_over(event):
    event.object_id = "8"
    event.save_base(force_update=True)
