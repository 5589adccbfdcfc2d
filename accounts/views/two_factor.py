"""Sign-in, two-factor, sign-out, each role's home, and the supervisor's access log."""

from base64 import b32encode, b64encode
from io import BytesIO

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_safe
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import access_log, selectors
from accounts.forms import AccessEventFilter, EnrolmentForm, SignInForm, TokenForm
from accounts.models import AccessEvent
from accounts.permissions import permission_required

BACKUP_CODE_COUNT = 10

# Each role's home, in the order a person holding several roles lands on them.
ROLE_HOMES = [
    ("accounts.use_clinician_home", "clinician-home"),
    ("accounts.use_supervisor_home", "supervisor-home"),
    ("accounts.use_site_admin_home", "site-admin-home"),
]


class SignInView(auth_views.LoginView):
    template_name = "accounts/sign_in.html"
    form_class = SignInForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        # Read before authenticating, so the access log can tell the attempt that locks an
        # account from the attempts refused because it was already locked.
        request.account_was_locked = AxesProxyHandler.is_locked(
            request, {"username": request.POST.get("username", "")}
        )
        return super().post(request, *args, **kwargs)


@require_http_methods(["GET", "POST"])
def sign_out(request):
    if request.method == "POST":
        logout(request)
        messages.success(request, "You have signed out.")
        return redirect(settings.LOGOUT_REDIRECT_URL)
    return render(request, "accounts/sign_out.html")


# django-otp makes a device wait after a wrong code (1 s, then doubling); during the wait even
# the right code is refused, so say that rather than "wrong code".
THROTTLED_MESSAGE = (
    "Too many wrong codes in a row. Wait a few seconds for a new code, then try again."
)


def _devices_for(user, token: str) -> list:
    """The devices a code can belong to: six digits come from the app, others are backup codes.

    Asking only those (rather than django-otp's match_token over every device) keeps a backup
    code from counting as a wrong app code, which would make the app's next code wait.
    """
    model = TOTPDevice if (token.isdigit() and len(token) == 6) else StaticDevice
    return list(model.objects.filter(user=user, confirmed=True))


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
    if not TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("accounts:two-factor-setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        devices = _devices_for(request.user, form.cleaned_data["token"])
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


def _new_backup_codes(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Backup codes")
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """First sign-in: enrol an authenticator app by QR code, then show backup codes once."""
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        # Never a second enrolment from a password-only session: that would let a stolen
        # password add the thief's phone. A superuser resets two-factor in the admin.
        return redirect("accounts:two-factor")
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(
            user=request.user, name="Authenticator app", confirmed=False
        )
    form = EnrolmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and not device.verify_is_allowed()[0]:
        form.add_error("token", THROTTLED_MESSAGE)
    elif request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                codes = _new_backup_codes(request.user)
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
        codes = _new_backup_codes(request.user)
        return render(request, "accounts/backup_codes.html", {"codes": codes})
    remaining = StaticToken.objects.filter(device__user=request.user).count()
    return render(request, "accounts/backup_codes_status.html", {"remaining": remaining})


# Pages that only show take GET (and HEAD): any other method is a 405, as on every other
# read-only page (tests/security/test_url_matrix.py).
@require_safe
def home(request):
    """Send each person to their role's home; someone with no role is told what to do."""
    if request.user.is_superuser and not request.user.groups.exists():
        # A superuser holds every permission, but without a role their work is the admin.
        return redirect("admin:index")
    for perm, url_name in ROLE_HOMES:
        if request.user.has_perm(perm):
            return redirect(url_name)
    return render(request, "accounts/no_role.html")


@permission_required("accounts.use_supervisor_home")
@require_safe
def supervisor_home(request):
    return render(
        request,
        "accounts/home_supervisor.html",
        {
            "activity": selectors.recent_account_activity(request.user),
            "staff": selectors.clinic_staff(request.user.clinic) if request.user.clinic_id else [],
        },
    )


@permission_required("accounts.use_site_admin_home")
@require_safe
def site_admin_home(request):
    return render(
        request,
        "accounts/home_site_admin.html",
        {
            "activity": selectors.recent_account_activity(request.user),
            "clinics": selectors.clinics_with_staff_counts(),
        },
    )


@permission_required("accounts.view_clinic_access_log")
@require_safe
def access_log_list(request):
    """The supervisor's clinic's access log, filtered, a page at a time (newer and older)."""
    clinic = request.user.clinic
    events = selectors.clinic_access_events(clinic)
    staff = selectors.clinic_staff(clinic).prefetch_related(None)
    event_filter = AccessEventFilter(request.GET or None, queryset=events, staff_queryset=staff)
    context = {"filter": event_filter, "page": None, "clinic": clinic}
    if event_filter.is_bound and not event_filter.is_valid():
        return render(request, "accounts/access_log.html", context, status=400)
    try:
        position = selectors.access_log_position(request.GET)
    except selectors.BadCursor:
        context["bad_cursor"] = True
        return render(request, "accounts/access_log.html", context, status=400)
    context["page"] = selectors.access_event_page(event_filter.qs, position, request.GET)
    context["per_page"] = selectors.ACCESS_LOG_PAGE_SIZE
    return render(request, "accounts/access_log.html", context)
