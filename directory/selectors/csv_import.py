"""Planning a CSV import against the catalogue: the preview of what it would change. Reads only.

Our own reader rather than django-import-export's dry run: that dry run writes and rolls back,
its many-to-many widget silently drops names it does not know (a misspelt need would vanish
rather than be reported), and a listing's phones, emails and web addresses are rows of another
table. Here the parsed rows (``directory.rules.csv_rows``) are matched in a fixed number of
queries and shown as a plan with every problem by row and column, written once a site admin
confirms.

Matching and updating:
- a row names its listing by **slug** (unique, stable, what every export identifies a listing
  by); without one, by exact name (case aside). A name shared by several listings is an error
  asking for the slug, because guessing would overwrite the wrong group.
- A row matching nothing creates a listing, never a second one of a name already in use nor one
  whose slug is a directory page's address.
- An update replaces the listing's lists with the row's; a phone, email or web address already
  there keeps its hours, contact person and note, and one the row drops is removed (the preview
  says so).
- "Last verified" is exported for information, never imported: verifying (who and when) is done
  on the listing's page.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator, validate_slug
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils.text import slugify

from directory.models import (
    Category,
    Contact,
    Format,
    Group,
    GroupType,
    Language,
    Need,
    ServiceArea,
)
from directory.rules.csv_rows import PhoneValue, Problem, parse_phone, read_rows, split_cell
from directory.rules.listings import RESERVED_SLUGS
from directory.rules.spreadsheet import SEPARATOR

RESERVED = "“{slug}” is the address of a directory page; give the listing another slug."

NAME_MAX = Group._meta.get_field("name").max_length
SLUG_MAX = Group._meta.get_field("slug").max_length
URL_MAX = Contact._meta.get_field("url").max_length
EMAIL_MAX = Contact._meta.get_field("email").max_length

_FORMAT_CODE = re.compile(r"^(III\.[A-I])\b", re.IGNORECASE)
_TYPE_CODE = re.compile(r"^([A-E])(?:\.|\s|$)")


@dataclass(frozen=True)
class Change:
    """A column's value before and after; for phones, emails and web addresses, ``before`` is
    what the import removes and ``after`` what it adds (``contacts`` is then true)."""

    column: str
    before: str
    after: str
    contacts: bool = False


@dataclass
class RowPlan:
    row: int
    name: str = ""
    slug: str = ""
    action: str = "error"  # create, update, unchanged, error
    group: Group | None = None
    version: int | None = None
    values: dict = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Contacts: what to add, which existing contacts to relabel or remove.
    add_phones: list[PhoneValue] = field(default_factory=list)
    relabel: list[tuple[KnownContact, str]] = field(default_factory=list)
    add_emails: list[str] = field(default_factory=list)
    add_urls: list[str] = field(default_factory=list)
    remove: list[KnownContact] = field(default_factory=list)

    @property
    def action_label(self) -> str:
        return {
            "create": "New listing",
            "update": "Update",
            "unchanged": "No change",
            "error": "Not imported: see the problems",
        }[self.action]


@dataclass
class ImportPlan:
    rows: list[RowPlan]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def counts(self) -> dict[str, int]:
        """How many of each action, for the page: create, update, unchanged, error."""
        return {action: self.count(action) for action in ("create", "update", "unchanged", "error")}

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def fingerprint(self) -> str:
        """What the admin was shown, as a hash: a confirmation writes only this plan."""
        summary = [
            [
                row.row,
                row.action,
                row.slug,
                row.group.pk if row.group else None,
                row.version,
                [[c.column, c.before, c.after] for c in row.changes],
            ]
            for row in self.rows
        ]
        return hashlib.sha256(json.dumps(summary, sort_keys=True).encode()).hexdigest()


# --- Matching names against the catalogue ---------------------------------------------------


@dataclass(frozen=True)
class KnownContact:
    """A contact of a listing, as the plan compares it: plain values, read without a model
    object (and so without parsing each stored phone again); ``phone`` is stored as E.164."""

    pk: int
    kind: str
    phone: str
    extension: str
    area_label: str
    email: str
    url: str


# What a plan reads of each listing (its search document and descriptions are not needed).
_GROUP_FIELDS = ("pk", "slug", "name", "status", "format", "medication_stance")
_GROUP_FIELDS += ("version", "archived_at")


@dataclass
class Lookups:
    """Everything a plan compares rows with, read once (a fixed number of queries).

    The listings' lists and contacts are read as plain values (link rows and tuples), the
    lists mapped onto the vocabulary's objects: a prefetch made a model object per link row,
    half of a 5,000-row plan's time at county scale.
    """

    categories: dict[str, Category]
    needs: dict[str, Need]
    types: dict[str, GroupType]
    languages: dict[str, Language]
    areas: dict[str, ServiceArea]
    by_slug: dict[str, Group]
    by_name: dict[str, list[Group]]
    lists: dict[int, dict[str, list]] = field(default_factory=dict)
    contacts: dict[int, list[KnownContact]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Lookups:
        def keyed(objects, *attributes):
            table = {}
            for obj in objects:
                for attribute in attributes:
                    table.setdefault(str(getattr(obj, attribute)).casefold(), obj)
            return table

        vocabulary = {
            "categories": list(Category.objects.all()),
            "needs": list(Need.objects.all()),
            "types": list(GroupType.objects.all()),
            "languages": list(Language.objects.all()),
            "service_areas": list(ServiceArea.objects.all()),
        }
        groups = list(Group.objects.order_by("pk").only(*_GROUP_FIELDS))
        lists: dict[int, dict[str, list]] = {group.pk: {} for group in groups}
        for attribute, objects in vocabulary.items():
            # In the vocabulary's own order, as the related manager would list them.
            by_pk = {obj.pk: obj for obj in objects}
            rank = {obj.pk: position for position, obj in enumerate(objects)}
            relation = getattr(Group, attribute)
            source = relation.field.m2m_field_name() + "_id"
            target = relation.field.m2m_reverse_field_name() + "_id"
            pairs = relation.through.objects.order_by().values_list(source, target)
            for group_id, target_id in sorted(pairs, key=lambda pair: rank[pair[1]]):
                lists.setdefault(group_id, {}).setdefault(attribute, []).append(by_pk[target_id])
        contacts: dict[int, list[KnownContact]] = {}
        # The phone as stored (E.164 text): read through the field, each would be parsed again.
        stored_phone = Cast("phone", output_field=TextField())
        for group_id, *values in (
            Contact.objects.order_by("order", "id")
            .annotate(stored_phone=stored_phone)
            .values_list(
                "group_id", "pk", "kind", "stored_phone", "extension", "area_label", "email", "url"
            )
        ):
            contacts.setdefault(group_id, []).append(KnownContact(*values))
        by_name: dict[str, list[Group]] = {}
        for group in groups:
            if group.archived_at is None:
                by_name.setdefault(group.name.casefold(), []).append(group)
        return cls(
            categories=keyed(vocabulary["categories"], "name", "slug"),
            needs=keyed(vocabulary["needs"], "name", "slug"),
            types=keyed(vocabulary["types"], "code", "name"),
            languages=keyed(vocabulary["languages"], "name", "code"),
            areas=keyed(vocabulary["service_areas"], "name", "slug"),
            by_slug={group.slug: group for group in groups},
            by_name=by_name,
            lists=lists,
            contacts=contacts,
        )


# VI.C stance labels files exported before the labels named both limbs still carry.
FORMER_STANCE_LABELS = {
    "affirms members on prescribed medication": Group.MedicationStance.AFFIRMING,
    "discourages or excludes members on medication": Group.MedicationStance.DISCOURAGES,
}


def _choice(value: str, choices) -> str | None:
    folded = value.casefold()
    for choice in choices:
        if folded in (choice.value.casefold(), choice.label.casefold()):
            return choice.value
    return None


def _many(row: RowPlan, values: dict, column: str, table: dict, what: str, key=None) -> list:
    found = []
    for part in split_cell(values.get(column, "")):
        lookup = key(part) if key else part
        obj = table.get(lookup.casefold())
        if obj is None:
            known = sorted({str(o) for o in table.values()})
            listed = ", ".join(known[:12]) + (", …" if len(known) > 12 else "")
            row.problems.append(
                Problem(row.row, column, f"“{part}” is not a {what} of the directory ({listed}).")
            )
        elif obj not in found:
            found.append(obj)
    return found


def _type_key(part: str) -> str:
    match = _TYPE_CODE.match(part)
    return match.group(1) if match else part


def parse_row(number: int, values: dict[str, str], lookups: Lookups) -> RowPlan:
    """One row's values, checked; problems are collected, not stopped at."""
    row = RowPlan(row=number)
    if "__extra__" in values:
        row.problems.append(
            Problem(
                number,
                "",
                f"The row has {values['__extra__']} cells; the header has {len(values) - 1}. "
                "A value with a comma in it must be in double quotes.",
            )
        )
    row.name = values.get("Name", "")
    if not row.name:
        row.problems.append(Problem(number, "Name", "A listing needs a name."))
    elif len(row.name) > NAME_MAX:
        row.problems.append(Problem(number, "Name", f"Longer than {NAME_MAX} characters."))
    row.slug = values.get("Slug", "")
    if row.slug:
        try:
            validate_slug(row.slug)
        except ValidationError:
            row.problems.append(
                Problem(
                    number,
                    "Slug",
                    f"“{row.slug}” is not a slug: letters, digits, hyphens, underscores only.",
                )
            )
        if len(row.slug) > SLUG_MAX:
            row.problems.append(Problem(number, "Slug", f"Longer than {SLUG_MAX} characters."))
        if row.slug in RESERVED_SLUGS:
            row.problems.append(Problem(number, "Slug", RESERVED.format(slug=row.slug)))

    parsed: dict = {"name": row.name}
    parsed["categories"] = _many(row, values, "Headings", lookups.categories, "heading")
    if not parsed["categories"] and not any(p.column == "Headings" for p in row.problems):
        row.problems.append(
            Problem(number, "Headings", "A listing needs at least one heading of the list.")
        )
    parsed["needs"] = _many(row, values, "Needs", lookups.needs, "need")
    parsed["types"] = _many(row, values, "Types", lookups.types, "type (A–E)", key=_type_key)
    parsed["languages"] = _many(row, values, "Languages", lookups.languages, "language")
    parsed["service_areas"] = _many(row, values, "Service areas", lookups.areas, "service area")

    status = values.get("Status", "")
    parsed["status"] = _choice(status, Group.Status) if status else None
    if parsed["status"] is None:
        labels = ", ".join(str(choice.label) for choice in Group.Status)
        message = f"“{status}” is not a status ({labels})." if status else "Give a status."
        row.problems.append(Problem(number, "Status", message))

    format_text = values.get("Format", "")
    match = _FORMAT_CODE.match(format_text)
    parsed["format"] = (
        match.group(1).upper() if match else _choice(format_text, Format) if format_text else None
    )
    if parsed["format"] is None:
        message = (
            f"“{format_text}” is not one of the formats III.A–III.I."
            if format_text
            else "Give the format (III.A–III.I)."
        )
        row.problems.append(Problem(number, "Format", message))

    stance = values.get("Medication stance", "")
    # VI.C: unless the file says otherwise, a group's stance on medication is not known.
    parsed["medication_stance"] = (
        (_choice(stance, Group.MedicationStance) or FORMER_STANCE_LABELS.get(stance.casefold()))
        if stance
        else Group.MedicationStance.NOT_KNOWN
    )
    if parsed["medication_stance"] is None:
        labels = ", ".join(str(choice.label) for choice in Group.MedicationStance)
        row.problems.append(
            Problem(number, "Medication stance", f"“{stance}” is not one of: {labels}.")
        )

    phones = []
    for part in split_cell(values.get("Phones", "")):
        try:
            phones.append(parse_phone(part))
        except ValueError as error:
            row.problems.append(Problem(number, "Phones", str(error)))
    parsed["phones"] = phones

    emails = []
    for part in split_cell(values.get("Emails", "")):
        try:
            EmailValidator()(part)
            if len(part) > EMAIL_MAX:
                raise ValidationError("too long")
        except ValidationError:
            row.problems.append(Problem(number, "Emails", f"“{part}” is not an email address."))
        else:
            if part.casefold() not in {e.casefold() for e in emails}:
                emails.append(part)
    parsed["emails"] = emails

    urls = []
    for part in split_cell(values.get("Web addresses", "")):
        try:
            URLValidator(schemes=["http", "https"])(part)
            if len(part) > URL_MAX:
                raise ValidationError("too long")
        except ValidationError:
            row.problems.append(
                Problem(
                    number,
                    "Web addresses",
                    f"“{part}” is not a web address (it must start with http:// or https://).",
                )
            )
        else:
            if part not in urls:
                urls.append(part)
    parsed["urls"] = urls
    row.values = parsed
    return row


