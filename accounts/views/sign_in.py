"""Signing in and out: the password step (locked accounts told apart) and sign-out."""

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import SignInForm


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
