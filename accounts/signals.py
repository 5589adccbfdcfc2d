"""Sign-in events into the access log, and server-side session ends for disabled accounts."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from accounts import permission_cache
from accounts.models import AccessEvent, StaffSession
from accounts.selectors import two_factor
from accounts.services import access_log

SIGNED_IN_AT = "signed_in_at"
LAST_ACTIVITY = "last_activity"


@receiver(user_logged_in)
def on_signed_in(sender, request, user, **kwargs):
    # Django has already given the session a new key (session fixation); start both clocks.
    now = time.time()
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_ACTIVITY] = now
    permission_cache.keep_at_sign_in(request.session, user)
    reason = "second factor pending" if settings.REQUIRE_MFA else ""
    event = access_log.record(request, AccessEvent.Action.SIGN_IN, user=user, reason=reason)
    # A second factor added or reset since the last sign-in is told now: added with a stolen
    # password, it is the person whose account it is who signs in next.
    changes = two_factor.second_factor_changes_since_previous_sign_in(
        user, current_event_id=event.pk
    )
    for change in changes:
        when = timezone.localtime(change.occurred_at).strftime("%b %-d, %Y at %-I:%M %p")
        if change.reason == two_factor.RESET:
            text = f"Two-factor sign-in for your account was reset by an administrator on {when}."
        else:
            text = (
                f"A second factor (authenticator app) was added to your account on {when}"
                f" from address {change.ip_address or 'unknown'}."
            )
        messages.warning(
            request,
            text + " If that was not you or your administrator, tell your supervisor now.",
            fail_silently=True,  # a sign-in outside a page (a test's login) has no messages
        )


@receiver(user_logged_out)
def on_signed_out(sender, request, user, **kwargs):
    if user is None:
        return
    reason = getattr(request, "sign_out_reason", "") if request is not None else ""
    access_log.record(request, AccessEvent.Action.SIGN_OUT, user=user, reason=reason)


@receiver(user_login_failed)
def on_sign_in_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))
    user = get_user_model().objects.filter(username=username).first() if username else None
    if request is not None:
        request.sign_in_failed = True  # the sign-in view counts it (accounts.services.lockout)
    access_log.record(
        request,
        AccessEvent.Action.FAILED_SIGN_IN,
        user=user,
        username=username,
        outcome=AccessEvent.Outcome.FAILURE,
        reason="wrong username or password",
    )


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def end_sessions_of_disabled_account(sender, instance, **kwargs):
    if not instance.is_active:
        StaffSession.objects.filter(user_id=instance.pk).delete()