# --- Planning -------------------------------------------------------------------------------


def _names(objects: Iterable) -> str:
    return SEPARATOR.join(str(obj) for obj in objects)


def _contacts_plan(row: RowPlan, existing: list[KnownContact]) -> None:
    phones = [c for c in existing if c.kind == Contact.Kind.PHONE and c.phone]
    for value in row.values["phones"]:
        match = next(
            (c for c in phones if (c.phone, c.extension) == (value.number, value.extension)),
            None,
        )
        if match is None:
            row.add_phones.append(value)
        else:
            phones.remove(match)
            if match.area_label != value.area:
                row.relabel.append((match, value.area))
    emails = [c for c in existing if c.kind == Contact.Kind.EMAIL]
    for value in row.values["emails"]:
        match = next((c for c in emails if c.email.casefold() == value.casefold()), None)
        if match is None:
            row.add_emails.append(value)
        else:
            emails.remove(match)
    urls = [c for c in existing if c.kind == Contact.Kind.WEB]
    for value in row.values["urls"]:
        match = next((c for c in urls if c.url == value), None)
        if match is None:
            row.add_urls.append(value)
        else:
            urls.remove(match)
    # What the row no longer lists (a phone-kind contact without a number is left alone).
    row.remove = phones + emails + urls


def _describe_contacts(row: RowPlan) -> list[Change]:
    changes = []
    for kind, column, added in (
        (Contact.Kind.PHONE, "Phones", row.add_phones),
        (Contact.Kind.EMAIL, "Emails", row.add_emails),
        (Contact.Kind.WEB, "Web addresses", row.add_urls),
    ):
        before = [_contact_text(c) for c in row.remove if c.kind == kind]
        after = [str(value) for value in added]
        if kind == Contact.Kind.PHONE:
            for contact, area in row.relabel:
                before.append(_contact_text(contact))
                after.append(str(PhoneValue(contact.phone, contact.extension, area)))
        if before or after:
            changes.append(Change(column, _names(before), _names(after), contacts=True))
    return changes


