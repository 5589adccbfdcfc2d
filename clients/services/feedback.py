"""The client's feedback on self-help groups (policy IX.B), and the VI.C loop it starts.

IX.B asks for the client's feedback to be documented: groups attended, frequency of attendance,
observations and concerns. VI.C keeps clients on prescribed psychiatric medication away from
groups that urge members to stop it or treat medicated members as less than full members, and a
client's report is the directory's only way to learn that. So a medication concern opens a
``directory.ReviewFlag`` on the listing in the same transaction as the feedback: matching keeps
the listing from every medicated client until a site admin resolves the flag, and the resolution
is shown with the feedback, so the clinician sees what became of the concern.

The flag is read by site admins, who see no clients: it names the kind of concern and nothing
about the client (no name, record number, or the clinician's free text, which may hold a name).
Its ``opened_by`` is the clinician, whom the admin can ask for more.

Which concerns open a flag:
- A safety concern opens one too (``concerns_medication`` False): it needs a site admin's look,
  but it is not a VI.C exclusion, so matching is not affected.
- "Another concern" opens none: its substance is only in the free text, which never leaves the
  client's record, so a flag would give the admin nothing to act on. It stays documented (IX.B).
- One flag per feedback, never folded into an open one: each report is resolved on its own, so
  an admin cannot clear a report they have not read. A double-sent form is recorded once.
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
