"""Reads of the access log: a person's own sign-in activity and the clinic's log, a page at a time.

Each is a fixed number of queries whatever the size of the log. The log's pages use a signed
(time, id) cursor of their own rather than ``core.pagination``'s keyset pages: see the note
above ``Cursor``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.core import signing
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.http import QueryDict

from accounts.models import AccessEvent
from core.pagination import KeysetPage
from core.rows import date_label

SIGN_IN_ACTIONS = [
    AccessEvent.Action.SIGN_IN,
    AccessEvent.Action.SIGN_OUT,
    AccessEvent.Action.FAILED_SIGN_IN,
    AccessEvent.Action.LOCKOUT,
]


def recent_account_activity(user, limit: int = 5):
    """The person's own latest sign-in events, so they can spot a sign-in that was not theirs."""
    return list(
        AccessEvent.objects.filter(user=user, action__in=SIGN_IN_ACTIONS).order_by(
            "-occurred_at", "-id"
        )[:limit]
    )


MAX_RECORD_ID = 2**63 - 1  # the largest primary key a bigint (and SQLite's integer) holds


def about_client(client_id: str) -> Q:
    """Events about one client's record: the client, and every record of theirs the log names
    (a screening, a referral, feedback, attendance, a consent…).

    Views log the record they handled, so a screening saved or a referral opened is logged as
    that record, not as the client; an audit of "who opened this client's record" needs them
    all. The record types are found from the app registry (every model with a ``client``
    foreign key to the client register), so a new one is included without a list to keep,
    and without this app importing the apps above it. Each is a subquery: the count of
    queries stays the same.
    """
    value = client_id.strip()
    condition = Q(object_type="client", object_id=value)
    # Only an id a record can have is looked up (a 20-digit number overflows the database's
    # integer; such an id names no record, so only the text match above can find it).
    if not value.isascii() or not value.isdigit() or int(value) > MAX_RECORD_ID:
        return condition
    client_model = apps.get_model("clients", "Client")
    for model in apps.get_models():
        field = next(
            (f for f in model._meta.concrete_fields if f.name == "client" and f.is_relation),
            None,
        )
        if field is None or field.related_model is not client_model:
            continue
        ids = (
            model._default_manager.filter(client_id=int(value))
            .annotate(logged_id=Cast("pk", CharField()))
            .values("logged_id")
        )
        condition |= Q(object_type=model._meta.model_name, object_id__in=ids)
    return condition


def clinic_access_events(clinic):
    """The clinic's access log, newest first, with the actor joined in.

    The order, (occurred_at, id) descending, is total and is the order of the log's indexes
    (``AccessEvent.Meta.indexes``): a page of it is read from an index and stops after the
    page's rows. ``access_event_page`` cuts it into pages.
    """
    if clinic is None:
        return AccessEvent.objects.none()
    return (
        AccessEvent.objects.filter(clinic=clinic)
        .select_related("user")
        .order_by("-occurred_at", "-id")
    )


# --- The access log's pages: keyset pagination ------------------------------------------------
#
# The log grows by hundreds of thousands of rows a day. Django's Paginator counts the clinic's
# whole log (COUNT(*)) on every request and reaches page n with OFFSET, reading and throwing
# away every row before it: seconds at county scale. A page here starts from a *cursor*, the
# (occurred_at, id) of the last row shown, and asks for the rows just beyond it, so every page
# costs what the first costs and nothing is counted (docs/SCALING.md, "The access log").
#
# Why not ``core.pagination.keyset_page``, which looks the anchor row up by id: the cursor here
# carries the row's time and id, because the time is what the indexes and, once the table is
# partitioned by month, the partitions are searched by, and it saves the lookup (one query a
# page, not two). It is signed, so the page only ever starts from a position it handed out
# itself: anything else (edited, cut short, from another deployment's key) is refused with a 400
# that says so, never a 500 nor a silent jump to the first page as ``keyset_page`` does. And an
# "older" page past the end stays an empty page rather than turning into the newest. The page
# itself is a ``core.pagination.KeysetPage``, so the shared pager partial renders its links.

ACCESS_LOG_PAGE_SIZE = 50
OLDER, NEWER = "older", "newer"
_CURSOR_SALT = "accounts.access-log.cursor"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BadCursor(ValueError):
    """A page link's cursor that this deployment did not make, or that says nothing usable."""


