"""The client's 42 CFR Part 2 consents to disclose substance-use information (a page per client).

A clinician records the written consent as the signed form states it (to whom, for what, when
signed, when it ends) and records a revocation with its date. The referral's FHIR export sends
substance-use information (IV.D, substance-use groups) only while a consent is in force.

Clinicians of the client's clinic only; another clinic's client answers 404 and the attempt is
logged. Each request writes one access-log row naming the client: ``view`` for the page,
``create`` for a consent recorded (or refused), ``edit`` for a revocation.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.models import AccessEvent
from accounts.permissions import permission_required
from accounts.services.access_log import access_logged
from clients.forms import Part2ConsentForm, Part2RevocationForm
from clients.rules import part2
from clients.selectors import clients as client_selectors
from clients.selectors import part2_consents as selectors
from clients.selectors.feedback import county_today
from clients.services import part2_consents as services
from core.access import fetch


def _render(request, client, *, form=None, revocation=None, status=200):
    today = county_today()
    consents = selectors.consents_for(client)
    for consent in consents:
        consent.in_force = part2.in_force(
            signed_on=consent.signed_on,
            expires_on=consent.expires_on,
            revoked_on=consent.revoked_on,
            today=today,
        )
    return render(
        request,
        "clients/part2_consents.html",
        {
            "client": client,
            "consents": consents,
            "form": form or Part2ConsentForm(today=today, initial={"signed_on": today}),
            "revocation": revocation,
            "today": today,
        },
        status=status,
    )


def _client(request, pk):
    return fetch(request, client_selectors.client_rows(), pk)


@permission_required("clients.add_substanceuseconsent")
@require_http_methods(["GET", "POST"])
def part2_consents(request, pk):
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            return _revoke(request, pk)
        return _create(request, pk)
    return _page(request, pk)


@access_logged(AccessEvent.Action.VIEW)
def _page(request, pk):
    return _render(request, _client(request, pk))


def _back(client):
    return redirect(reverse("clients:part2-consents", kwargs={"pk": client.pk}))


@access_logged(AccessEvent.Action.CREATE)
def _create(request, pk):
    client = _client(request, pk)
    form = Part2ConsentForm(request.POST, today=county_today())
    if not form.is_valid():
        return _render(request, client, form=form, status=400)
    data = form.cleaned_data
    services.record_consent(
        client=client,
        recipient=data["recipient"],
        purpose=data["purpose"],
        signed_on=data["signed_on"],
        expires_on=data["expires_on"],
        expiry_event=data["expiry_event"],
        by=request.user,
    )
    messages.success(request, "The 42 CFR Part 2 consent was recorded.")
    return _back(client)


@access_logged(AccessEvent.Action.EDIT)
def _revoke(request, pk):
    client = _client(request, pk)
    form = Part2RevocationForm(
        request.POST, consents=selectors.consents_for(client), today=county_today()
    )
    if not form.is_valid():
        return _render(request, client, revocation=form, status=400)
    services.revoke_consent(
        consent=form.cleaned_data["consent"],
        revoked_on=form.cleaned_data["revoked_on"],
        by=request.user,
    )
    messages.success(request, "The revocation was recorded: nothing more is sent under it.")
    return _back(client)
