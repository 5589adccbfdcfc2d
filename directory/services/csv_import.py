"""Writing a previewed CSV import: all rows or none, in one transaction, as the acting admin.

The file is planned again inside the transaction (``directory.selectors.csv_import``); unless
that plan is exactly the one previewed, nothing is written. The writes are in bulk, with the
same optimistic lock and history records as ``directory.services.listings.update_group``: set
statements over all the rows (``UPDATE … FROM``, ``INSERT … SELECT``; on PostgreSQL one array
per column), so a 5,000-row file is some sixty statements whatever it changes. A file longer
than ``CSV_IMPORT_INLINE_ROWS`` is confirmed by :func:`confirm_in_background`, run by the
background worker (a 5,000-row import took 8 to 16 s with the machine busy: too close to the
web worker's 30 s timeout to be written within the request).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Max
from django.tasks import task
from django.utils import timezone

from accounts.models import User
from directory.models import Contact, Format, Group, Meeting
from directory.rules import search_terms as search_rules
from directory.rules.listings import RowEdit
from directory.rules.uploads import FileRefused
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

    Written in bulk, a fixed number of statements whatever the file's length (one INSERT more
    per further thousand new listings or contacts; a 5,000-row file once made one save per row,
    list and removed contact, past the worker's timeout): the listings,
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


@task()
def confirm_in_background(*, text: str, fingerprint: str, user_id: int) -> dict:
    """``confirm_import`` run by the worker, for a file too long to write within a request:
    what happened, as the progress page shows it (``directory.selectors.csv_import``)."""
    by = User.objects.filter(pk=user_id, is_active=True).first()
    if by is None:
        gone = "the account that confirmed it is no longer active"
        return {"result": "not-written", "message": gone}
    try:
        outcome = confirm_import(text=text, fingerprint=fingerprint, by=by)
    except PreviewOutdated:
        return {"result": "outdated"}
    except FileRefused as refused:
        return {"result": "not-written", "message": refused.message}
    except (IntegrityError, DataError):
        return {"result": "not-written", "message": "a conflict in the data"}
    return {
        "result": "written",
        "created": outcome.created,
        "updated": outcome.updated,
        "unchanged": outcome.unchanged,
    }


def _lock_versions(rows: list[RowPlan]) -> None:
    """The optimistic lock for every listing the import updates, or EditConflict."""
    wanted = {row.group.pk: row.version for row in rows}
    found = {}
    for chunk in _chunks(list(wanted)):
        found.update(
            Group.objects.select_for_update()
            .filter(pk__in=chunk)
            .order_by("pk")
            .values_list("pk", "version")
        )
    for pk, version in wanted.items():
        if found.get(pk) != version:
            raise services.EditConflict(Group.objects.get(pk=pk))


def _search_terms(rows: list[RowPlan]) -> dict[int, str]:
    """Each row's vocabulary words (``Group.search_terms``), from its lists as the file gives
    them and, for a listing that exists, the languages its meetings are held in: what
    ``search_terms.refresh`` would compute, without reading the lists back."""
    held: dict[int, list[tuple[str, str]]] = {}
    for chunk in _chunks([row.group.pk for row in rows if row.group is not None]):
        for group_id, code, name in (
            Meeting.objects.filter(group_id__in=chunk, language__isnull=False)
            .order_by()
            .values_list("group_id", "language__code", "language__name")
            .distinct()
        ):
            held.setdefault(group_id, []).append((code, name))
    return {
        id(row): search_rules.terms(
            needs=[(need.slug, need.name) for need in row.values["needs"]],
            languages=[(lang.code, lang.name) for lang in row.values["languages"]]
            + held.get(row.group.pk if row.group else None, []),
            areas=[area.name for area in row.values["service_areas"]],
        )
        for row in rows
    }


_LISTING_FIELDS = [attribute for attribute, _column in FIELD_COLUMNS] + ["search_terms"]


def _write_rows(rows: list[RowPlan], *, by) -> None:
    updates = [row for row in rows if row.group is not None]
    creates = [row for row in rows if row.group is None]
    _lock_versions(updates)
    now = timezone.now()
    terms = _search_terms(rows)

    _update_rows(
        Group,
        [*_LISTING_FIELDS, "version"],
        [
            (
                row.group.pk,
                *(row.values[attribute] for attribute, _column in FIELD_COLUMNS),
                terms[id(row)],
                row.version + 1,
            )
            for row in updates
        ],
        also={"updated_at": now},
    )
    new = []
    for row in creates:
        group = Group(
            slug=row.slug,
            # A new listing is twelve-step when its format is (III.A, III.F); an existing
            # listing keeps the flag it has, which the file does not carry.
            is_twelve_step=row.values["format"]
            in (Format.TWELVE_STEP_MH, Format.TWELVE_STEP_OTHER),
            search_terms=terms[id(row)],
        )
        for attribute, _column in FIELD_COLUMNS:
            setattr(group, attribute, row.values[attribute])
        new.append(group)
    if new:
        Group.objects.bulk_create(new, batch_size=BATCH)
        for row, group in zip(creates, new, strict=True):
            row.group = group

    _replace_lists(rows)
    _write_contacts(rows, by=by, now=now)
    # The history records last, so that each holds the lists as they ended up.
    lists = [attribute for attribute, _column in MANY_COLUMNS]
    _history(Group, [row.group.pk for row in updates], "~", lists, by=by, now=now)
    _history(Group, [group.pk for group in new], "+", lists, by=by, now=now)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _among(column: str, ids: list) -> tuple[str, list]:
    """``column`` is one of ``ids``: one array parameter on PostgreSQL (a list of thousands of
    placeholders costs the driver more than the statement costs the server), a list elsewhere."""
    if _postgres():
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def _rows_source(fields: list, rows: list[tuple]) -> tuple[str, list]:
    """PostgreSQL: a FROM item naming ``fields``' columns and holding ``rows``, as ``unnest`` of
    one array per column (a parameter per column, typed by the column's own type)."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    columns = [
        [field.get_db_prep_save(row[i], connection) for row in rows]
        for i, field in enumerate(fields)
    ]
    arrays = ", ".join(f"CAST(%s AS {field.db_type(connection)}[])" for field in fields)
    return f"unnest({arrays}) AS v({names})", columns