def _contact_text(contact: KnownContact) -> str:
    if contact.kind == Contact.Kind.PHONE:
        return str(PhoneValue(contact.phone, contact.extension, contact.area_label))
    return contact.email if contact.kind == Contact.Kind.EMAIL else contact.url


FIELD_COLUMNS = (
    ("name", "Name"),
    ("status", "Status"),
    ("format", "Format"),
    ("medication_stance", "Medication stance"),
)
MANY_COLUMNS = (
    ("categories", "Headings"),
    ("needs", "Needs"),
    ("types", "Types"),
    ("languages", "Languages"),
    ("service_areas", "Service areas"),
)


def _display(attribute: str, value) -> str:
    if attribute == "status":
        return str(Group.Status(value).label)
    if attribute == "format":
        return f"{value} {Format(value).label}"
    if attribute == "medication_stance":
        return str(Group.MedicationStance(value).label)
    return str(value)


def _field_changes(row: RowPlan, group: Group | None, lists: dict[str, list]) -> list[Change]:
    changes = []
    for attribute, column in FIELD_COLUMNS:
        after = row.values[attribute]
        before = getattr(group, attribute) if group else None
        if before != after:
            changes.append(
                Change(
                    column, _display(attribute, before) if group else "", _display(attribute, after)
                )
            )
    for attribute, column in MANY_COLUMNS:
        after = row.values[attribute]
        before = lists.get(attribute, [])
        if {obj.pk for obj in before} != {obj.pk for obj in after}:
            changes.append(Change(column, _names(before), _names(after)))
    return changes


