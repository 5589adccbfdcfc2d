"""Peer contacts (policy VIII.K): the one write, withdrawal.

Withdrawal takes effect at once: the row is ``withdrawn`` with the date in the same UPDATE, and
the introduction's reads take only ``active`` rows, so no introduction offered from then on
names the contact.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from clients.models import PeerContact


def withdraw_peer_contact(*, contact: PeerContact, by, today: date | None = None) -> PeerContact:
    """VIII.K: the client no longer wants to be a contact person. Takes effect at once.

    Locks the row, so that two withdrawals (or a withdrawal and an introduction) wait for each
    other; withdrawing an already withdrawn contact changes nothing (a double-clicked button).
    One history record says who withdrew it.
    """
    if getattr(by, "clinic_id", None) != contact.clinic_id:
        # The page reaches contacts only through the user's clinic; this guards other callers.
        raise ValueError("A peer contact is withdrawn by staff of their own clinic.")
    with transaction.atomic():
        current = PeerContact.objects.select_for_update().get(pk=contact.pk)
        if current.status == PeerContact.Status.ACTIVE:
            current.status = PeerContact.Status.WITHDRAWN
            current.withdrawn_on = today or timezone.localdate()
            current._history_user = by
            current._change_reason = "Withdrew as a contact person (VIII.K)"
            current.save(update_fields=["status", "withdrawn_on"])
    return current
