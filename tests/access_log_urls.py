"""A URL configuration for testing the access-log decorator against a real request cycle.

Staff members stand in for client records: they belong to a clinic as clients will.
"""

from django.contrib.auth import get_user_model
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.urls import path

from accounts.models import AccessEvent
from accounts.services.access_log import access_logged
from config import urls as project_urls


@access_logged(AccessEvent.Action.VIEW)
def view_record(request, pk):
    request.access_log.attempted("user", pk)
    record = get_object_or_404(
        get_user_model().objects.filter(clinic_id=request.user.clinic_id), pk=pk
    )
    request.access_log.subject(record)
    return HttpResponse("shown")


@access_logged(AccessEvent.Action.EDIT)
def edit_record(request, pk):
    request.access_log.attempted("user", pk)
    return HttpResponseBadRequest("invalid")


urlpatterns = [
    path("record/<int:pk>/", view_record),
    path("record/<int:pk>/edit/", edit_record),
    *project_urls.urlpatterns,  # the error pages link home
]
