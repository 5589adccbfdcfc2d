"""Writing a previewed Meeting Guide import: all meetings or none, as the acting admin.

The file is planned again inside the transaction (``directory.selectors.meeting_guide``) and
written only if the plan is the one the admin previewed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction

from directory.models import Group
from directory.rules.listings import RowEdit
from directory.selectors.meeting_guide import ImportPlan, plan_import
from directory.services import listings as services


class PreviewOutdated(Exception):
    def __init__(self, plan: ImportPlan):
        super().__init__("The directory changed since the preview.")
        self.plan = plan


@dataclass(frozen=True)
class Outcome:
    created: int
    updated: int
    unchanged: int


def confirm_import(
    *,
    text: str,
    listing: Group | None,
    timezone: str,
    fingerprint: str,
    by,
    by_name: bool = False,
    choices=None,
) -> Outcome:
    """Write the previewed meetings, all or none, in one transaction, as ``by``.

    The file is planned again inside the transaction and written only if the plan is the one
    previewed. Each listing's meetings are written through ``listings.update_group`` with the
    listing's version as previewed: the listing's version moves on (an edit form opened
    before the import is then refused rather than undoing it), its history records who
    changed its meetings, and a listing saved by someone else meanwhile stops the import.
    """
    try:
        with transaction.atomic():
            plan = plan_import(
                text, listing=listing, timezone=timezone, by_name=by_name, choices=choices
            )
            if not plan.ok or plan.fingerprint != fingerprint:
                raise PreviewOutdated(plan)
            edits: dict[int, list] = defaultdict(list)
            listings: dict[int, Group] = {}
            for entry in plan.entries:
                if entry.action == "create":
                    edit = RowEdit(pk=None, values=entry.values)
                elif entry.action == "update":
                    edit = RowEdit(pk=entry.existing.pk, values=entry.values)
                else:
                    continue
                edits[entry.listing.pk].append(edit)
                listings[entry.listing.pk] = entry.listing
            for pk, group in listings.items():
                services.update_group(
                    group=group, version=group.version, values={}, meetings=edits[pk], by=by
                )
    except services.EditConflict:
        plan = plan_import(
            text, listing=listing, timezone=timezone, by_name=by_name, choices=choices
        )
        raise PreviewOutdated(plan) from None
    return Outcome(
        created=plan.count("create"),
        updated=plan.count("update"),
        unchanged=plan.count("unchanged"),
    )
