"""Peer contacts (policy VIII.K, VIII.C): what the clinic's list reads.

VIII.K: "Clinicians should ask suitable clients if they would like to be a contact person for the
group they attend." A yes is recorded on the referral's step K, with the first name and phone
the client chose to share and the date they consented.

Staff of the contact's own clinic see that phone, the consent date and whether the consent still
stands. Clinicians of other clinics get only what a VIII.C introduction needs, the first name
and the group, from ``referrals.selectors.referral.peers_for``, never from here. A withdrawal
takes effect at once: only ``active`` rows are offered or accepted for an introduction.
"""

from __future__ import annotations

from django.db.models import F

from clients.models import PeerContact
from core.pagination import CountedPage, CountedPaginator

# A clinic's list, a page at a time.
PAGE_SIZE = 50


def clinic_peer_contacts(user):
    """The contacts of the user's clinic (none without one), the active ones first.

    The group and the client come with each row. Filtered by the client's clinic too, a
    second fence should the two disagree.
    """
    clinic_id = getattr(user, "clinic_id", None)
    if clinic_id is None:
        return PeerContact.objects.none()
    return (
        PeerContact.objects.filter(clinic_id=clinic_id, client__clinic_id=clinic_id)
        .select_related("group", "client")
        .order_by("status", "group__name", "first_name", "id")  # "active" < "withdrawn"
    )


def clinic_page(user, number) -> CountedPage:
    """A page of the clinic's list: two queries, its count and its rows.

    Numbered pages, with their count: a clinic's contact persons are the few of its clients
    who agreed to be one (hundreds, where the clinic has thousands of clients), read through
    the clinic's index. The list is sorted by the group's name, across a join, so a keyset
    page (``core.pagination.keyset_page``) would sort the same rows and save nothing.
    """
    contacts = clinic_peer_contacts(user)
    return CountedPaginator(contacts, PAGE_SIZE, count=contacts.count()).get_page(number)


def peer_contacts():
    """Contacts with their group and client, ordered as the clinic's list shows them; scoped to
    a clinic by ``for_clinic`` (``core.access.fetch``), and to clients of that same clinic, a
    second fence should the two disagree."""
    return (
        PeerContact.objects.filter(client__clinic_id=F("clinic_id"))
        .select_related("group", "client")
        .order_by("status", "group__name", "first_name", "id")  # "active" < "withdrawn"
    )


def withdrawn_by(contacts) -> dict[int, object]:
    """Who withdrew each withdrawn contact, from their history: one query for a page."""
    ids = [c.pk for c in contacts if c.status == PeerContact.Status.WITHDRAWN]
    if not ids:
        return {}
    who: dict[int, object] = {}
    records = (
        PeerContact.history.filter(id__in=ids, status=PeerContact.Status.WITHDRAWN)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    for record in records:
        who.setdefault(record.id, record.history_user)  # the first withdrawn record
    return who
