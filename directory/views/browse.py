"""Reading the annotated referral list (policy VII.C–D). Replaced by the full search below."""

from django.shortcuts import render
from django.urls import path

from accounts.permissions import permission_required
from directory.models import Group


@permission_required("directory.view_group")
def search(request):
    groups = Group.objects.current().order_by("name")[:50]
    return render(request, "directory/search.html", {"groups": groups})


urlpatterns = [path("", search, name="search")]
