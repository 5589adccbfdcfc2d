"""Recording a client's 42 CFR Part 2 consent to disclose, and its revocation.

The referral's FHIR export (``referrals.rules.fhir``) sends substance-use information only
while a consent is in force: signed, not past its end date, not revoked. Revoking is the
client's right at any time (42 CFR 2.31(a)(6)); it is recorded with its date, never deleted.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction

from clients.models import Client, SubstanceUseConsent


@transaction.atomic
def record_consent(
    *,
    client: Client,
    recipient: str,
    purpose: str,
    signed_on: date,
    expires_on: date | None,
    expiry_event: str,
    by,
) -> SubstanceUseConsent:
    consent = SubstanceUseConsent(
        client=client,
        clinic_id=client.clinic_id,
        recipient=recipient,
        purpose=purpose,
        signed_on=signed_on,
        expires_on=expires_on,
        expiry_event=expiry_event,
        recorded_by=by,
    )
    consent._history_user = by
    consent.save()
    return consent


@transaction.atomic
def revoke_consent(*, consent: SubstanceUseConsent, revoked_on: date, by) -> SubstanceUseConsent:
    # Locked and re-read: a revocation recorded twice keeps the first date.
    consent = SubstanceUseConsent.objects.select_for_update().get(pk=consent.pk)
    if consent.revoked_on is None:
        consent.revoked_on = revoked_on
        consent._history_user = by
        consent.save(update_fields=["revoked_on"])
    return consent
