"""Reads of the second factor: whether an app is enrolled, the devices a code may belong to."""

from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice


def has_confirmed_app(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def devices_for(user, token: str) -> list:
    """The devices a code can belong to: six digits come from the app, others are backup codes.

    Asking only those (rather than django-otp's match_token over every device) keeps a backup
    code from counting as a wrong app code, which would make the app's next code wait.
    """
    model = TOTPDevice if (token.isdigit() and len(token) == 6) else StaticDevice
    return list(model.objects.filter(user=user, confirmed=True))


def remaining_backup_codes(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()