@dataclass(frozen=True)
class Cursor:
    """A position in the log: just beyond the event with this time and id."""

    occurred_at: datetime
    id: int

    @classmethod
    def of(cls, event: AccessEvent) -> Cursor:
        return cls(event.occurred_at, event.pk)

    def encode(self) -> str:
        micros = (self.occurred_at - _EPOCH) // timedelta(microseconds=1)
        return signing.Signer(salt=_CURSOR_SALT).sign_object([micros, self.id])

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            value = signing.Signer(salt=_CURSOR_SALT).unsign_object(text)
        except (signing.BadSignature, ValueError, TypeError, zlib.error):
            raise BadCursor(text) from None
        match value:
            case [int() as micros, int() as pk] if pk > 0:
                try:
                    return cls(_EPOCH + timedelta(microseconds=micros), pk)
                except OverflowError:
                    raise BadCursor(text) from None
        raise BadCursor(text)


@dataclass
class AccessEventPage(KeysetPage):
    """One page of the log and its links; no count of the whole (it would cost a scan).

    A keyset page whose "previous" is newer and "next" older, and whose address carries the
    signed cursor: so the one pager partial renders it (Newest, Newer, Older).
    """

    previous_key = NEWER
    next_key = OLDER

    def anchor(self, row: AccessEvent) -> str:
        return Cursor.of(row).encode()


def access_log_position(query: QueryDict) -> tuple[str, Cursor] | None:
    """Where the address asks the page to start: None for the newest events.

    Raises ``BadCursor`` for a cursor this deployment did not sign, or for both directions at
    once (no link of ours has that).
    """
    given = [(key, query[key]) for key in (OLDER, NEWER) if key in query]
    if not given:
        return None
    if len(given) > 1 or any(len(query.getlist(key)) > 1 for key, _ in given):
        raise BadCursor("more than one cursor")
    key, text = given[0]
    return key, Cursor.decode(text)


def _beyond(cursor: Cursor, *, older: bool) -> Q:
    """Events strictly older (or newer) than the cursor in the (occurred_at, id) order.

    Written as ``occurred_at <= t AND (occurred_at < t OR id < i)``: the first half is a range
    an index on (..., occurred_at, id) starts its scan from; the second only settles ties. (A
    bare OR is not a range PostgreSQL can start an index scan from.)
    """
    t, pk = cursor.occurred_at, cursor.id
    if older:
        return Q(occurred_at__lte=t) & (Q(occurred_at__lt=t) | Q(occurred_at=t, id__lt=pk))
    return Q(occurred_at__gte=t) & (Q(occurred_at__gt=t) | Q(occurred_at=t, id__gt=pk))


def _labelled(rows: list[AccessEvent]) -> list[AccessEvent]:
    """Each row with ``when_label`` (to the second) and ``who_label`` as the page prints them,
    worked out once here rather than by ``|date`` and lookups on each of the page's rows."""
    for event in rows:
        event.when_label = date_label(event.occurred_at, "M j, Y g:i:s a")
        if event.user_id is not None:
            event.who_label = event.user.get_full_name() or event.user.username
        else:
            event.who_label = event.username or "unknown"
    return rows


def access_event_page(
    events: QuerySet,
    position: tuple[str, Cursor] | None,
    query: QueryDict,
    *,
    per_page: int = ACCESS_LOG_PAGE_SIZE,
) -> AccessEventPage:
    """A page of ``events`` (ordered newest first), in one query whatever the log's size.

    It asks for one row more than the page holds, to know whether there is a page beyond.
    ``query`` is the request's, for the links (they keep the filters).
    """
    if position is None:
        rows = list(events[: per_page + 1])
        return AccessEventPage(
            _labelled(rows[:per_page]),
            has_previous=False,
            has_next=len(rows) > per_page,
            is_first=True,
            query=query,
        )
    key, cursor = position
    if key == OLDER:
        rows = list(events.filter(_beyond(cursor, older=True))[: per_page + 1])
        # The log is append-only, so the row the cursor came from is still newer than this page
        # (an empty page has no row to start a Newer link from: it offers the newest).
        return AccessEventPage(
            _labelled(rows[:per_page]),
            has_previous=bool(rows),
            has_next=len(rows) > per_page,
            is_first=False,
            query=query,
        )
    # Newer: the rows just above the cursor, read upwards from it, shown newest first.
    rows = list(events.filter(_beyond(cursor, older=False)).reverse()[: per_page + 1])
    has_newer = len(rows) > per_page
    return AccessEventPage(
        _labelled(list(reversed(rows[:per_page]))),
        has_previous=has_newer,
        has_next=bool(rows),  # the cursor's own row is older than this page
        is_first=not has_newer,
        query=query,
    )
