"""Client record pages (placeholder while being written)."""

from django.shortcuts import render

from accounts.models import AccessEvent
from accounts.access_log import access_logged
from accounts.permissions import permission_required


@permission_required("clients.view_client")
@access_logged(AccessEvent.Action.VIEW)
def client_list(request):
    return render(request, "clients/list.html", {"page_obj": None})
