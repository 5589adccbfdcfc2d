"""A client's 42 CFR Part 2 consents, newest first (one query)."""

from __future__ import annotations

from clients.models import Client, SubstanceUseConsent


def consents_for(client: Client) -> list[SubstanceUseConsent]:
    return list(SubstanceUseConsent.objects.filter(client=client).select_related("recorded_by"))
