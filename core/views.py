"""Health check and error pages: the parts that must work when little else does."""

import sys

from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

RETRY_AFTER_SECONDS = 30


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """200 when the database answers a query, 503 when it does not. Needs no sign-in."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        response = JsonResponse({"status": "unavailable", "database": "unavailable"}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return JsonResponse({"status": "ok", "database": "ok"})


def service_unavailable():
    """The 503 page, rendered without a request so that nothing touches the database."""
    response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@login_not_required
def server_error(request):
    """500, or 503 with Retry-After when the cause is that the database cannot be reached."""
    # OperationalError and InterfaceError are the driver's "cannot talk to the database now"
    # (refused, dropped, timed out, locked): transient, so the client is told to retry.
    _, error, _ = sys.exc_info()
    if isinstance(error, (OperationalError, InterfaceError)):
        return service_unavailable()
    return HttpResponse(render_to_string("500.html"), status=500)


@login_not_required
def admin_sign_in(request, extra_context=None):
    """The admin's own sign-in page is replaced by the product's (with its two-factor step)."""
    if request.user.is_authenticated:
        # Signed in but not admin staff: a redirect to sign-in would loop back here.
        return permission_denied(request)
    return redirect_to_login(request.GET.get("next", "/admin/"))


@login_not_required
def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


@login_not_required
def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


@require_GET
def about(request):
    """What this service is and which policy it follows: the plainest signed-in page.

    It reads nothing but the session and the user, so it is also the benchmark's floor: every
    page is measured as a multiple of what the layout, the middleware and sign-in cost.
    """
    return render(request, "about.html")
