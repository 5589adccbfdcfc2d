"""The groups' own corrections, without signing in (VII.D): "Suggest a change" for any listing,
and the e-mailed single-use link a group's contact follows to confirm or correct its listing.

Everything sent lands in the site admins' review queue, never in the catalogue. Abuse limits:
a rate limit per network address (a keyed hash of it is kept, not the address), a size limit on
every field, a honeypot field robots fill in, and plain text only. Pages are in English or
Spanish (``?lang=es``, or the browser's language).
"""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import render
from django.utils import translation
from django.utils.crypto import salted_hmac
from django.views.decorators.http import require_http_methods

from directory.forms import ChangeRequestForm
from directory.models import ChangeRequest
from directory.selectors import change_requests as selectors
from directory.services import change_requests as services


def _language(request) -> str:
    wanted = request.GET.get("lang") or request.POST.get("lang")
    if wanted in ("en", "es"):
        return wanted
    return translation.get_language_from_request(request)


def _sender_key(request) -> str:
    address = request.META.get("REMOTE_ADDR", "")
    return salted_hmac("directory.change-request", address, algorithm="sha256").hexdigest()


def _submit(request, form, *, group, source, link=None, template, context):
    """Queue the request, or say plainly why not (the form comes back with what was typed)."""
    if form.is_robot():
        # The honeypot was filled: thank the robot and keep nothing.
        return render(request, "directory/public/thanks.html", {"group": group})
    if not form.is_valid():
        return render(request, template, {**context, "form": form}, status=400)
    try:
        services.submit_change_request(
            group=group,
            source=source,
            proposed=form.proposed(),
            message=form.cleaned_data.get("message", ""),
            sender_name=form.cleaned_data.get("sender_name", ""),
            sender_email=form.cleaned_data.get("sender_email", ""),
            sender_key=_sender_key(request),
            confirms_all=bool(form.cleaned_data.get("confirms_all")),
            link=link,
        )
    except services.TooManyRequests:
        form.add_error(
            None,
            translation.gettext(
                "Too many requests from your connection in the last hour. Please try again later."
            ),
        )
        return render(request, template, {**context, "form": form}, status=429)
    except selectors.LinkNotUsable as refused:
        return _link_refused(request, refused.reason)
    return render(request, "directory/public/thanks.html", {"group": group})


@login_not_required
@require_http_methods(["GET", "POST"])
def suggest_change(request, slug):
    with translation.override(_language(request)):
        group = selectors.public_group(slug)
        data = request.POST if request.method == "POST" else None
        form = ChangeRequestForm(data, group=group)
        context = {"group": group, "form": form, "lang": translation.get_language()}
        template = "directory/public/suggest.html"
        if data is None:
            return render(request, template, context)
        return _submit(
            request,
            form,
            group=group,
            source=ChangeRequest.Source.PUBLIC_FORM,
            template=template,
            context=context,
        )


def _link_refused(request, reason: str):
    status = 404 if reason == "invalid" else 410
    return render(request, "directory/public/link_refused.html", {"reason": reason}, status=status)


@login_not_required
@require_http_methods(["GET", "POST"])
def verify_with_link(request, token):
    with translation.override(_language(request)):
        try:
            link = selectors.link_for_token(token)
        except selectors.LinkNotUsable as refused:
            return _link_refused(request, refused.reason)
        group = link.group
        if group.archived_at is not None:
            raise Http404
        data = request.POST if request.method == "POST" else None
        form = ChangeRequestForm(data, group=group, with_confirm=True)
        context = {
            "group": group,
            "form": form,
            "current": selectors.current_values(group),
            "meetings": list(group.meetings.all()),
            "lang": translation.get_language(),
        }
        template = "directory/public/verify.html"
        if data is None:
            return render(request, template, context)
        return _submit(
            request,
            form,
            group=group,
            source=ChangeRequest.Source.EMAILED_LINK,
            link=link,
            template=template,
            context=context,
        )
