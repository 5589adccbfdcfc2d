"""The accounts app: clinics, staff and their roles, sign-in and the access log."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Clinics, staff and access log"

    def ready(self):
        from accounts import lookups, signals  # noqa: F401  (signals: the sign-in receivers)
        from core import checks  # noqa: F401  (the interpreter check of `check --deploy`)

        lookups.register()  # integer __in lookups that leave out-of-range values out
        from django.db.models.signals import post_migrate

        from accounts import permission_cache

        # The permissions version's triggers, after every migrate (accounts/permission_cache.py).
        post_migrate.connect(permission_cache.on_post_migrate, dispatch_uid="permissions-version")
