"""Reads for the site admins' pages: the worklist, the edit page, the history, an edit conflict.

Each function runs a fixed number of queries whatever the size of the list or of its history.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    When,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.formats import date_format, time_format
from phonenumber_field.phonenumber import PhoneNumber
from simple_history.utils import get_m2m_reverse_field_name

from core.pagination import CountedPage, CountedPaginator
from directory.models import (
    Contact,
    Criterion,
    CriterionConfirmation,
    Group,
    Language,
    Meeting,
    ReferralResource,
    ReviewFlag,
    ServiceArea,
)
from directory.rules.listings import COUNTY_TIME_ZONE, GROUP_M2M
from directory.rules.meeting_types import type_label

WORKLIST_PAGE_SIZE = 25
HISTORY_PAGE_SIZE = 25
EMPTY = "—"

# Field labels where the model's own would not say enough (the policy clause included).
FIELD_LABELS = {
    "aliases": "Other names",
    "format": "Format (III)",
    "types": "Types (II, A–E)",
    "needs": "Helps with",
    "is_twelve_step": "Twelve-step",
    "medication_stance": "Medication stance (VI.C)",
    "etiquette_note": "Etiquette (VIII.F)",
    "evidence_note": "Evidence (I.F)",
    "fees_note": "Dues and fees (II.G)",
    "archived_at": "Archived",
    "url": "Web address",
    "area_label": "Area",
    "person_first_name": "Contact person",
    "online_url": "Online link",
    "type_codes": "Meeting types",
    "resolution_note": "Resolution note",
}


def local_today() -> date:
    """Today in the county (verification dates), whatever the server's clock zone."""
    return timezone.localdate(timezone=COUNTY_TIME_ZONE)


def field_label(model: type[models.Model], name: str) -> str:
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    verbose = str(model._meta.get_field(name).verbose_name)
    return verbose[:1].upper() + verbose[1:]


# --- The edit page -----------------------------------------------------------------------------


def group_for_edit(slug: str) -> Group:
    return get_object_or_404(
        Group.objects.select_related("last_verified_by").prefetch_related(*GROUP_M2M),
        slug=slug,
    )


def contacts_for_edit():
    return Contact.objects.prefetch_related("service_areas")


def meetings_for_edit():
    return Meeting.objects.all()


# --- The worklist ------------------------------------------------------------------------------


def stale_listings(today: date | None = None):
    """Listings in the clinicians' search not verified within a year (oldest first)."""
    return (
        Group.objects.current()
        .stale(today or local_today())
        .select_related("last_verified_by")
        .order_by(F("last_verified_on").asc(nulls_first=True), "name", "pk")
    )


