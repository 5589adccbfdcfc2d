"""Writing a previewed CSV import: all rows or none, in one transaction, as the acting admin.

The file is planned again inside the transaction (``directory.selectors.csv_import``); unless
that plan is exactly the one previewed, nothing is written. The writes are in bulk, with the
same optimistic lock and history records as ``directory.services.listings.update_group``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from directory.models import Contact, Format, Group
from directory.rules.listings import RowEdit
from directory.selectors.csv_import import (
    FIELD_COLUMNS,
    MANY_COLUMNS,
    ImportPlan,
    RowPlan,
    plan_import,
)
from directory.services import listings as services
from directory.services import search_terms

BATCH = 1000


class PreviewOutdated(Exception):
    """The catalogue changed between the preview and the confirmation: nothing was written."""

    def __init__(self, plan: ImportPlan):
        super().__init__("The directory changed since the preview.")
        self.plan = plan


@dataclass(frozen=True)
class Outcome:
    created: int
    updated: int
    unchanged: int


def confirm_import(*, text: str, fingerprint: str, by) -> Outcome:
    """Write the previewed import: all rows or none, in one transaction, as ``by``.

    The file is planned again inside the transaction; unless that plan is exactly the one
    previewed (same rows, same listings at the same versions, same changes), nothing is
    written and PreviewOutdated carries the new plan. The listings to update are locked and
    their versions checked first, the optimistic lock of ``services.update_group`` taken for
    all of them at once (design notes, section 5): a listing saved by someone else meanwhile
    stops the whole import.

    Written in bulk, a fixed number of statements whatever the file's length (a 5,000-row file
    made one save per row and list, several minutes, past the worker's timeout): the listings,
    their lists, their new, relabelled and removed contacts, each with its history record
    (who, when, the lists as they ended up), as the one-row services record them.
    """
    try:
        with transaction.atomic(), search_terms.deferred():
            plan = plan_import(text)
            if not plan.ok or plan.fingerprint != fingerprint:
                raise PreviewOutdated(plan)
            _write_rows([row for row in plan.rows if row.action in ("create", "update")], by=by)
    except services.EditConflict:
        raise PreviewOutdated(plan_import(text)) from None
    return Outcome(
        created=plan.count("create"),
        updated=plan.count("update"),
        unchanged=plan.count("unchanged"),
    )


def _lock_versions(rows: list[RowPlan]) -> None:
    """The optimistic lock for every listing the import updates, or EditConflict."""
    wanted = {row.group.pk: row.version for row in rows}
    found = dict(
        Group.objects.select_for_update()
        .filter(pk__in=wanted)
        .order_by("pk")
        .values_list("pk", "version")
    )
    for pk, version in wanted.items():
        if found.get(pk) != version:
            raise services.EditConflict(Group.objects.get(pk=pk))


def _write_rows(rows: list[RowPlan], *, by) -> None:
    updates = [row for row in rows if row.group is not None]
    creates = [row for row in rows if row.group is None]
    _lock_versions(updates)
    now = timezone.now()

    changed = []
    for row in updates:
        group = row.group
        for attribute, _column in FIELD_COLUMNS:
            setattr(group, attribute, row.values[attribute])
        group.version = row.version + 1
        group.updated_at = now
        changed.append(group)
    new = []
    for row in creates:
        group = Group(
            slug=row.slug,
            # A new listing is twelve-step when its format is (III.A, III.F); an existing
            # listing keeps the flag it has, which the file does not carry.
            is_twelve_step=row.values["format"]
            in (Format.TWELVE_STEP_MH, Format.TWELVE_STEP_OTHER),
        )
        for attribute, _column in FIELD_COLUMNS:
            setattr(group, attribute, row.values[attribute])
        new.append(group)
    if changed:
        fields = [attribute for attribute, _ in FIELD_COLUMNS] + ["version", "updated_at"]
        Group.objects.bulk_update(changed, fields, batch_size=BATCH)
    if new:
        Group.objects.bulk_create(new, batch_size=BATCH)
        for row, group in zip(creates, new, strict=True):
            row.group = group

    _replace_lists(rows)
    _write_contacts(rows, by=by, now=now)
    # The history records last, so that each holds the lists as they ended up.
    lists = [attribute for attribute, _column in MANY_COLUMNS]
    _history(Group, changed, "~", lists, by=by, now=now)
    _history(Group, new, "+", lists, by=by, now=now)


def _replace_lists(rows: list[RowPlan]) -> None:
    """Each listing's lists become the row's (an update replaces them; a creation sets them)."""
    ids = [row.group.pk for row in rows]
    for attribute, _column in MANY_COLUMNS:
        relation = getattr(Group, attribute)
        through = relation.through
        source = relation.field.m2m_field_name() + "_id"
        target = relation.field.m2m_reverse_field_name() + "_id"
        for chunk in _chunks(ids):
            through.objects.filter(**{source + "__in": chunk}).delete()
        through.objects.bulk_create(
            [
                through(**{source: row.group.pk, target: obj.pk})
                for row in rows
                for obj in dict.fromkeys(row.values[attribute])
            ],
            batch_size=BATCH,
        )


_HISTORY_OWN = ("history_id", "history_date", "history_change_reason", "history_type")


def _history(model, objects: list, kind: str, m2m: list[str], *, by, now) -> None:
    """One history record per row, by ``by``, with its lists as they are now: what
    simple-history writes on a save (``create_historical_record_m2ms``), as INSERT … SELECT
    statements from the rows just written (building 100,000 history objects in Python was
    most of a 5,000-row import's time)."""
    if not objects:
        return
    quote = connection.ops.quote_name
    history = model.history.model
    columns = {f.column for f in model._meta.concrete_fields}
    copied = [
        f.column
        for f in history._meta.concrete_fields
        if f.column in columns and f.column not in _HISTORY_OWN
    ]
    pk = model._meta.pk.column
    now = connection.ops.adapt_datetimefield_value(now)  # as the ORM would store it
    with connection.cursor() as cursor:
        for chunk in _chunks([obj.pk for obj in objects], 500):
            marks = ", ".join(["%s"] * len(chunk))
            names = ", ".join(quote(c) for c in copied)
            cursor.execute(
                f"INSERT INTO {quote(history._meta.db_table)} "  # noqa: S608 (names from _meta)
                f"({names}, history_date, history_type, history_user_id, history_change_reason) "
                f"SELECT {names}, %s, %s, %s, NULL FROM {quote(model._meta.db_table)} "
                f"WHERE {quote(pk)} IN ({marks})",
                [now, kind, getattr(by, "pk", None), *chunk],
            )
            for attribute in m2m:
                _m2m_history(cursor, model, history, attribute, chunk, kind=kind, now=now)


def _m2m_history(cursor, model, history, attribute, chunk, *, kind, now) -> None:
    """The list's rows for the history records just written (matched by date and type)."""
    quote = connection.ops.quote_name
    relation = getattr(model, attribute)
    through = relation.through
    source = through._meta.get_field(relation.field.m2m_field_name()).column
    m2m_history = history._meta.get_field(
        f"historical{model._meta.model_name}_{attribute}"
    ).related_model
    through_columns = [f.column for f in through._meta.concrete_fields]
    history_fk = m2m_history._meta.get_field("history").column
    marks = ", ".join(["%s"] * len(chunk))
    cursor.execute(
        f"INSERT INTO {quote(m2m_history._meta.db_table)} "  # noqa: S608 (names from _meta)
        f"({quote(history_fk)}, {', '.join(quote(c) for c in through_columns)}) "
        f"SELECT h.history_id, {', '.join('t.' + quote(c) for c in through_columns)} "
        f"FROM {quote(through._meta.db_table)} t "
        f"JOIN {quote(history._meta.db_table)} h ON h.{quote(model._meta.pk.column)} = "
        f"t.{quote(source)} "
        f"WHERE h.history_date = %s AND h.history_type = %s AND t.{quote(source)} IN ({marks})",
        [now, kind, *chunk],
    )


def _write_contacts(rows: list[RowPlan], *, by, now) -> None:
    """Removed contacts one by one (each leaves its history record: few in any file), the
    relabelled and the new ones in bulk, with their history records."""
    for row in rows:
        for contact in row.remove:
            contact._history_user = by
            contact.delete()
    relabelled = []
    for row in rows:
        for contact, area in row.relabel:
            contact.area_label = area
            relabelled.append(contact)
    if relabelled:
        Contact.objects.bulk_update(relabelled, ["area_label"], batch_size=BATCH)
        _history(Contact, relabelled, "~", ["service_areas"], by=by, now=now)
    ids = [row.group.pk for row in rows if row.add_phones or row.add_emails or row.add_urls]
    highest = {}
    for chunk in _chunks(ids):
        highest.update(
            Contact.objects.filter(group_id__in=chunk)
            .order_by()
            .values("group_id")
            .annotate(highest=Max("order"))
            .values_list("group_id", "highest")
        )
    new = []
    for row in rows:
        start = highest.get(row.group.pk)
        start = 0 if start is None else start + 1
        for offset, edit in enumerate(_new_contacts(row)):
            new.append(Contact(group=row.group, order=start + offset, **edit.values))
    if new:
        Contact.objects.bulk_create(new, batch_size=BATCH)
        _history(Contact, new, "+", ["service_areas"], by=by, now=now)


def _chunks(ids: list[int], size: int = 5000):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _new_contacts(row: RowPlan) -> list:
    new = [
        {
            "kind": Contact.Kind.PHONE,
            "phone": phone.number,
            "extension": phone.extension,
            "area_label": phone.area,
        }
        for phone in row.add_phones
    ]
    new += [{"kind": Contact.Kind.EMAIL, "email": email} for email in row.add_emails]
    new += [{"kind": Contact.Kind.WEB, "url": url} for url in row.add_urls]
    return [RowEdit(pk=None, values=values) for values in new]
