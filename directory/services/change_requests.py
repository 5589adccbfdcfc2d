"""The groups' own corrections (VII.D): e-mailed single-use links, public suggestions, and the
site admin's field-by-field review.

A request never reaches the catalogue by itself: it waits in the review queue, and only the
fields a site admin accepts (as proposed or edited) are written, each history record naming the
request as its source.
"""

import secrets
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from directory.models import ChangeRequest, Contact, Group, VerificationLink
from directory.rules.currency import (
    APPLIED_FIELDS,
    MEDICATION_FIELDS,
    Answer,
    Stance,
    stance_from_answers,
)
from directory.selectors.change_requests import (
    LinkNotUsable,
    link_days,
    make_token,
    requests_from,
)
from directory.selectors.manage import local_today
from directory.services.listings import _locked, _save


class TooManyRequests(Exception):
    """This network address sent its hour's worth of requests already."""


class AlreadyReviewed(Exception):
    pass


def _rate_limit() -> int:
    return getattr(settings, "CHANGE_REQUESTS_PER_HOUR", 5)


@transaction.atomic
def send_verification_link(*, group: Group, email: str, by, site_url: str) -> VerificationLink:
    """E-mail the group a link to confirm or correct its listing (plain text, no sign-in)."""
    link = VerificationLink.objects.create(
        group=group,
        email=email,
        nonce=secrets.token_hex(16),
        sent_by=by,
        expires_at=timezone.now() + timedelta(days=link_days()),
    )
    url = site_url + reverse("public:verify-link", kwargs={"token": make_token(link)})
    body = (
        f"Hello,\n\n"
        f"Los Angeles County Department of Mental Health lists {group.name} in the list of "
        f"self-help groups its clinicians suggest to clients. Please check what we list about "
        f"your group and confirm it or correct it here (no account needed):\n\n{url}\n\n"
        f"The link works once and expires in {link_days()} days. If you did not expect this "
        f"message, you can ignore it.\n"
    )
    EmailMessage(
        subject=f"Please check your group's listing: {group.name}",
        body=body,
        to=[email],
    ).send()
    return link


@transaction.atomic
def submit_change_request(
    *,
    group: Group,
    source: str,
    proposed: Mapping[str, str],
    message: str = "",
    sender_name: str = "",
    sender_email: str = "",
    sender_key: str = "",
    confirms_all: bool = False,
    link: VerificationLink | None = None,
) -> ChangeRequest:
    """Queue a request for review. An e-mailed link is used up by it (single use)."""
    if sender_key and requests_from(sender_key) >= _rate_limit():
        raise TooManyRequests()
    if link is not None:
        link = VerificationLink.objects.select_for_update().get(pk=link.pk)
        if link.used_at is not None:
            raise LinkNotUsable("used")
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
    return ChangeRequest.objects.create(
        group=group,
        source=source,
        link=link,
        proposed=dict(proposed),
        message=message,
        sender_name=sender_name,
        sender_email=sender_email or (link.email if link else ""),
        sender_key=sender_key,
        confirms_all=confirms_all,
    )


def _reason(request: ChangeRequest) -> str:
    return f"Change request {request.pk}: {request.get_source_display()}"[:100]


@transaction.atomic
def review_change_request(
    *, request: ChangeRequest, decisions: Mapping[str, str | None], verify: bool, by
) -> ChangeRequest:
    """Write the accepted fields (``None`` means rejected) and close the request.

    ``verify`` marks the listing verified today: for a request the group's own contact sent
    through the e-mailed link, confirming or correcting the listing is a verification (VII.D).
    """
    request = ChangeRequest.objects.select_for_update().get(pk=request.pk)
    if request.state != ChangeRequest.State.OPEN:
        raise AlreadyReviewed()
    group = _locked(request.group)
    reason = _reason(request)
    changed = False
    for name in ("name", "description", "fees_note"):
        value = decisions.get(name)
        if value is not None and name in APPLIED_FIELDS:
            setattr(group, name, value)
            changed = True
    for name, kind, attr in (
        ("phone", Contact.Kind.PHONE, "phone"),
        ("email", Contact.Kind.EMAIL, "email"),
        ("website", Contact.Kind.WEB, "url"),
    ):
        value = decisions.get(name)
        if value is None:
            continue
        contact = group.contacts.filter(kind=kind).order_by("order", "pk").first()
        if contact is None:
            contact = Contact(group=group, kind=kind, order=group.contacts.count())
        setattr(contact, attr, value)
        contact.full_clean(exclude=["group", "service_areas"])
        contact._change_reason = reason
        _save(contact, by=by)
    answers = {
        name: decisions.get(name) for name in MEDICATION_FIELDS if decisions.get(name) is not None
    }
    if answers:
        # VI.C: the group's own answers, accepted by a site admin, give its stance.
        stance = stance_from_answers(
            Answer(answers.get("encourages_stopping") or Answer.NOT_ASKED),
            Answer(answers.get("full_members") or Answer.NOT_ASKED),
        )
        if stance != Stance.NOT_KNOWN or group.medication_stance == Stance.NOT_KNOWN:
            group.medication_stance = stance.value
            changed = True
    if verify:
        group.last_verified_on = local_today()
        group.last_verified_by = by
        changed = True
    if changed:
        group.version += 1
        group._change_reason = reason
        _save(group, by=by)
    request.state = ChangeRequest.State.REVIEWED
    request.decisions = {
        name: (
            "rejected"
            if value is None
            else "accepted"
            if value == request.proposed.get(name)
            else "edited"
        )
        for name, value in decisions.items()
    }
    request.reviewed_at = timezone.now()
    request.reviewed_by = by
    request.save()
    return request