def open_flags():
    """Open flags by risk: medication concerns first (VI.C: until resolved they keep a listing
    from medicated clients and raise alerts on referrals already made), then client feedback
    (a safety concern), then the rest; oldest first within each."""
    return (
        ReviewFlag.objects.filter(resolved_at__isnull=True)
        .select_related("group", "resource", "opened_by")
        .order_by(
            F("concerns_medication").desc(),
            Case(
                When(source=ReviewFlag.Source.FEEDBACK, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            "opened_at",
            "pk",
        )
    )


def unreachable_listings():
    """Listings with no phone, email or web address and no meeting: no way to reach them."""
    reachable = Contact.objects.filter(group=OuterRef("pk")).filter(
        ~Q(phone="") | ~Q(email="") | ~Q(url="")
    )
    meets = Meeting.objects.filter(group=OuterRef("pk"))
    return Group.objects.current().filter(~Exists(reachable), ~Exists(meets)).order_by("name", "pk")


@dataclass
class Worklist:
    stale: CountedPage
    flags: CountedPage
    unreachable: CountedPage


def worklist(pages: dict) -> Worklist:
    """Each section's page; two queries a section (its count and its page).

    Numbered pages with their counts: each section is part of the directory's listings
    (2,000 in the county, and it grows by hand, not with the clients) or of its open review
    flags, so no count reads more than the directory, and the site admin needs the totals.
    """

    def page(queryset, key):
        # Each section's links carry its own page number only (the others go back to 1).
        paginator = CountedPaginator(
            queryset, WORKLIST_PAGE_SIZE, count=queryset.count(), param=key
        )
        return paginator.get_page(pages.get(key))

    return Worklist(
        stale=page(stale_listings(), "stale_page"),
        flags=page(open_flags(), "flags_page"),
        unreachable=page(unreachable_listings(), "unreachable_page"),
    )


# --- Displaying recorded values ----------------------------------------------------------------


@dataclass
class Lookups:
    """Names for the ids a history record holds, fetched once for a whole page."""

    users: dict = field(default_factory=dict)
    areas: dict = field(default_factory=dict)
    languages: dict = field(default_factory=dict)


def display(model: type[models.Model], name: str, value, lookups: Lookups | None = None) -> str:
    """A recorded value as a person reads it."""
    if value is None or value == "" or value == []:
        return EMPTY
    model_field = model._meta.get_field(name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, PhoneNumber):
        return value.as_national if value.is_valid() else str(value)
    if isinstance(value, datetime):
        return date_format(timezone.localtime(value), "N j, Y, P")
    if isinstance(value, date):
        return date_format(value, "N j, Y")
    if isinstance(value, time):
        return time_format(value, "P")
    if isinstance(value, list | tuple):
        if name == "type_codes":
            return ", ".join(f"{code} ({type_label(code)})" for code in value)
        return ", ".join(str(item) for item in value) or EMPTY
    if isinstance(model_field, models.ForeignKey):
        related = model_field.related_model
        lookups = lookups or Lookups()
        table = {
            ServiceArea: lookups.areas,
            Language: lookups.languages,
        }.get(related, lookups.users if related is get_user_model() else None)
        if isinstance(value, models.Model):
            return str(value)
        if table is not None and value in table:
            return person(table[value]) if related is get_user_model() else str(table[value])
        return f"#{value}"
    return str(value)


def person(user) -> str:
    if user is None:
        return "the system"
    return user.get_full_name() or user.username


# --- History -----------------------------------------------------------------------------------


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class Entry:
    when: datetime
    who: str
    subject: str
    action: str
    changes: list[Change]
    # Where the change came from when not a plain edit: a verification call, a group's change
    # request, the 2008 seed (simple-history's change reason).
    source: str = ""


@dataclass(frozen=True)
class Source:
    """One kind of row in a listing's history."""

    key: str
    model: type[models.Model]
    group_field: str
    excluded: tuple[str, ...]

    @property
    def history_model(self):
        return self.model.history.model

    @property
    def m2m_names(self) -> list[str]:
        return [f.name for f in self.history_model._history_m2m_fields]


SOURCES = (
    Source("listing", Group, "id", ("id", "version", "slug")),
    Source("contact", Contact, "group_id", ("id", "group", "order")),
    Source("meeting", Meeting, "group_id", ("id", "group")),
    Source("criterion", CriterionConfirmation, "group_id", ("id", "group", "criterion")),
    Source("flag", ReviewFlag, "group_id", ("id", "group", "resource")),
)
ACTIONS = {"+": "Created", "~": "Changed", "-": "Removed"}
USER_FIELDS = {"last_verified_by", "confirmed_by", "opened_by", "resolved_by"}


def _subject(source: Source, record) -> str:
    if source.key == "listing":
        return f"Listing: {record.name}"
    if source.key == "contact":
        value = (
            display(Contact, "phone", record.phone)
            if record.kind == Contact.Kind.PHONE
            else record.email or record.url
        )
        if record.extension:
            value = f"{value} ext. {record.extension}"
        return f"Contact: {value or EMPTY}"
    if source.key == "meeting":
        weekday = Meeting.Weekday(record.weekday).label
        return f"Meeting: {weekday} {display(Meeting, 'start_time', record.start_time)}"
    if source.key == "criterion":
        return f"Criterion {record.criterion}: {Criterion(record.criterion).label}"
    return f"Review flag: {record.summary}"


def _m2m_names(source: Source, history_ids: Sequence[int]) -> dict:
    """{history_id: {field: "A, B"}} for the records' many-to-many values (a query a field)."""
    values = defaultdict(dict)
    if not history_ids:
        return values
    for m2m_field in source.history_model._history_m2m_fields:
        through = getattr(source.history_model, m2m_field.name).model
        related = get_m2m_reverse_field_name(m2m_field)
        names = defaultdict(list)
        rows = through.objects.filter(history_id__in=history_ids).select_related(related)
        for row in rows:
            names[row.history_id].append(str(getattr(row, related)))
        for history_id in history_ids:
            values[history_id][m2m_field.name] = ", ".join(sorted(names[history_id])) or EMPTY
    return values


def _changes(source: Source, record, previous, m2m: dict, lookups: Lookups) -> list[Change]:
    model = source.model
    m2m_names = source.m2m_names
    plain_fields = [
        f.name
        for f in record.tracked_fields
        if f.editable and f.name not in source.excluded and f.name not in m2m_names
    ]
    changes = []
    if previous is None or record.history_type == "+":
        for name in plain_fields:
            value = getattr(record, model._meta.get_field(name).attname)
            if value not in (None, "", [], False):
                changes.append(
                    Change(field_label(model, name), EMPTY, display(model, name, value, lookups))
                )
    elif record.history_type == "~":
        # simple-history's own diff for the plain fields; many-to-many ones compared below from
        # the values fetched for the whole page.
        delta = record.diff_against(
            previous, excluded_fields=[*source.excluded, *m2m_names], included_fields=plain_fields
        )
        for change in delta.changes:
            changes.append(
                Change(
                    field_label(model, change.field),
                    display(model, change.field, change.old, lookups),
                    display(model, change.field, change.new, lookups),
                )
            )
    for name in m2m_names:
        new = m2m.get(record.history_id, {}).get(name, EMPTY)
        old = EMPTY if previous is None else m2m.get(previous.history_id, {}).get(name, EMPTY)
        if record.history_type != "-" and new != old:
            changes.append(Change(field_label(model, name), old, new))
    return changes


def _lookups(records: Iterable) -> Lookups:
    user_ids, area_ids, language_ids = set(), set(), set()
    for record in records:
        for name in USER_FIELDS:
            if getattr(record, f"{name}_id", None):
                user_ids.add(getattr(record, f"{name}_id"))
        if getattr(record, "service_area_id", None):
            area_ids.add(record.service_area_id)
        if getattr(record, "language_id", None):
            language_ids.add(record.language_id)
    return Lookups(
        users=get_user_model().objects.in_bulk(user_ids),
        areas=ServiceArea.objects.in_bulk(area_ids),
        languages=Language.objects.in_bulk(language_ids),
    )


def group_history(group: Group, page_number) -> tuple[CountedPage, list[Entry]]:
    """The listing's history with its contacts', meetings', criteria's and flags', newest first.

    Queries: the count and the page of the merged timeline; then per kind of row on the page,
    its records (with the id of each one's previous record) and those previous records, and
    the many-to-many values of both; then the people and places the records name.
    """
    parts = [
        source.history_model.objects.filter(**{source.group_field: group.pk})
        .order_by()
        .annotate(entry_kind=Value(source.key, output_field=CharField()))
        .values_list("entry_kind", "history_id", "history_date")
        for source in SOURCES
    ]
    timeline = parts[0].union(*parts[1:], all=True).order_by("-history_date", "-history_id")
    # Numbered: one listing's history (its rows, and its contacts', meetings', criteria's and
    # flags'), each part read through the history table's index on the listing. A busy
    # listing gathers hundreds of records over years, not the 20,000 meetings' thousands.
    # Counted apart: a union takes no window annotation.
    page = CountedPaginator(timeline, HISTORY_PAGE_SIZE, count=timeline.count()).get_page(
        page_number
    )

    records, previous, m2m = {}, {}, {}
    for source in SOURCES:
        ids = [history_id for key, history_id, _ in page.object_list if key == source.key]
        if not ids:
            continue
        history = source.history_model.objects
        before = history.filter(id=OuterRef("id"), history_id__lt=OuterRef("history_id"))
        found = list(
            history.filter(history_id__in=ids)
            .select_related("history_user")
            .annotate(previous_id=Subquery(before.order_by("-history_id").values("history_id")[:1]))
        )
        records[source.key] = {r.history_id: r for r in found}
        previous[source.key] = history.in_bulk([r.previous_id for r in found if r.previous_id])
        m2m[source.key] = (
            _m2m_names(source, [*ids, *previous[source.key]]) if source.m2m_names else {}
        )

    lookups = _lookups(
        r for by_id in [*records.values(), *previous.values()] for r in by_id.values()
    )
    by_key = {source.key: source for source in SOURCES}
    entries = []
    for key, history_id, _ in page.object_list:
        source = by_key[key]
        record = records[key][history_id]
        before = previous[key].get(record.previous_id)
        changes = _changes(source, record, before, m2m[key], lookups)
        if record.history_type == "~" and not changes:
            # A save that changed no field shown here (the listing's version moving on when
            # only a meeting changed, a row saved as it was): a row saying so is only noise.
            continue
        entries.append(
            Entry(
                when=record.history_date,
                who=person(record.history_user),
                subject=_subject(source, record),
                action=ACTIONS[record.history_type],
                changes=changes,
                source=record.history_change_reason or "",
            )
        )
    return page, entries


# --- An edit conflict --------------------------------------------------------------------------


@dataclass
class ConflictRow:
    field: str
    theirs: str
    yours: str


@dataclass
class Conflict:
    editor_ids: set[int]
    editors: list[tuple[str, datetime]]
    rows: list[ConflictRow]
    row_notes: list[str]
    from_history: bool


def _your_value(form, name: str) -> str:
    cleaned = getattr(form, "cleaned_data", {})
    if name not in cleaned:
        return ", ".join(form.data.getlist(form.add_prefix(name))) or EMPTY
    value = cleaned[name]
    if isinstance(value, models.QuerySet):
        return ", ".join(sorted(str(item) for item in value)) or EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(value) or EMPTY
    choices = getattr(form.fields[name], "choices", None)
    if choices:
        return str(dict(choices).get(value, value)) or EMPTY
    return str(value) or EMPTY


def _current_value(group: Group, name: str) -> str:
    if name in GROUP_M2M:
        return ", ".join(sorted(str(item) for item in getattr(group, name).all())) or EMPTY
    return display(Group, name, getattr(group, name))


def edit_conflict(
    *, group: Group, loaded_version: int, form, moved_fields: Sequence[str], row_notes
) -> Conflict:
    """What others saved since this editor loaded the listing: who, when, and which fields,
    with their value now beside this editor's.

    The fields come from the history (simple-history's diff between the record at the version
    the editor loaded and the latest one); when the history does not reach back that far (a
    listing loaded from the seed has no record of its first version), from comparing the
    values the editor loaded with those saved now (``moved_fields``).
    """
    history = Group.history.filter(id=group.pk)
    newer = list(
        history.filter(version__gt=loaded_version)
        .select_related("history_user")
        .order_by("history_id")
    )
    base = history.filter(version=loaded_version).order_by("-history_id").first()
    editable = [name for name in form.fields if form.fields[name].show_hidden_initial]
    if base is not None and newer:
        delta = newer[-1].diff_against(base, included_fields=editable)
        changed = [name for name in editable if name in delta.changed_fields]
    else:
        changed = [name for name in editable if name in moved_fields]
    rows = [
        ConflictRow(
            field=str(form.fields[name].label or field_label(Group, name)),
            theirs=_current_value(group, name),
            yours=_your_value(form, name),
        )
        for name in changed
    ]
    editors = [(person(record.history_user), record.history_date) for record in newer]
    return Conflict(
        editor_ids={record.history_user_id for record in newer},
        editors=editors,
        rows=rows,
        row_notes=list(row_notes),
        from_history=base is not None and bool(newer),
    )


def created_just_now_by(group: Group, user, *, within: timedelta = timedelta(minutes=2)):
    """Whether ``user`` added ``group`` moments ago (so a second "Add" is a double click)."""
    return group.history.filter(
        history_type="+", history_user=user, history_date__gte=timezone.now() - within
    ).exists()


def resources():
    """The referral resources with their phones and open review flags (three queries)."""
    return ReferralResource.objects.prefetch_related(
        "phones",
        Prefetch(
            "review_flags",
            queryset=ReviewFlag.objects.filter(resolved_at__isnull=True),
            to_attr="open_flags",
        ),
    ).order_by("name")