def plan_rows(rows: list[tuple[int, dict[str, str]]], lookups: Lookups) -> ImportPlan:
    plans: list[RowPlan] = []
    claimed: dict[str, int] = {}
    new_names: dict[str, int] = {}
    for number, values in rows:
        row = parse_row(number, values, lookups)
        group = _find_listing(row, lookups)
        if group is not None and group.archived_at is not None:
            row.problems.append(
                Problem(
                    number,
                    "Slug",
                    f"“{group.name}” is archived; an import does not change archived listings.",
                )
            )
        if group is None and not row.problems:
            # As services.create_group: two listings of one name would confuse clinicians.
            same_name = lookups.by_name.get(row.name.casefold(), [])
            if same_name:
                row.problems.append(
                    Problem(
                        number,
                        "Name",
                        f"A listing called “{same_name[0].name}” exists already (slug "
                        f"“{same_name[0].slug}”); give that slug to update it.",
                    )
                )
            elif row.name.casefold() in new_names:
                row.problems.append(
                    Problem(
                        number,
                        "Name",
                        f"Row {new_names[row.name.casefold()]} adds a listing of this name.",
                    )
                )
            else:
                new_names[row.name.casefold()] = number
        if row.slug:
            if row.slug in claimed:
                row.problems.append(
                    Problem(number, "Slug", f"Row {claimed[row.slug]} is about the same listing.")
                )
            else:
                claimed[row.slug] = number
        if row.problems:
            row.action = "error"
            plans.append(row)
            continue
        row.group = group
        row.version = group.version if group else None
        _contacts_plan(row, lookups.contacts.get(group.pk, []) if group else [])
        lists = lookups.lists.get(group.pk, {}) if group else {}
        row.changes = _field_changes(row, group, lists) + _describe_contacts(row)
        if group is None:
            row.action = "create"
        else:
            row.action = "update" if row.changes else "unchanged"
        plans.append(row)
    problems = [problem for row in plans for problem in row.problems]
    return ImportPlan(rows=plans, problems=problems)