def _update_rows(model, columns: list[str], rows: list[tuple], *, also=None) -> None:
    """``UPDATE … FROM`` the rows: each row's ``(pk, *columns)``, in one statement
    (``bulk_update`` builds a CASE per row and column: a third of a 5,000-row import's time).
    ``also`` sets the same value on every row."""
    if not rows:
        return
    quote = connection.ops.quote_name
    meta = model._meta
    fields = [meta.pk] + [meta.get_field(name) for name in columns]
    sets = [f"{quote(field.column)} = v.{quote(field.column)}" for field in fields[1:]]
    extra = []
    for name, value in (also or {}).items():
        field = meta.get_field(name)
        sets.append(f"{quote(field.column)} = %s")
        extra.append(field.get_db_prep_save(value, connection))
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, 1000 if not _postgres() else 5000):
            if _postgres():
                source, params = _rows_source(fields, chunk)
                cursor.execute(
                    f"UPDATE {table} SET {', '.join(sets)} "  # noqa: S608 (names from _meta)
                    f"FROM {source} WHERE {table}.{pk} = v.{pk}",
                    [*extra, *params],
                )
            else:
                # SQLite names no VALUES columns in FROM: a WITH list names them.
                names = ", ".join(quote(field.column) for field in fields)
                mark = "(" + ", ".join(["%s"] * len(fields)) + ")"
                prepared = [
                    field.get_db_prep_save(value, connection)
                    for row in chunk
                    for field, value in zip(fields, row, strict=True)
                ]
                cursor.execute(
                    f"WITH v({names}) AS (VALUES {', '.join([mark] * len(chunk))}) "  # noqa: S608
                    f"UPDATE {table} SET {', '.join(sets)} FROM v WHERE {table}.{pk} = v.{pk}",
                    [*prepared, *extra],
                )


def _insert_rows(model, columns: list[str], rows: list[tuple]) -> None:
    """The rows inserted in one statement (a few on SQLite), no model object per row: for
    the lists' link tables."""
    if not rows:
        return
    quote = connection.ops.quote_name
    fields = [model._meta.get_field(name) for name in columns]
    names = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        for chunk in _chunks(rows, 20000 if _postgres() else 2000):
            if _postgres():
                source, params = _rows_source(fields, chunk)
                cursor.execute(
                    f"INSERT INTO {quote(model._meta.db_table)} ({names}) "  # noqa: S608
                    f"SELECT {names} FROM {source}",
                    params,
                )
            else:
                mark = "(" + ", ".join(["%s"] * len(fields)) + ")"
                cursor.execute(
                    f"INSERT INTO {quote(model._meta.db_table)} ({names}) "  # noqa: S608
                    f"VALUES {', '.join([mark] * len(chunk))}",
                    [value for row in chunk for value in row],
                )


