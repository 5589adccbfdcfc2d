"""Reads for the groups' change requests: the e-mailed link's token, the review queue, one
request beside the listing as it is now.

The token is signed (it cannot be made up or altered), carries the link's row id and nonce,
and expires; the row makes it single-use.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.pagination import CountedPage, CountedPaginator
from directory.models import ChangeRequest, Contact, Group, VerificationLink

TOKEN_SALT = "directory.verification-link"  # noqa: S105 (a namespace, not a secret)
QUEUE_PAGE_SIZE = 25


class LinkNotUsable(Exception):
    """The link is unknown, altered, expired or used already; ``reason`` says which, plainly."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def link_days() -> int:
    return getattr(settings, "VERIFICATION_LINK_DAYS", 14)


def make_token(link: VerificationLink) -> str:
    return signing.dumps({"l": link.pk, "n": link.nonce}, salt=TOKEN_SALT, compress=True)


def link_for_token(token: str) -> VerificationLink:
    """The unused, unexpired link a token names, or ``LinkNotUsable``."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=timedelta(days=link_days()))
    except signing.SignatureExpired as error:
        raise LinkNotUsable("expired") from error
    except signing.BadSignature as error:
        raise LinkNotUsable("invalid") from error
    if not isinstance(data, dict):
        raise LinkNotUsable("invalid")
    link = (
        VerificationLink.objects.select_related("group")
        .filter(pk=data.get("l"), nonce=data.get("n"))
        .first()
    )
    if link is None:
        raise LinkNotUsable("invalid")
    if link.used_at is not None:
        raise LinkNotUsable("used")
    if link.expires_at <= timezone.now():
        raise LinkNotUsable("expired")
    return link


def requests_from(sender_key: str, *, within: timedelta = timedelta(hours=1)) -> int:
    return ChangeRequest.objects.filter(
        sender_key=sender_key, submitted_at__gte=timezone.now() - within
    ).count()


def open_requests(page_number) -> CountedPage:
    queryset = (
        ChangeRequest.objects.filter(state=ChangeRequest.State.OPEN)
        .select_related("group")
        .order_by("submitted_at", "pk")
    )
    return CountedPaginator(queryset, QUEUE_PAGE_SIZE, count=queryset.count()).get_page(page_number)


def request_for_review(pk: int) -> ChangeRequest:
    return get_object_or_404(ChangeRequest.objects.select_related("group", "reviewed_by"), pk=pk)


def current_values(group: Group) -> dict[str, str]:
    """The listing's values for the fields a request may propose, to show side by side."""
    contacts = list(group.contacts.all())

    def first(kind, attr):
        for contact in contacts:
            if contact.kind == kind:
                value = getattr(contact, attr)
                return contact.display_value if attr == "phone" else str(value or "")
        return ""

    return {
        "name": group.name,
        "description": group.description,
        "phone": first(Contact.Kind.PHONE, "phone"),
        "email": first(Contact.Kind.EMAIL, "email"),
        "website": first(Contact.Kind.WEB, "url"),
        "fees_note": group.fees_note,
        "meetings": "; ".join(
            f"{m.get_weekday_display()} {m.start_time:%H:%M} {_place(m)}".strip()
            for m in group.meetings.all()
        ),
        "languages": ", ".join(language.name for language in group.languages.all()),
        "encourages_stopping": "",
        "full_members": "",
    }


def _place(meeting) -> str:
    return meeting.location_name or meeting.address or meeting.online_url


def public_group(slug: str) -> Group:
    """A listing the public may suggest a change to: in the list and not archived."""
    return get_object_or_404(
        Group.objects.current().prefetch_related("contacts", "meetings", "languages"), slug=slug
    )


def open_request_count() -> int:
    return ChangeRequest.objects.filter(state=ChangeRequest.State.OPEN).count()


def open_counts_by_group(ids) -> dict[int, int]:
    rows = (
        ChangeRequest.objects.filter(group_id__in=ids, state=ChangeRequest.State.OPEN)
        .values("group_id")
        .annotate(n=Count("pk", filter=Q(state=ChangeRequest.State.OPEN)))
    )
    return {row["group_id"]: row["n"] for row in rows}
