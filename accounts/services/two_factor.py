"""Writes of the second factor: the app being enrolled, its confirmation, the backup codes.

Confirming the app and issuing the first backup codes happen together or not at all, so that
an enrolled person always has codes to fall back on.
"""

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

BACKUP_CODE_COUNT = 10


def unconfirmed_device(*, by) -> TOTPDevice:
    """The authenticator app ``by`` is enrolling: the one started before, or a new one."""
    device = TOTPDevice.objects.filter(user=by, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=by, name="Authenticator app", confirmed=False)
    return device


def confirm_enrolment(*, device: TOTPDevice, by) -> list[str]:
    """Mark the app confirmed and issue the first backup codes (returned, shown once)."""
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return _new_backup_codes(by)


def replace_backup_codes(*, by) -> list[str]:
    """Replace all of ``by``'s backup codes with a new set (returned, shown once)."""
    with transaction.atomic():
        return _new_backup_codes(by)


def _new_backup_codes(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Backup codes")
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes
