"""The client's feedback on self-help groups (policy IX.B), and the VI.C loop it starts.

IX.B: "When the client is willing to give feedback on the group or program, the relevant
feedback should also be documented, including groups attended, frequency of attendance, and
clients' observations or concerns about groups."

VI.C: for clients on appropriately prescribed psychiatric medication, no referral to a group
"where members encourage clients to stop taking their psychiatric medications against
physician advice, or where mental health consumers are not treated as full members of the
group because of their prescribed medication use". A client's report of either is the
directory's only way to learn it, so a medication concern opens a ``directory.ReviewFlag`` on
the listing at once, in the same transaction as the feedback: from that moment matching
(``referrals.selectors.matching_listings``, which reads open flags with
``concerns_medication``) keeps the listing from every medicated client, until a site admin
resolves the flag on their worklist. The resolution (note, who, when) is read back through
``Feedback.review_flag`` and shown with the feedback on the client's page, so the clinician
who documented the concern sees what became of it.

The flag is read by site admins, who see no clients (design notes, section 5). Its summary and
detail name the kind of concern and nothing about the client: no name, record number or
clinic client id, and none of the clinician's free text (which may well contain a name). The
flag's ``opened_by`` is the clinician, whom the admin can ask for more.

Decisions where the issue was silent:
- A safety concern opens a flag too (``concerns_medication`` False): a listing where members
  feel unsafe needs a site admin's look, but it is not a VI.C exclusion, so matching is not
  affected.
- "Another concern" opens no flag. Its substance is only in the clinician's free text, which
  never leaves the client's record; a flag saying "another concern" would give the admin
  nothing to act on, and the worklist would fill with them. It stays documented (IX.B).
- One flag per feedback, never folded into an open flag about the same listing: each report
  is resolved on its own, so an admin cannot clear a report they have not read, and each
  clinician sees the resolution of their own report. A double-sent form (the same feedback by
  the same clinician already saved) is recorded once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clients.models import Client, Feedback
from directory.models import Group, ReviewFlag

# A client's page shows this many of the latest feedback entries (and how many there are).
SUMMARY_LIMIT = 25

# Earlier dates are typing slips ("0225" for 2025), not feedback anyone documented.
EARLIEST_DATE = date(2000, 1, 1)

EMPTY_MESSAGE = (
    "Nothing was saved: the feedback is empty. Besides how often the client goes, give their "
    "observations or their concerns, or tick the kind of concern they raised."
)
FUTURE_MESSAGE = "The date the feedback was given cannot be in the future."
TOO_EARLY_MESSAGE = "Check the date the feedback was given: it is before 2000."
OTHER_NEEDS_TEXT_MESSAGE = (
    "Describe the other concern in “Concerns the client raised”, since “Another concern” is ticked."
)
UNKNOWN_KIND_MESSAGE = "Unknown kind of concern: {value}."

# The kinds that open a review flag for the site admins. "Other" does not (see above).
FLAGGED_CONCERNS = Feedback.MEDICATION_CONCERNS | {Feedback.Concern.SAFETY}


def county_today() -> date:
    # settings.TIME_ZONE is the county's (America/Los_Angeles): "today" is the clinic's day.
    return timezone.localdate()


def _clean_kinds(kinds: Iterable[str]) -> list[str]:
    """The concern kinds in the order the form lists them, each once; unknown ones refused."""
    wanted = list(kinds)
    known = set(Feedback.Concern.values)
    unknown = [kind for kind in wanted if kind not in known]
    if unknown:
        raise ValidationError(
            {"concern_kinds": UNKNOWN_KIND_MESSAGE.format(value=", ".join(map(str, unknown)))},
            code="invalid_choice",
        )
    return [kind for kind in Feedback.Concern.values if kind in wanted]


def check_feedback(
    *,
    given_on: date,
    frequency: str,
    observations: str,
    concerns: str,
    concern_kinds: list[str],
    today: date | None = None,
) -> None:
    """IX.B's rules for one feedback entry; raises ``ValidationError`` keyed by field.

    The form runs these before the service does, so that the page can mark the field; the
    service runs them again for every other caller.
    """
    errors: dict[str, list[str]] = {}
    today = today or county_today()
    if given_on > today:
        errors.setdefault("given_on", []).append(FUTURE_MESSAGE)
    elif given_on < EARLIEST_DATE:
        errors.setdefault("given_on", []).append(TOO_EARLY_MESSAGE)
    if frequency not in Feedback.Frequency.values:
        errors.setdefault("frequency", []).append("Say how often the client goes to the group.")
    if not (observations.strip() or concerns.strip() or concern_kinds):
        errors.setdefault("__all__", []).append(EMPTY_MESSAGE)
    if Feedback.Concern.OTHER in concern_kinds and not concerns.strip():
        errors.setdefault("concerns", []).append(OTHER_NEEDS_TEXT_MESSAGE)
    if errors:
        raise ValidationError(errors)


def flag_text(kinds: Iterable[str], *, given_on: date) -> tuple[str, str]:
    """The flag's summary and detail: the kinds of concern, never who raised them (VI.C).

    Only fixed sentences go in: the labels of the kinds and the date. Nothing typed by the
    clinician, and nothing about the client, reaches the site admins.
    """
    labels = [Feedback.Concern(kind).label for kind in kinds if kind in FLAGGED_CONCERNS]
    summary = "Client feedback: " + "; ".join(labels)
    lines = [
        f"A client's feedback, given on {given_on:%B} {given_on.day}, {given_on.year}, "
        "reports: " + "; ".join(label.lower() for label in labels) + ".",
    ]
    if Feedback.MEDICATION_CONCERNS & set(kinds):
        lines.append(
            "Policy VI.C: until this flag is resolved, the listing is not suggested to clients "
            "on prescribed psychiatric medication."
        )
    lines.append(
        "Who the client is, and their own words, stay in their clinical record. For more, ask "
        "the clinician who raised this flag."
    )
    return summary[:300], "\n".join(lines)


def _open_flag(*, group: Group, kinds: list[str], given_on: date, by) -> ReviewFlag:
    # Not directory.services.raise_flag: that records the source as a site admin's and folds
    # the same doubt into one open flag; a client's report is its own flag (module docstring).
    summary, detail = flag_text(kinds, given_on=given_on)
    flag = ReviewFlag(
        group=group,
        source=ReviewFlag.Source.FEEDBACK,
        summary=summary,
        detail=detail,
        concerns_medication=bool(Feedback.MEDICATION_CONCERNS & set(kinds)),
        opened_by=by,
    )
    flag._history_user = by
    flag._change_reason = "Opened by client feedback (IX.B)"
    flag.save()
    return flag


def record_feedback(
    *,
    client: Client,
    group: Group,
    given_on: date,
    frequency: str,
    observations: str = "",
    concerns: str = "",
    concern_kinds: Iterable[str] = (),
    by,
    today: date | None = None,
) -> Feedback:
    """Document a client's feedback on a group (IX.B), in one transaction.

    A medication concern (VI.C) or a safety concern opens a review flag on the listing in the
    same transaction, and the feedback links to it: the listing leaves medicated clients'
    suggestions the moment the feedback is saved, or neither happens.
    """
    if by.clinic_id != client.clinic_id:
        # Pages reach clients only through the user's clinic; this guards other callers.
        raise ValueError("Feedback is documented by staff of the client's clinic.")
    kinds = _clean_kinds(concern_kinds)
    observations, concerns = observations.strip(), concerns.strip()
    check_feedback(
        given_on=given_on,
        frequency=frequency,
        observations=observations,
        concerns=concerns,
        concern_kinds=kinds,
        today=today,
    )
    with transaction.atomic():
        # Two sends of one form wait for each other here; the second finds the first saved.
        Client.objects.select_for_update().filter(pk=client.pk).first()
        same = (
            Feedback.objects.filter(
                client=client,
                group=group,
                given_on=given_on,
                frequency=frequency,
                observations=observations,
                concerns=concerns,
                recorded_by=by,
            )
            .order_by("-id")
            .first()
        )
        if same is not None and same.concern_kinds == kinds:
            return same
        flag = None
        if FLAGGED_CONCERNS & set(kinds):
            flag = _open_flag(group=group, kinds=kinds, given_on=given_on, by=by)
        feedback = Feedback(
            client=client,
            clinic_id=client.clinic_id,
            group=group,
            given_on=given_on,
            frequency=frequency,
            observations=observations,
            concerns=concerns,
            concern_kinds=kinds,
            review_flag=flag,
            recorded_by=by,
        )
        feedback._history_user = by
        feedback._change_reason = "Feedback documented (IX.B)"
        feedback.save()
    return feedback


# --- reads ---------------------------------------------------------------------------------------


def groups_for_feedback(client: Client) -> tuple[list[Group], list[Group]]:
    """The listings feedback can be about: the client's referred groups first, then the rest.

    Any current listing (a client may talk about a group they found themselves); the groups
    of the client's referrals even if archived since. Two queries. The referrals are reached
    through ``Client.referrals`` (clients never import referrals: design notes, section 3).
    """
    Referral = Client.referrals.rel.related_model
    ReferredGroup = Referral.groups.rel.related_model
    referred_ids = set(
        ReferredGroup.objects.filter(
            referral__client_id=client.pk, referral__clinic_id=client.clinic_id
        ).values_list("group_id", flat=True)
    )
    groups = Group.objects.filter(archived_at__isnull=True) | Group.objects.filter(
        pk__in=referred_ids
    )
    groups = list(groups.only("id", "name", "slug", "archived_at").order_by("name", "id"))
    referred = [g for g in groups if g.pk in referred_ids]
    others = [g for g in groups if g.pk not in referred_ids]
    return referred, others


def client_feedback(client: Client):
    """The client's feedback, newest first, with its group and any review flag's resolution.

    Filtered by the clinic too: a second fence, should a row ever disagree with its client.
    """
    return (
        Feedback.objects.filter(client_id=client.pk, clinic_id=client.clinic_id)
        .select_related("group", "recorded_by", "review_flag", "review_flag__resolved_by")
        .order_by("-given_on", "-id")
    )


def with_labels(entries: Iterable[Feedback]) -> list[Feedback]:
    """Each entry with ``kind_labels``: its concern kinds as the form words them."""
    labels = dict(Feedback.Concern.choices)
    entries = list(entries)
    for entry in entries:
        entry.kind_labels = [labels.get(kind, kind) for kind in entry.concern_kinds]
    return entries


@dataclass(frozen=True)
class FeedbackSummary:
    """The client page's feedback section: the latest entries and how many there are."""

    entries: list[Feedback]
    count: int

    @property
    def more(self) -> bool:
        return self.count > len(self.entries)

    @property
    def open_flags(self) -> int:
        return sum(1 for e in self.entries if e.review_flag and e.review_flag.is_open)


def feedback_summary(client: Client, *, limit: int = SUMMARY_LIMIT) -> FeedbackSummary:
    """For the client's page: two queries whatever the number of entries (the latest
    ``limit`` with their groups, recorders and flags in one query, and the count)."""
    entries = with_labels(client_feedback(client)[:limit])
    count = Feedback.objects.filter(client_id=client.pk, clinic_id=client.clinic_id).count()
    return FeedbackSummary(entries=entries, count=count)
