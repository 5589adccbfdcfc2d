"""The client's feedback (IX.B): the checks of one entry, and what the pages read of it.

The checks (``check_feedback``) run in the form, so that the page can mark the field, and again
in ``clients/services/feedback.py`` for every other caller. ``flag_text`` writes the review
flag a concern opens (VI.C) from fixed sentences only: the kinds of concern and the date, never
anything about the client. The reads give the groups to choose from (those chosen for the
client's referrals) and the client page's section, a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import Count, Window
from django.utils import timezone

from clients.models import Client, Feedback
from directory.models import Group
from referrals.models import ReferredGroup

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


def clean_kinds(kinds: Iterable[str]) -> list[str]:
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


# --- reads ---------------------------------------------------------------------------------------


def groups_for_feedback(client: Client) -> tuple[list[Group], list[Group]]:
    """The listings feedback can be about: the client's referred groups first, then the rest.

    Any current listing (a client may talk about a group they found themselves); the groups
    of the client's referrals even if archived since. Two queries.
    """
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
    """For the client's page: one query whatever the number of entries (the latest ``limit``
    with their groups, recorders and flags, each carrying the count of all of them,
    ``COUNT(*) OVER ()``, computed before the limit)."""
    entries = with_labels(client_feedback(client).annotate(total=Window(Count("*")))[:limit])
    return FeedbackSummary(entries=entries, count=entries[0].total if entries else 0)
