from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Clinics, staff and access log"

    def ready(self):
        from accounts import signals  # noqa: F401  (connects the sign-in event receivers)
