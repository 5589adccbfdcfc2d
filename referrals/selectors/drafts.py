"""The clients' draft referrals, for the client list and search: a client screened "refer"
has one (``services.referral.start_referral``), and the list links straight to it."""

from __future__ import annotations

from referrals.models import Referral


def open_drafts(client_ids) -> dict[int, int]:
    """Client id to the id of their draft referral (still preparing), for the clients given.
    One query, whatever their number."""
    return dict(
        Referral.objects.filter(
            client_id__in=list(client_ids), status=Referral.Status.PREPARING
        ).values_list("client_id", "id")
    )
