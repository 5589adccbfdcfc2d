"""The account pages under /account/. The role homes and the access log sit at the site's root
(``config/urls.py``), as they always have."""

from django.urls import path

from accounts.views import home, sign_in, two_factor

app_name = "accounts"

urlpatterns = [
    path("sign-in/", sign_in.SignInView.as_view(), name="sign-in"),
    path("sign-out/", sign_in.sign_out, name="sign-out"),
    path("two-factor/", two_factor.two_factor, name="two-factor"),
    path("two-factor/setup/", two_factor.two_factor_setup, name="two-factor-setup"),
    path("two-factor/backup-codes/", two_factor.backup_codes, name="backup-codes"),
    path("enrolment-code/", home.issue_enrolment_code, name="issue-enrolment-code"),
]