def _replace_lists(rows: list[RowPlan]) -> None:
    """Each listing's lists become the row's (an update replaces a list that changed; a
    creation sets them)."""
    for attribute, column in MANY_COLUMNS:
        relation = getattr(Group, attribute)
        through = relation.through
        source = through._meta.get_field(relation.field.m2m_field_name()).column
        changed = [
            row
            for row in rows
            if row.action == "create" or any(c.column == column for c in row.changes)
        ]
        replaced = [row.group.pk for row in changed if row.action == "update"]
        for chunk in _chunks(replaced):
            through.objects.filter(**{source + "__in": chunk}).delete()
        _insert_rows(
            through,
            [relation.field.m2m_field_name(), relation.field.m2m_reverse_field_name()],
            [
                (row.group.pk, obj.pk)
                for row in changed
                for obj in dict.fromkeys(row.values[attribute])
            ],
        )


_HISTORY_OWN = ("history_id", "history_date", "history_change_reason", "history_type")


def _history(model, ids: list[int], kind: str, m2m: list[str], *, by, now) -> None:
    """One history record per row, by ``by``, with its lists as they are now: what
    simple-history writes on a save (``create_historical_record_m2ms``), as INSERT … SELECT
    statements from the rows just written (building 100,000 history objects in Python was
    most of a 5,000-row import's time)."""
    if not ids:
        return
    quote = connection.ops.quote_name
    history = model.history.model
    columns = {f.column for f in model._meta.concrete_fields}
    copied = [
        f.column
        for f in history._meta.concrete_fields
        if f.column in columns and f.column not in _HISTORY_OWN
    ]
    names = ", ".join(quote(c) for c in copied)
    pk = model._meta.pk.column
    now = connection.ops.adapt_datetimefield_value(now)  # as the ORM would store it
    with connection.cursor() as cursor:
        for chunk in _chunks(ids):
            where, params = _among(quote(pk), chunk)
            cursor.execute(
                f"INSERT INTO {quote(history._meta.db_table)} "  # noqa: S608 (names from _meta)
                f"({names}, history_date, history_type, history_user_id, history_change_reason) "
                f"SELECT {names}, %s, %s, %s, NULL FROM {quote(model._meta.db_table)} "
                f"WHERE {where}",
                [now, kind, getattr(by, "pk", None), *params],
            )
        for attribute in m2m:
            _m2m_history(cursor, model, history, attribute, kind=kind, now=now)


def _m2m_history(cursor, model, history, attribute, *, kind, now) -> None:
    """The list's rows for the history records just written, found by their date and type:
    this import's own (its ``now``), and those only."""
    quote = connection.ops.quote_name
    relation = getattr(model, attribute)
    through = relation.through
    source = through._meta.get_field(relation.field.m2m_field_name()).column
    m2m_history = history._meta.get_field(
        f"historical{model._meta.model_name}_{attribute}"
    ).related_model
    through_columns = [f.column for f in through._meta.concrete_fields]
    history_fk = m2m_history._meta.get_field("history").column
    cursor.execute(
        f"INSERT INTO {quote(m2m_history._meta.db_table)} "  # noqa: S608 (names from _meta)
        f"({quote(history_fk)}, {', '.join(quote(c) for c in through_columns)}) "
        f"SELECT h.history_id, {', '.join('t.' + quote(c) for c in through_columns)} "
        f"FROM {quote(history._meta.db_table)} h "
        f"JOIN {quote(through._meta.db_table)} t ON t.{quote(source)} = "
        f"h.{quote(model._meta.pk.column)} "
        f"WHERE h.history_date = %s AND h.history_type = %s",
        [now, kind],
    )


def _write_contacts(rows: list[RowPlan], *, by, now) -> None:
    """The removed, relabelled and new contacts in bulk, each with its history record."""
    removed = [contact.pk for row in rows for contact in row.remove]
    if removed:
        # The record of what was removed first (simple-history's "-": the row as it was; the
        # link rows of its areas go with it, as a deletion through the ORM does).
        _history(Contact, removed, "-", [], by=by, now=now)
        through = Contact.service_areas.through
        for chunk in _chunks(removed):
            through.objects.filter(contact_id__in=chunk).delete()
            _delete_rows(Contact, chunk)
    _update_rows(
        Contact,
        ["area_label"],
        [(contact.pk, area) for row in rows for contact, area in row.relabel],
    )
    _history(
        Contact,
        [contact.pk for row in rows for contact, _area in row.relabel],
        "~",
        ["service_areas"],
        by=by,
        now=now,
    )
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
        # A new contact has no areas yet: its record has no list rows to copy.
        _history(Contact, [contact.pk for contact in new], "+", [], by=by, now=now)


def _delete_rows(model, ids: list[int]) -> None:
    """A plain DELETE: the ORM's would fetch each row to send it to simple-history, which
    then writes one record per row (recorded in bulk above instead)."""
    quote = connection.ops.quote_name
    where, params = _among(quote(model._meta.pk.column), ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {quote(model._meta.db_table)} WHERE {where}",  # noqa: S608
            params,
        )


def _chunks(items: list, size: int = 5000):
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
