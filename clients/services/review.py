"""The supervisor's sign-off of a clinician's documentation for a period (IX.A–B)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from clients.models import DocumentationSignOff


def record_sign_off(*, clinic_id: int, clinician, start, end, note: str, by):
    """Write the sign-off; None when this clinician's period is already signed off (the
    database's unique constraint decides, so two supervisors at once still write one)."""
    try:
        with transaction.atomic():
            return DocumentationSignOff.objects.create(
                clinic_id=clinic_id,
                clinician=clinician,
                period_start=start,
                period_end=end,
                note=note,
                signed_by=by,
            )
    except IntegrityError:
        return None
