"""Reads the client pages need, each a fixed number of queries whatever the data size.

Every read starts from ``Client.objects.for_clinic(user.clinic_id)``: staff of another clinic,
and a superuser (who has no clinic), reach no client here, so a page asking for one answers 404.
"""

from __future__ import annotations

from django.db.models import Q

from clients.models import Client
from core.search import Fold, fold

LIST_PAGE_SIZE = 25
# A search shows at most this many; more means the search should be narrower.
FIND_LIMIT = 50


def clinic_clients(user):
    """The clients the user may reach: those of their own clinic, none without a clinic."""
    return Client.objects.for_clinic(getattr(user, "clinic_id", None))


def client_list(user, *, mine: bool):
    """The clinic's clients by last name, or only those whose primary clinician is the user."""
    clients = clinic_clients(user).select_related("primary_clinician")
    if mine:
        clients = clients.filter(primary_clinician=user)
    return clients.order_by("last_name", "first_name", "id")


def find_clients(user, *, record_number: str | None = None, name_terms=()):
    """Clients of the user's clinic matching an exact record number or every name term.

    A name term matches part of the first or the last name, in any case and with or without
    accents ("ana gar" and "GARCIA" find Ana García, "maria" finds María). Returns the first
    ``FIND_LIMIT`` by last name and whether there were more.
    """
    clients = clinic_clients(user).select_related("primary_clinician")
    if record_number is not None:
        clients = clients.filter(record_number=record_number)
    elif name_terms:
        clients = clients.annotate(folded_first=Fold("first_name"), folded_last=Fold("last_name"))
        for term in name_terms:
            folded = fold(term)
            clients = clients.filter(
                Q(folded_first__contains=folded) | Q(folded_last__contains=folded)
            )
    found = list(clients.order_by("last_name", "first_name", "id")[: FIND_LIMIT + 1])
    return found[:FIND_LIMIT], len(found) > FIND_LIMIT


def client_rows():
    """Clients with their primary clinician; ``core.access.fetch`` scopes them to the clinic."""
    return Client.objects.select_related("primary_clinician")


def last_change(client: Client):
    """The latest history record of the client: who saved it last, and when."""
    return client.history.select_related("history_user").order_by("-history_id").first()
