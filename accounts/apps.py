"""The accounts app: clinics, staff and their roles, sign-in and the access log."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Clinics, staff and access log"

    def ready(self):
        from accounts import lookups, signals  # noqa: F401  (signals: the sign-in receivers)
        from core import checks  # noqa: F401  (the interpreter check of `check --deploy`)

        lookups.register()  # integer __in lookups that leave out-of-range values out
