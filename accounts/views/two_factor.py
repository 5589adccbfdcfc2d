"""The second factor: the code step of signing in, enrolling an app, and backup codes."""

from base64 import b32encode, b64encode
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login

from accounts.forms import EnrolmentForm, TokenForm
from accounts.models import AccessEvent
from accounts.selectors import two_factor as two_factor_selectors
from accounts.services import access_log
from accounts.services import two_factor as two_factor_services

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
        devices = two_factor_selectors.devices_for(request.user, form.cleaned_data["token"])
        if any(not device.verify_is_allowed()[0] for device in devices):
            form.add_error("token", THROTTLED_MESSAGE)
            return render(
                request,
                "accounts/two_factor.html",
                {"form": form, "next": request.GET.get("next", "")},
                status=429,
            )
        device = next((d for d in devices if d.verify_token(form.cleaned_data["token"])), None)
        if device is not None:
            otp_login(request, device)
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


def _qr_data_uri(data: str) -> str:
    """The QR code as an SVG data: URI for an <img>, so no markup is injected into the page."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + b64encode(buffer.getvalue()).decode()


@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """First sign-in: enrol an authenticator app by QR code, then show backup codes once."""
    if two_factor_selectors.has_confirmed_app(request.user):
        # Never a second enrolment from a password-only session: that would let a stolen
        # password add the thief's phone. A superuser resets two-factor in the admin.
        return redirect("accounts:two-factor")
    device = two_factor_services.unconfirmed_device(by=request.user)
    form = EnrolmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and not device.verify_is_allowed()[0]:
        form.add_error("token", THROTTLED_MESSAGE)
    elif request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            codes = two_factor_services.confirm_enrolment(device=device, by=request.user)
            otp_login(request, device)
            access_log.record(request, AccessEvent.Action.SIGN_IN, reason="second factor enrolled")
            return render(
                request, "accounts/backup_codes.html", {"codes": codes, "first_time": True}
            )
        form.add_error(
            "token", "That code does not match. Check the phone's clock and try a new code."
        )
    secret = b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_image": _qr_data_uri(device.config_url),
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def backup_codes(request):
    """See how many backup codes are left, and replace them all with a new set."""
    if settings.REQUIRE_MFA and not request.user.is_verified():
        # Belt and braces beside the middleware: new codes from a password-only session
        # would be a way around the second factor.
        return redirect("accounts:two-factor")
    if request.method == "POST":
        codes = two_factor_services.replace_backup_codes(by=request.user)
        return render(request, "accounts/backup_codes.html", {"codes": codes})
    remaining = two_factor_selectors.remaining_backup_codes(request.user)
    return render(request, "accounts/backup_codes_status.html", {"remaining": remaining})
