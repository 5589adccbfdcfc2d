"""The second factor: the code step of signing in, enrolling an app, and backup codes."""

from base64 import b32encode, b64encode
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import logout
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from accounts.forms import ConfirmPasswordForm, EnrolmentForm, TokenForm
from accounts.models import AccessEvent
from accounts.rules import lockout as lockout_rules
from accounts.selectors import two_factor as two_factor_selectors
from accounts.services import access_log
from accounts.services import lockout as lockout_services
from accounts.services import two_factor as two_factor_services
from accounts.views.sign_in import locked

# django-otp makes a device wait after a wrong code (1 s, then doubling); during the wait even
# the right code is refused, so say that rather than "wrong code".
THROTTLED_MESSAGE = (
    "Too many wrong codes in a row. Wait a few seconds for a new code, then try again."
)


def _safe_next(request, default="home"):
    # A path only: ``redirect`` takes any other text for a URL pattern's name (a 500 when it is
    # none); ``url_has_allowed_host_and_scheme`` keeps it on this site.
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


@require_http_methods(["GET", "POST"])
def two_factor(request):
    """The second step of signing in: a code from the app or a backup code."""
    if request.user.is_verified():
        return redirect(_safe_next(request))
    if not two_factor_selectors.has_confirmed_app(request.user):
        return redirect("accounts:two-factor-setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = two_factor_services.verify_code(
                user=request.user, token=form.cleaned_data["token"]
            )
        except two_factor_services.Throttled:
            form.add_error("token", THROTTLED_MESSAGE)
            return render(
                request,
                "accounts/two_factor.html",
                {"form": form, "next": request.GET.get("next", "")},
                status=429,
            )
        if device is not None:
            _complete_sign_in(request, device)
            access_log.record(request, AccessEvent.Action.SIGN_IN, reason="second factor verified")
            return redirect(_safe_next(request))
        access_log.record(
            request,
            AccessEvent.Action.FAILED_SIGN_IN,
            outcome=AccessEvent.Outcome.FAILURE,
            reason="wrong second-factor code",
        )
        form.add_error(
            "token",
            "That code is not right, or it has expired. Codes change every 30 seconds; "
            "wait for a new one and try again.",
        )
    status = 400 if form.errors else 200
    return render(
        request,
        "accounts/two_factor.html",
        {"form": form, "next": request.GET.get("next", "")},
        status=status,
    )


def _complete_sign_in(request, device):
    """Both factors given: a new session key (the password-only session's key is worthless
    from here on, so one seen or planted before cannot ride the verified session)."""
    request.session.cycle_key()
    otp_login(request, device)


def _qr_data_uri(data: str) -> str:
    """The QR code as an SVG data: URI for an <img>, so no markup is injected into the page."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + b64encode(buffer.getvalue()).decode()


SETUP_DEVICE = "two_factor_setup_device"


@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """Enrol an authenticator app: this session's own key, an enrolment code, the app's code.

    Each opening of the page makes a new key for this session only and shows it this once;
    confirming it voids every other session's key. A password alone is not enough: the
    enrolment code comes from a supervisor or superuser (accounts.services.two_factor).
    """
    if two_factor_selectors.has_confirmed_app(request.user):
        # Never a second enrolment from a password-only session: that would let a stolen
        # password add the thief's phone. A superuser resets two-factor in the admin.
        return redirect("accounts:two-factor")
    device_id = request.session.get(SETUP_DEVICE)
    form = EnrolmentForm(request.POST or None)
    if request.method == "POST" and device_id is None:
        form.is_valid()
        form.add_error(None, "This set-up has expired. Start again to get a new QR code.")
    elif request.method == "POST" and form.is_valid():
        try:
            codes = two_factor_services.confirm_enrolment(
                user=request.user,
                device_id=device_id,
                enrolment_code=form.cleaned_data["enrolment_code"],
                token=form.cleaned_data["token"],
            )
        except two_factor_services.Throttled:
            form.add_error("token", THROTTLED_MESSAGE)
        except two_factor_services.EnrolmentRefused as refusal:
            form.add_error(refusal.field, refusal.message)
            access_log.record(
                request,
                AccessEvent.Action.FAILED_SIGN_IN,
                outcome=AccessEvent.Outcome.FAILURE,
                reason="enrolment refused: " + refusal.field.replace("_", " "),
            )
        else:
            del request.session[SETUP_DEVICE]
            device = two_factor_selectors.confirmed_app(request.user)
            _complete_sign_in(request, device)
            access_log.record(request, AccessEvent.Action.SIGN_IN, reason="second factor enrolled")
            return render(
                request, "accounts/backup_codes.html", {"codes": codes, "first_time": True}
            )
    if request.method == "POST":
        # The key was shown when this session's set-up began, and is not shown again.
        return render(
            request,
            "accounts/two_factor_setup.html",
            {"form": form, "key_shown": False},
            status=400 if form.errors else 200,
        )
    device = two_factor_services.start_enrolment(by=request.user, replacing_device_id=device_id)
    request.session[SETUP_DEVICE] = device.pk
    secret = b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "key_shown": True,
            "qr_image": _qr_data_uri(device.config_url),
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        },
    )


@require_http_methods(["GET", "POST"])
def backup_codes(request):
    """See how many backup codes are left, and replace them all with a new set."""
    if settings.REQUIRE_MFA and not request.user.is_verified():
        # Belt and braces beside the middleware: new codes from a password-only session
        # would be a way around the second factor.
        return redirect("accounts:two-factor")
    form = ConfirmPasswordForm(request.user, request.POST or None)
    if request.method == "POST":
        # The password asked again counts against the same lock as signing in: a stolen
        # session cannot guess the password here faster than at the sign-in page.
        with transaction.atomic():
            row = lockout_services.hold(request.user.get_username())
            now = timezone.now()
            if lockout_rules.is_locked(lockout_services.state_of(row), now):
                return locked(request, row)
            if form.is_valid():
                lockout_services.record_success(row)
                codes = two_factor_services.replace_backup_codes(by=request.user, request=request)
                return render(request, "accounts/backup_codes.html", {"codes": codes})
            if "password" in form.errors and lockout_services.record_failure(row, now=now):
                access_log.record(
                    request,
                    AccessEvent.Action.LOCKOUT,
                    outcome=AccessEvent.Outcome.DENIED,
                    reason=f"{lockout_rules.FAILURE_LIMIT} wrong passwords for backup codes",
                )
                # Whoever guesses in this session loses it; the person signs in again once
                # the lock ends.
                logout(request)
                return locked(request, row)
    remaining = two_factor_selectors.remaining_backup_codes(request.user)
    return render(
        request,
        "accounts/backup_codes_status.html",
        {"remaining": remaining, "form": form},
        status=400 if form.errors else 200,
    )
