"""Writing a previewed CSV import: all rows or none, in one transaction, as the acting admin.

The file is planned again inside the transaction (``directory.selectors.csv_import``); unless
that plan is exactly the one previewed, nothing is written. Updates go through
``directory.services.listings.update_group`` (its optimistic lock and history).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

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
    written and PreviewOutdated carries the new plan. Updates go through
    ``services.update_group``, whose conditional UPDATE of the version is the optimistic lock
    (design notes, section 5): a listing saved by someone else meanwhile stops the whole import.
    """
    try:
        with transaction.atomic():
            plan = plan_import(text)
            if not plan.ok or plan.fingerprint != fingerprint:
                raise PreviewOutdated(plan)
            for row in plan.rows:
                if row.action in ("create", "update"):
                    _write_row(row, by=by)
    except services.EditConflict:
        raise PreviewOutdated(plan_import(text)) from None
    return Outcome(
        created=plan.count("create"),
        updated=plan.count("update"),
        unchanged=plan.count("unchanged"),
    )


def _write_row(row: RowPlan, *, by) -> None:
    if row.group is None:
        _create_listing(row, by=by)
    else:
        _update_listing(row, by=by)


def _group_values(row: RowPlan) -> dict:
    return {attribute: row.values[attribute] for attribute, _ in (*FIELD_COLUMNS, *MANY_COLUMNS)}


def _update_listing(row: RowPlan, *, by) -> None:
    edits = [RowEdit(pk=contact.pk, delete=True) for contact in row.remove]
    edits += [RowEdit(pk=contact.pk, values={"area_label": area}) for contact, area in row.relabel]
    edits += _new_contacts(row)
    services.update_group(
        group=row.group, version=row.version, values=_group_values(row), contacts=edits, by=by
    )


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


def _create_listing(row: RowPlan, *, by) -> None:
    """A new listing with the slug the row gives (so ids made from slugs survive a round trip
    into another directory), one history record with its lists, and its contacts."""
    values = row.values
    group = Group(
        slug=row.slug,
        # A new listing is twelve-step when its format is (III.A, III.F); an existing
        # listing keeps the flag it has, which the file does not carry.
        is_twelve_step=values["format"] in (Format.TWELVE_STEP_MH, Format.TWELVE_STEP_OTHER),
    )
    for attribute, _column in FIELD_COLUMNS:
        setattr(group, attribute, values[attribute])
    group._history_user = by
    # As services does: no history record per list set, one record once all are set.
    group.skip_history_when_saving = True
    try:
        group.save()
        for attribute, _column in MANY_COLUMNS:
            getattr(group, attribute).set(values[attribute])
    finally:
        del group.skip_history_when_saving
    group.save()
    Group.history.filter(id=group.pk).update(history_type="+")  # its only record: a creation
    for order, edit in enumerate(_new_contacts(row)):
        contact = Contact(group=group, order=order, **edit.values)
        contact._history_user = by
        contact.save()
