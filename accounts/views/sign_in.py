"""Signing in and out: the password step (with its lockout) and sign-out."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.forms import SignInForm
from accounts.models import AccessEvent
from accounts.rules import lockout as lockout_rules
from accounts.services import access_log
from accounts.services import lockout as lockout_services


class SignInView(auth_views.LoginView):
    template_name = "accounts/sign_in.html"
    form_class = SignInForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        if not (0 < len(username) <= 150) or "\x00" in username:
            return super().post(request, *args, **kwargs)  # the form refuses it; no password check
        # The username's lock row is held from before the lock is read until the attempt is
        # counted: concurrent guesses queue here, so 5 failures are 5 password checks.
        with transaction.atomic():
            row = lockout_services.hold(username)
            now = timezone.now()
            if lockout_rules.is_locked(lockout_services.state_of(row), now):
                access_log.record(
                    request,
                    AccessEvent.Action.FAILED_SIGN_IN,
                    username=username,
                    user=_account(username),
                    outcome=AccessEvent.Outcome.DENIED,
                    reason="account locked",
                )
                return locked(request, row)
            response = super().post(request, *args, **kwargs)
            if request.user.is_authenticated:
                lockout_services.record_success(row)
            elif getattr(request, "sign_in_failed", False) and lockout_services.record_failure(
                row, now=now
            ):
                minutes = int((row.locked_until - now).total_seconds() // 60)
                access_log.record(
                    request,
                    AccessEvent.Action.LOCKOUT,
                    username=username,
                    user=_account(username),
                    outcome=AccessEvent.Outcome.DENIED,
                    reason=f"{lockout_rules.FAILURE_LIMIT} failed attempts; "
                    f"locked {minutes} minutes",
                )
                return locked(request, row)
            return response


def _account(username):
    return get_user_model().objects.filter(username=username).first()


def locked(request, row):
    return render(
        request,
        "accounts/locked_out.html",
        {"locked_until": row.locked_until, "limit": lockout_rules.FAILURE_LIMIT},
        status=429,
    )


@require_http_methods(["GET", "POST"])
def sign_out(request):
    if request.method == "POST":
        logout(request)
        messages.success(request, "You have signed out.")
        return redirect(settings.LOGOUT_REDIRECT_URL)
    return render(request, "accounts/sign_out.html")
