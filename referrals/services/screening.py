"""Writes for screening (IV–VI): one transaction, with the acting user ``by``.

The rules decide; this only records what they decided. Views pass answers the form (and
``eligibility.validate``) accepted.
"""

from datetime import datetime
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone

from clients.models import Client
from referrals.models import (
    Screening,
    ScreeningReason,
)
from referrals.rules import eligibility


def record_screening(
    *,
    client: Client,
    answers: eligibility.ScreeningAnswers,
    by,
    now: datetime | None = None,
    submission_id: UUID | None = None,
) -> Screening:
    """Save a screening and every reason the rules gave (IV–VI), and keep the client's VI.C
    flag in step with what the clinician just confirmed.

    ``submission_id`` is the one-time token of the form the clinician filled in (design
    notes, section 5: a double-clicked submit creates one record). A second submission of
    the same form returns the screening the first one saved; the unique constraint on the
    token settles two that arrive at the same instant.
    """
    outcome = eligibility.evaluate(answers)
    now = now or timezone.now()
    medicated = answers.on_prescribed_medication == eligibility.Answer.YES
    try:
        with transaction.atomic():
            # The client's row first, locked: screenings of one client (a double click, or
            # a colleague at once) wait for each other here, and the VI.C update below starts
            # from the client as saved now, not as the page loaded it (whose version may be
            # stale: an edit saved meanwhile would then not be noticed by the next editor).
            current = Client.objects.select_for_update().get(pk=client.pk)
            if submission_id is not None:
                earlier = Screening.objects.filter(
                    submission_id=submission_id, client_id=client.pk
                ).first()
                if earlier is not None:
                    return earlier
            screening = Screening.objects.create(
                client=current,
                clinic_id=current.clinic_id,
                screened_by=by,
                screened_at=now,
                answers=answers.as_dict(),
                decision=outcome.decision.value,
                on_prescribed_medication=medicated,
                submission_id=submission_id,
            )
            ScreeningReason.objects.bulk_create(
                ScreeningReason(
                    screening=screening,
                    clause=reason.clause,
                    code=reason.code,
                    kind=reason.kind.value,
                    message=reason.message[:300],
                    order=order,
                )
                for order, reason in enumerate(outcome.reasons)
            )
            # VI.C answered yes or no is the clinician's current finding; "not assessed" says
            # nothing new, so the record keeps what it had.
            assessed = answers.on_prescribed_medication != eligibility.Answer.NOT_ASSESSED
            if assessed and current.on_prescribed_medication != medicated:
                current.on_prescribed_medication = medicated
                current.version += 1
                current._history_user = by
                current._change_reason = f"VI.C confirmed in screening {screening.pk}"
                current.save(update_fields=["on_prescribed_medication", "version", "updated_at"])
            # The caller's copy follows what was saved.
            client.on_prescribed_medication = current.on_prescribed_medication
            client.version = current.version
    except IntegrityError:
        if submission_id is None:
            raise
        earlier = Screening.objects.filter(submission_id=submission_id, client_id=client.pk).first()
        if earlier is not None:
            return earlier  # the other submission of this form saved it a moment ago
        # The token is another client's screening's (an edited form): a screening of its own.
        return record_screening(client=client, answers=answers, by=by, now=now)
    return screening