def _find_listing(row: RowPlan, lookups: Lookups) -> Group | None:
    """The listing this row is about (see the module's note on matching), or None: a new one."""
    if row.problems and any(p.column in ("Name", "Slug") for p in row.problems):
        return None
    if row.slug:
        return lookups.by_slug.get(row.slug)
    same_name = lookups.by_name.get(row.name.casefold(), [])
    if len(same_name) > 1:
        row.problems.append(
            Problem(
                row.row,
                "Name",
                f"{len(same_name)} listings are called “{row.name}”; give the slug of the one "
                "this row is about.",
            )
        )
        return None
    if same_name:
        row.slug = same_name[0].slug
        return same_name[0]
    row.slug = slugify(row.name)[:SLUG_MAX].strip("-")
    if not row.slug:
        row.problems.append(
            Problem(row.row, "Slug", "No slug can be made from this name; give one.")
        )
        return None
    if row.slug in RESERVED_SLUGS:
        row.problems.append(Problem(row.row, "Slug", RESERVED.format(slug=row.slug)))
        return None
    taken = lookups.by_slug.get(row.slug)
    if taken is not None:
        row.problems.append(
            Problem(
                row.row,
                "Slug",
                f"The slug “{row.slug}” made from the name belongs to “{taken.name}”; "
                "give this row a slug of its own.",
            )
        )
    return None


def plan_import(text: str) -> ImportPlan:
    """Read the file and plan it against the catalogue. Reads only; FileRefused if unreadable."""
    return plan_rows(read_rows(text), Lookups.load())


# --- A long import's progress (written by the worker: directory.services.csv_import) --------


@dataclass(frozen=True)
class Progress:
    """Where a background import is, for its progress page: the step (of three), what it
    means, and, once finished, what was written or why nothing was."""

    step: int  # 1 queued, 2 checking and writing, 3 finished
    label: str
    finished: bool = False
    ok: bool = False
    message: str = ""

    @property
    def percent(self) -> int:
        return {1: 10, 2: 50, 3: 100}[self.step]


OUTDATED = (
    "The directory changed after the preview was made (someone saved a listing or imported a "
    "file), so nothing was written. Upload the file again to see a fresh preview."
)


def progress(status: str, value: dict | None) -> Progress:
    """The status of ``confirm_in_background``'s task (a ``TaskResultStatus`` name) and, once
    it succeeded, what it returned, as a step."""
    if status == "READY":
        return Progress(1, "Waiting for the background worker to start it")
    if status == "RUNNING":
        return Progress(2, "Checking the file against the directory again and writing it")
    if status != "SUCCESSFUL":
        return Progress(
            3,
            "Stopped",
            finished=True,
            message="The import stopped with an error, and nothing of it was saved. Upload "
            "the file again; if it happens again, tell the application's administrator.",
        )
    value = value or {}
    if value.get("result") == "outdated":
        return Progress(3, "Not written", finished=True, message=OUTDATED)
    if value.get("result") != "written":
        return Progress(
            3,
            "Not written",
            finished=True,
            message=f"The import could not be written, and nothing of it was saved: "
            f"{value.get('message', 'an error')}. Upload the file again to see a fresh preview.",
        )
    created = value.get("created", 0)
    return Progress(
        3,
        "Written",
        finished=True,
        ok=True,
        message=f"Imported: {created} new listing{'s' if created != 1 else ''}, "
        f"{value.get('updated', 0)} updated, {value.get('unchanged', 0)} unchanged.",
    )
