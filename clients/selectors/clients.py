"""Reads the client pages need, each a fixed number of queries whatever the data size.

Every read starts from ``Client.objects.for_clinic(user.clinic_id)``: staff of another clinic,
and a superuser (who has no clinic), reach no client here, so a page asking for one answers 404.
"""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from clients.models import Client

# The client's page also shows what the referrals app hangs on a client. Dependencies point one
# way (referrals → clients → directory, design notes section 3), so those models are reached
# through the reverse relations Django adds to Client, never imported here.
Screening = Client.screenings.rel.related_model
Referral = Client.referrals.rel.related_model
ReferredGroup = Referral.groups.rel.related_model

LIST_PAGE_SIZE = 25
# A search shows at most this many; more means the search should be narrower.
FIND_LIMIT = 50
# A client's page shows this many of the latest screenings and referrals, and says how many
# there are in all, so that the page stays short and its queries fixed.
SECTION_LIMIT = 25


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

    A name term matches part of the first or the last name, in any case ("ana gar" finds
    Ana García). Returns the first ``FIND_LIMIT`` by last name and whether there were more.
    """
    clients = clinic_clients(user).select_related("primary_clinician")
    if record_number is not None:
        clients = clients.filter(record_number=record_number)
    else:
        for term in name_terms:
            clients = clients.filter(Q(first_name__icontains=term) | Q(last_name__icontains=term))
    found = list(clients.order_by("last_name", "first_name", "id")[: FIND_LIMIT + 1])
    return found[:FIND_LIMIT], len(found) > FIND_LIMIT


def _count_of(model) -> Coalesce:
    """How many rows of ``model`` the client has, as a subquery (no join to multiply rows)."""
    counted = (
        model.objects.filter(client=OuterRef("pk"))
        .order_by()
        .values("client")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def client_page(user, pk: int) -> Client:
    """The client with their latest screenings and referrals (the chosen groups with them).

    Four queries whatever their number: the client (with the counts), the screenings with who
    screened, the referrals with the clinician, and the chosen groups with their listings.
    The related rows are filtered by clinic too: a second fence, should a row ever disagree
    with its client.
    """
    clinic_id = getattr(user, "clinic_id", None)
    screenings = (
        Screening.objects.filter(clinic_id=clinic_id)
        .select_related("screened_by")
        .order_by("-screened_at", "-id")
    )
    chosen = ReferredGroup.objects.select_related("group").order_by("suggested_rank", "id")
    referrals = (
        Referral.objects.filter(clinic_id=clinic_id)
        .select_related("clinician")
        .prefetch_related(Prefetch("groups", queryset=chosen, to_attr="chosen_groups"))
        .order_by("-created_at", "-id")
    )
    clients = (
        clinic_clients(user)
        .select_related("primary_clinician", "created_by")
        .annotate(screening_count=_count_of(Screening), referral_count=_count_of(Referral))
        .prefetch_related(
            Prefetch(
                "screenings",
                queryset=screenings[:SECTION_LIMIT],
                to_attr="recent_screenings",
            ),
            Prefetch(
                "referrals",
                queryset=referrals[:SECTION_LIMIT],
                to_attr="recent_referrals",
            ),
        )
    )
    return get_object_or_404(clients, pk=pk)


def client_for_edit(user, pk: int) -> Client:
    return get_object_or_404(clinic_clients(user).select_related("primary_clinician"), pk=pk)


def last_change(client: Client):
    """The latest history record of the client: who saved it last, and when."""
    return client.history.select_related("history_user").order_by("-history_id").first()
