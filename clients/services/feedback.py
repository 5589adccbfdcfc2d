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
(``referrals.selectors.matching.matching_listings``, which reads open flags with
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
from datetime import date

from django.db import transaction

from clients.models import Client, Feedback
from clients.selectors.feedback import FLAGGED_CONCERNS, check_feedback, clean_kinds, flag_text
from directory.models import Group, ReviewFlag


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
    kinds = clean_kinds(concern_kinds)
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
