"""Sign-in events into the access log, and server-side session ends for disabled accounts."""

import time

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import AccessEvent, StaffSession
from accounts.services import access_log

SIGNED_IN_AT = "signed_in_at"
LAST_ACTIVITY = "last_activity"


@receiver(user_logged_in)
def on_signed_in(sender, request, user, **kwargs):
    # Django has already given the session a new key (session fixation); start both clocks.
    now = time.time()
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_ACTIVITY] = now
    reason = "second factor pending" if settings.REQUIRE_MFA else ""
    access_log.record(request, AccessEvent.Action.SIGN_IN, user=user, reason=reason)


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
    # SignInView notes whether the account was locked before this attempt: axes signals a
    # lockout again on every refused attempt, but only the first one locks.
    locked = bool(getattr(request, "account_was_locked", False))
    access_log.record(
        request,
        AccessEvent.Action.FAILED_SIGN_IN,
        user=user,
        username=username,
        outcome=AccessEvent.Outcome.DENIED if locked else AccessEvent.Outcome.FAILURE,
        reason="account locked" if locked else "wrong username or password",
    )


@receiver(user_locked_out)
def on_locked_out(sender, request, username, ip_address, **kwargs):
    if getattr(request, "account_was_locked", False):
        return  # already locked and already logged; this attempt is logged as a failure
    user = get_user_model().objects.filter(username=username).first() if username else None
    access_log.record(
        request,
        AccessEvent.Action.LOCKOUT,
        user=user,
        username=username or "",
        outcome=AccessEvent.Outcome.DENIED,
        reason=f"{settings.AXES_FAILURE_LIMIT} failed attempts",
    )


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def end_sessions_of_disabled_account(sender, instance, **kwargs):
    if not instance.is_active:
        StaffSession.objects.filter(user_id=instance.pk).delete()
