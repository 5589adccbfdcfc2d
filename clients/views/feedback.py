"""Documenting a client's feedback on a group (policy IX.B), from the client's page.

The group (the client's referred groups first), the date, how often they go, their observations,
concerns and the kinds of concern. A medication concern opens a review flag for the site admins
at once (VI.C); the feedback, and what became of its flag, shows on the client's page.

Tenancy and the access log as on every client page: another clinic's client answers 404 and the
log records the id asked for. Each request writes one row naming the client, ``view`` when the
form is opened and ``create`` when it is sent (saved or refused), so that the log answers "who
touched this client's record" without a join.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.services.access_log import access_logged
from clients.forms import FeedbackForm
from clients.selectors import clients as client_selectors
from clients.selectors import feedback as feedback_selectors
from clients.services import feedback as feedback_services
from core.access import fetch


def _client(request, pk):
    return fetch(request, client_selectors.client_rows(), pk)


def _form(client, data=None):
    referred, others = feedback_selectors.groups_for_feedback(client)
    initial = {"given_on": feedback_selectors.county_today()}
    if len(referred) == 1:
        initial["group"] = referred[0].pk
    return FeedbackForm(data, referred=referred, others=others, initial=initial)


def _render(request, client, form, status=200):
    return render(
        request, "clients/feedback_form.html", {"client": client, "form": form}, status=status
    )


@permission_required("clients.add_feedback")
@require_http_methods(["GET", "POST"])
def feedback_create(request, pk):
    if request.method == "POST":
        return _create(request, pk)
    return _blank(request, pk)


@access_logged(AccessEvent.Action.VIEW)
def _blank(request, pk):
    client = _client(request, pk)
    return _render(request, client, _form(client))


@access_logged(AccessEvent.Action.CREATE)
def _create(request, pk):
    client = _client(request, pk)
    form = _form(client, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            entry = feedback_services.record_feedback(
                client=client,
                group=data["group"],
                given_on=data["given_on"],
                frequency=data["frequency"],
                observations=data["observations"],
                concerns=data["concerns"],
                concern_kinds=data["concern_kinds"],
                by=request.user,
            )
        except ValidationError as error:  # the same rules, should the day have turned since
            form.add_error(None, error)
        else:
            request.access_log.subject(entry)  # what was created: feedback, not the client
            # No client's name in messages: they may travel in a cookie. A group's name is not PHI.
            messages.success(request, "The feedback was documented.")
            if entry.review_flag_id and entry.review_flag.concerns_medication:
                messages.warning(
                    request,
                    f"A review flag was opened for the site admins. Until one resolves it, "
                    f"{entry.group.name} is not suggested to clients on prescribed medication "
                    f"(VI.C).",
                )
            elif entry.review_flag_id:
                messages.info(request, "A review flag was opened for the site admins.")
            return redirect(reverse("clients:detail", kwargs={"pk": client.pk}) + "#feedback")
    return _render(request, client, form, status=400)
