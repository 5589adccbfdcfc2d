"""Writes to the annotated referral list: site admins keep it current (policy VII.D).

Every function runs in one transaction and records the acting user ``by`` in the history of each
row it touches, one history record per row per call with its many-to-many values as they ended
up (simple-history alone would add one per many-to-many change), so the history page can say who
changed what.

No function deletes a listing: one that has been referred must stay for those referrals' history,
and archiving is how a listing leaves the clinicians' search. Contacts, meetings and resource
phones can be removed; their history keeps them. Two admins editing one listing: ``update_group``
moves the loaded version on in one conditional UPDATE, or raises ``EditConflict`` with the
listing as it is now.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from directory.models import (
    Category,
    Contact,
    Criterion,
    CriterionConfirmation,
    Group,
    Meeting,
    ReferralResource,
    ResourcePhone,
    ReviewFlag,
)
from directory.rules.listings import (
    CONTACT_FIELDS,
    CONTACT_M2M,
    GROUP_FIELDS,
    GROUP_M2M,
    MEETING_FEED_FIELDS,
    MEETING_FIELDS,
    RESERVED_SLUGS,
    RESOURCE_FIELDS,
    RESOURCE_PHONE_FIELDS,
    RowEdit,
)
from directory.rules.meeting_guide import DAY_ABBREVIATIONS, meeting_slug
from directory.selectors.manage import local_today


class EditConflict(Exception):
    """Someone saved the listing after this editor loaded it; nothing was written."""

    def __init__(self, current: Group):
        self.current = current
        super().__init__(f"{current} is at version {current.version}")


class AlreadyResolved(Exception):
    """The review flag was resolved (by someone else) before this resolution."""


class DuplicateListing(Exception):
    """A listing of that name exists already (a double-clicked "Add", most often)."""

    def __init__(self, existing: Group):
        self.existing = existing
        super().__init__(existing.name)


def _save(instance: models.Model, *, by, m2m: Mapping[str, Iterable] | None = None):
    """Save ``instance`` and its many-to-many values with one history record, by ``by``."""
    instance._history_user = by
    if not m2m:
        instance.save()
        return instance
    created = instance._state.adding
    instance.skip_history_when_saving = True
    try:
        if created:
            instance.save()  # the row must exist before its many-to-many values
        for name, values in m2m.items():
            getattr(instance, name).set(values)
    finally:
        del instance.skip_history_when_saving
    instance.save()  # the one history record, with the many-to-many values as they are now
    if created:
        # That record was written by an UPDATE, so simple-history typed it "changed".
        history = type(instance).history
        latest = history.filter(id=instance.pk).order_by("-history_id").values("history_id")
        history.filter(history_id__in=latest[:1]).update(history_type="+")
    return instance


def _set_fields(instance: models.Model, values: Mapping[str, Any], names: Sequence[str]):
    for name in names:
        if name in values:
            setattr(instance, name, values[name])


def _m2m(values: Mapping[str, Any], names: Sequence[str]) -> dict[str, Iterable]:
    return {name: values[name] for name in names if name in values}


def _apply_rows(
    *,
    parent: models.Model,
    model: type[models.Model],
    parent_field: str,
    edits: Sequence[RowEdit],
    fields: Sequence[str],
    m2m: Sequence[str],
    by,
) -> None:
    """Create, change and remove the parent's rows; each removal leaves its history record."""
    if not edits:
        return
    rows = model.objects.filter(**{parent_field: parent})
    existing = {row.pk: row for row in rows.filter(pk__in=[e.pk for e in edits if e.pk])}
    next_order = None
    for edit in edits:
        row = existing.get(edit.pk) if edit.pk is not None else None
        if edit.delete:
            if row is not None:
                row._history_user = by
                row.delete()
            continue
        if row is None:
            row = model(**{parent_field: parent})
            if hasattr(row, "order"):
                if next_order is None:
                    highest = rows.aggregate(highest=models.Max("order"))["highest"]
                    next_order = 0 if highest is None else highest + 1
                row.order = next_order
                next_order += 1
        _set_fields(row, edit.values, fields)
        if isinstance(row, Meeting) and not row.slug:
            row.slug = _meeting_slug(parent, row)
        _save(row, by=by, m2m=_m2m(edit.values, m2m))


