"""The clinic's peer contacts (policy VIII.K) and withdrawing one.

``/clients/peer-contacts/``: the clients of the user's clinic who agreed to be a contact
person for a group they attend: the group, the first name and the phone they chose to share,
the date they consented, and whether the consent stands. Clinicians of the clinic withdraw a
consent here (POST); it takes effect at once (``clients.services.peer_contacts``).

Only the clinic's own staff see this list and its phones. Clinicians of other clinics meet a
contact only as an introduction offered on a referral (VIII.C), by first name and group.

The access log: the list is one ``view`` row of type ``peercontact`` with no id (it shows
clients' first names and phones, so it counts as viewing client records, like the client
list); a withdrawal is an ``edit`` of that contact; another clinic's contact answers 404 and
the row records the id asked for.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.services.access_log import access_logged
from clients.selectors import peer_contacts
from clients.services import peer_contacts as peer_contact_services
from core.access import fetch


@permission_required("clients.view_peercontact")
@require_safe
@access_logged(AccessEvent.Action.VIEW)
def peer_contact_list(request):
    request.access_log.attempted("peercontact", "")  # a list: no one contact
    page = peer_contacts.clinic_page(request.user, request.GET.get("page"))
    rows = page.object_list
    who = peer_contacts.withdrawn_by(rows)
    for row in rows:
        row.withdrawn_by = who.get(row.pk)
    return render(request, "clients/peer_contacts.html", {"page": page, "contacts": rows})


@permission_required("clients.change_peercontact")
@require_POST
@access_logged(AccessEvent.Action.EDIT)
def peer_contact_withdraw(request, pk):
    contact = fetch(request, peer_contacts.peer_contacts(), pk)
    peer_contact_services.withdraw_peer_contact(contact=contact, by=request.user)
    # No name in the message: messages may travel in a cookie.
    messages.success(
        request, "The consent was withdrawn: no introduction offers this contact from now on."
    )
    return redirect("clients:peer-contacts")
