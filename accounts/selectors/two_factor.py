"""Reads of the second factor: whether an app is enrolled, and what changed since a sign-in."""

from django.db.models import Q
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessEvent

ENROLLED = "second factor enrolled"
RESET = "two-factor reset"
PASSWORD_STEP_REASONS = ["second factor pending", ""]


def has_confirmed_app(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def confirmed_app(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def remaining_backup_codes(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def enrolled_user_ids(users) -> set[int]:
    """Which of ``users`` have a confirmed authenticator app (one query)."""
    return set(
        TOTPDevice.objects.filter(user__in=users, confirmed=True).values_list("user_id", flat=True)
    )


def second_factor_changes_since_previous_sign_in(user, *, current_event_id):
    """Second factors added to or reset on ``user``'s account since their previous sign-in.

    Told at the next sign-in, so that a second factor added with a stolen password is noticed
    by the person whose account it is (the session that added it signed in before it).
    """
    previous = (
        AccessEvent.objects.filter(
            user=user, action=AccessEvent.Action.SIGN_IN, reason__in=PASSWORD_STEP_REASONS
        )
        .exclude(pk=current_event_id)
        .order_by("-occurred_at", "-id")
        .first()
    )
    changes = AccessEvent.objects.filter(
        Q(user=user, action=AccessEvent.Action.SIGN_IN, reason=ENROLLED)
        | Q(
            action=AccessEvent.Action.ACCOUNT,
            object_type="user",
            object_id=str(user.pk),
            reason=RESET,
        )
    )
    if previous is not None:
        changes = changes.filter(occurred_at__gt=previous.occurred_at)
    return list(changes.order_by("occurred_at", "id")[:5])