def _meeting_slug(group: Group, meeting: Meeting) -> str:
    """The meeting's Meeting Guide slug, made once and stored, so that apps that read the
    feed keep following the same meeting when its time or place changes later."""
    key = f"{DAY_ABBREVIATIONS[meeting.weekday]}-{meeting.start_time:%H%M}"
    base = meeting_slug(group.slug, key)
    taken = set(Meeting.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _unique_slug(name: str) -> str:
    base = slugify(name)[:110].strip("-") or "listing"
    taken = set(Group.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    taken |= RESERVED_SLUGS
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def create_group(
    *,
    values: Mapping[str, Any],
    contacts: Sequence[RowEdit] = (),
    meetings: Sequence[RowEdit] = (),
    by,
) -> Group:
    """A new listing, with its first contacts and meetings. New listings start unverified.

    Raises ``DuplicateListing`` if a listing of that name exists: two listings of one name
    would confuse clinicians, and a double-clicked "Add" must create one listing. (Locking the
    listing's headings makes two such requests wait for each other on PostgreSQL; SQLite
    writes one transaction at a time anyway.)
    """
    headings = [category.pk for category in values.get("categories", ())]
    list(Category.objects.select_for_update().filter(pk__in=headings))
    existing = Group.objects.filter(name__iexact=values["name"].strip()).first()
    if existing is not None:
        raise DuplicateListing(existing)
    group = Group(slug=_unique_slug(values["name"]))
    _set_fields(group, values, GROUP_FIELDS)
    _save(group, by=by, m2m=_m2m(values, GROUP_M2M))
    _apply_rows(
        parent=group,
        model=Contact,
        parent_field="group",
        edits=contacts,
        fields=CONTACT_FIELDS,
        m2m=CONTACT_M2M,
        by=by,
    )
    _apply_rows(
        parent=group,
        model=Meeting,
        parent_field="group",
        edits=meetings,
        fields=MEETING_FIELDS + MEETING_FEED_FIELDS,
        m2m=(),
        by=by,
    )
    return group


def update_group(
    *,
    group: Group,
    version: int,
    values: Mapping[str, Any],
    contacts: Sequence[RowEdit] = (),
    meetings: Sequence[RowEdit] = (),
    by,
) -> Group:
    """Save an edit of the listing, its contacts and meetings, made from ``version``.

    Raises ``EditConflict`` (and writes nothing) when the listing has been saved since.
    """
    with transaction.atomic():
        # The optimistic lock: one conditional UPDATE. On PostgreSQL a concurrent save waits
        # for this row, then finds the version moved and updates nothing.
        moved_on = Group.objects.filter(pk=group.pk, version=version).update(version=version + 1)
        if not moved_on:
            raise EditConflict(Group.objects.get(pk=group.pk))
        group = Group.objects.get(pk=group.pk)
        _apply_rows(
            parent=group,
            model=Contact,
            parent_field="group",
            edits=contacts,
            fields=CONTACT_FIELDS,
            m2m=CONTACT_M2M,
            by=by,
        )
        _apply_rows(
            parent=group,
            model=Meeting,
            parent_field="group",
            edits=meetings,
            fields=MEETING_FIELDS + MEETING_FEED_FIELDS,
            m2m=(),
            by=by,
        )
        _set_fields(group, values, GROUP_FIELDS)
        _save(group, by=by, m2m=_m2m(values, GROUP_M2M))
    return group


def _locked(group: Group) -> Group:
    """The listing as it is in the database, locked until the transaction ends.

    History records copy the instance in memory, so writes start from a fresh copy: a page
    loaded before someone else's edit must not write its stale values back into the history.
    """
    return Group.objects.select_for_update().get(pk=group.pk)


@transaction.atomic
def verify_group(*, group: Group, by, on: date | None = None) -> Group:
    """VII.D: record that the listing was checked against the group itself, by whom and when."""
    group = _locked(group)
    group.last_verified_on = on or local_today()
    group.last_verified_by = by
    return _save(group, by=by)


@transaction.atomic
def archive_group(*, group: Group, by) -> Group:
    """Take the listing out of the clinicians' search, keeping it and its history."""
    group = _locked(group)
    if group.archived_at is None:
        group.archived_at = timezone.now()
        _save(group, by=by)
    return group


@transaction.atomic
def unarchive_group(*, group: Group, by) -> Group:
    group = _locked(group)
    if group.archived_at is not None:
        group.archived_at = None
        _save(group, by=by)
    return group


@transaction.atomic
def set_criteria(*, group: Group, statuses: Mapping[str, str], by) -> list[str]:
    """II.A–H: record, per criterion, whether the listing meets it, does not, or is not
    confirmed (``CriterionConfirmation.Status``). Criteria not named keep their status.

    Each criterion whose status changes records who changed it and when (going back to "not
    confirmed" is recorded too). Returns the criteria that changed.
    """
    unknown = set(statuses) - set(Criterion.values)
    if unknown:
        raise ValueError(f"Unknown criteria: {sorted(unknown)}")
    bad = set(statuses.values()) - set(CriterionConfirmation.Status.values)
    if bad:
        raise ValueError(f"Unknown statuses: {sorted(bad)}")
    group = _locked(group)
    rows = {row.criterion: row for row in CriterionConfirmation.objects.filter(group=group)}
    now = timezone.now()
    changed = []
    for criterion in Criterion.values:
        if criterion not in statuses:
            continue
        wanted = statuses[criterion]
        row = rows.get(criterion)
        if row is None:
            if wanted == CriterionConfirmation.Status.NOT_CONFIRMED:
                continue  # no row means not confirmed: nothing to record
            row = CriterionConfirmation(group=group, criterion=criterion)
        elif row.status == wanted:
            continue
        row.status = wanted
        row.confirmed_by = by
        row.confirmed_at = now
        _save(row, by=by)
        changed.append(criterion)
    return changed


@transaction.atomic
def raise_flag(
    *,
    by,
    summary: str,
    detail: str = "",
    concerns_medication: bool = False,
    group: Group | None = None,
    resource: ReferralResource | None = None,
) -> ReviewFlag:
    """A doubt about a listing or a resource, for a site admin to resolve."""
    if group is None and resource is None:
        raise ValueError("A review flag is about a listing or a resource.")
    # The same doubt raised twice (a double-clicked button) is one flag. Locking what it is
    # about makes two such requests wait for each other.
    if group is not None:
        _locked(group)
    else:
        ReferralResource.objects.select_for_update().get(pk=resource.pk)
    same = ReviewFlag.objects.filter(
        group=group, resource=resource, summary=summary, resolved_at__isnull=True
    ).first()
    if same is not None:
        return same
    flag = ReviewFlag(
        group=group,
        resource=resource,
        source=ReviewFlag.Source.ADMIN,
        summary=summary,
        detail=detail,
        concerns_medication=concerns_medication,
        opened_by=by,
    )
    return _save(flag, by=by)


class OutcomeRequired(ValueError):
    """A medication concern is resolved with an outcome (VI.C); other flags take none."""


@transaction.atomic
def resolve_flag(*, flag: ReviewFlag, note: str, by, outcome: str = "") -> ReviewFlag:
    """Close a review flag with a note saying what was done; records who and when.

    A medication concern (VI.C) needs an outcome, and the outcome acts on the listing in the
    same transaction: "stance changed" records that members discourage prescribed medication
    or do not treat medicated members as full members; "group removed" archives the listing.
    Every chosen group of an open referral is assessed from these facts at read time
    (``referrals/selectors/medication_safety.py``), so the clinicians' alerts follow at once.
    """
    if not note.strip():
        raise ValueError("A resolution needs a note.")
    flag = ReviewFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.resolved_at is not None:
        raise AlreadyResolved(flag)
    if flag.concerns_medication and flag.group_id is not None:
        if outcome not in ReviewFlag.Outcome.values:
            raise OutcomeRequired(
                "Say what was found: unfounded, stance changed, or group removed (VI.C)."
            )
    elif outcome:
        raise OutcomeRequired("Only a medication concern about a listing takes an outcome.")
    if outcome == ReviewFlag.Outcome.STANCE_CHANGED:
        group = _locked(flag.group)
        if group.medication_stance != Group.MedicationStance.DISCOURAGES:
            group.medication_stance = Group.MedicationStance.DISCOURAGES
            # A concurrent edit of the listing, started from the old version, must not put
            # the old stance back: it is refused (the edit's optimistic lock).
            group.version += 1
            group._change_reason = "VI.C medication concern confirmed: stance changed"
            _save(group, by=by)
    elif outcome == ReviewFlag.Outcome.GROUP_REMOVED:
        archive_group(group=flag.group, by=by)
    flag.resolved_at = timezone.now()
    flag.resolved_by = by
    flag.resolution_note = note.strip()
    flag.outcome = outcome
    return _save(flag, by=by)


@transaction.atomic
def update_resource(
    *,
    resource: ReferralResource,
    values: Mapping[str, Any],
    phones: Sequence[RowEdit] = (),
    by,
) -> ReferralResource:
    """VIII.D–E: correct SHARE!, the Friendship Line or the Client Coalition, and its phones.

    A new phone the resource already has (the same number and extension) is not added again:
    the same form sent twice (a double click, design notes section 5) adds the phone once.
    The lock makes the second request wait for the first and see its phone.
    """
    resource = ReferralResource.objects.select_for_update().get(pk=resource.pk)
    listed = {_phone_key(row.phone, row.extension) for row in resource.phones.all()}
    phones = [
        edit
        for edit in phones
        if edit.pk is not None
        or edit.delete
        or _phone_key(edit.values.get("phone"), edit.values.get("extension")) not in listed
    ]
    _apply_rows(
        parent=resource,
        model=ResourcePhone,
        parent_field="resource",
        edits=phones,
        fields=RESOURCE_PHONE_FIELDS,
        m2m=(),
        by=by,
    )
    _set_fields(resource, values, RESOURCE_FIELDS)
    return _save(resource, by=by)


def _phone_key(phone, extension) -> tuple[str, str]:
    """A phone as a number in E.164 and its extension, to tell whether two are the same."""
    number = getattr(phone, "as_e164", None) or str(phone or "")
    return number, (extension or "").strip()
