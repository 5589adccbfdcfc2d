"""Writes of the second factor: enrolment (with its one-time code), codes checked once, backup
codes, resets.

Each check of a code locks the device's row first (``SELECT ... FOR UPDATE``; SQLite's
immediate transactions serialise writers), so a code is used once however many sessions send
it at the same instant: django-otp's own check reads, then writes, and eight concurrent
sessions got three or four sign-ins out of one backup code.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessEvent, EnrolmentCode
from accounts.services import access_log

BACKUP_CODE_COUNT = 10
ENROLMENT_CODE_LIFETIME = timedelta(hours=72)
# No 0/O, 1/I/L: the code is read out or typed from a note. 12 of 31 characters: 59 bits.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 12


class EnrolmentRefused(Exception):
    """Why an enrolment was not confirmed: ``field`` is the form field the message belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class Throttled(Exception):
    """django-otp makes the device wait after a wrong code; even the right one is refused."""


def _hash(code: str) -> str:
    normalised = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(normalised.encode()).hexdigest()


def _account_event(request, target, reason: str, *, by=None):
    access_log.record(
        request,
        AccessEvent.Action.ACCOUNT,
        user=by,
        object_type="user",
        object_id=target.pk,
        clinic_id=target.clinic_id,
        reason=reason,
    )


# --- Enrolment codes --------------------------------------------------------------------------


def issue_enrolment_code(*, user, by, request=None) -> str:
    """A new one-time enrolment code for ``user`` (returned once; earlier unused ones void)."""
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH))
    now = timezone.now()
    with transaction.atomic():
        EnrolmentCode.objects.filter(user=user, used_at__isnull=True).delete()
        EnrolmentCode.objects.create(
            user=user,
            code_hash=_hash(code),
            issued_by=by,
            issued_at=now,
            expires_at=now + ENROLMENT_CODE_LIFETIME,
        )
        _account_event(request, user, "enrolment code issued", by=by)
    return "-".join(code[i : i + 4] for i in range(0, _CODE_LENGTH, 4))


# --- Enrolling an authenticator app -----------------------------------------------------------


def start_enrolment(*, by, replacing_device_id=None) -> TOTPDevice:
    """A new key for this session alone; the session's previous unconfirmed key is dropped.

    Every session that opens enrolment gets its own key, so one who saw a key (a thief with
    the password) holds a key no one else will confirm.
    """
    if replacing_device_id is not None:
        TOTPDevice.objects.filter(pk=replacing_device_id, user=by, confirmed=False).delete()
    return TOTPDevice.objects.create(user=by, name="Authenticator app", confirmed=False)


def confirm_enrolment(*, user, device_id, enrolment_code: str, token: str) -> list[str]:
    """Confirm this session's key with the app's code and a valid enrolment code.

    Returns the first backup codes (shown once). Confirming voids every other session's
    unconfirmed key and the enrolment code. Raises ``EnrolmentRefused`` or ``Throttled``.
    """
    now = timezone.now()
    with transaction.atomic():
        # One enrolment at a time per person: the account's row is the lock.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            raise EnrolmentRefused("token", "Two-factor sign-in is already set up.")
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(pk=device_id, user=user, confirmed=False)
            .first()
        )
        if device is None:
            raise EnrolmentRefused(
                "token", "This set-up has expired. Start again to get a new QR code."
            )
        code = (
            EnrolmentCode.objects.select_for_update()
            .filter(user=user, code_hash=_hash(enrolment_code), used_at__isnull=True)
            .first()
        )
        if code is None or code.expires_at <= now:
            raise EnrolmentRefused(
                "enrolment_code",
                "That enrolment code is not right, has been used, or has expired (codes last "
                "72 hours). Ask your supervisor for a new one.",
            )
        if not device.verify_is_allowed()[0]:
            raise Throttled
        # A wrong code is not raised from inside the transaction: django-otp's count of wrong
        # codes (the wait it imposes) must be kept.
        matched = device.verify_token(token)
        if matched:
            code.used_at = now
            code.save(update_fields=["used_at"])
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            return _new_backup_codes(user)
    raise EnrolmentRefused(
        "token", "That code does not match. Check the phone's clock and try a new code."
    )


# --- Codes at sign-in -------------------------------------------------------------------------


def verify_code(*, user, token: str):
    """The device ``token`` belongs to, used up, or None. Raises ``Throttled``.

    Six digits come from the app, anything else is a backup code; asking only those keeps a
    backup code from counting as a wrong app code (which would make the app's next code wait).
    """
    model = TOTPDevice if (token.isdigit() and len(token) == 6) else StaticDevice
    with transaction.atomic():
        devices = list(
            model.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk")
        )
        if any(not device.verify_is_allowed()[0] for device in devices):
            raise Throttled
        return next((device for device in devices if device.verify_token(token)), None)


# --- Backup codes and resets -------------------------------------------------------------------


def replace_backup_codes(*, by, request=None) -> list[str]:
    """Replace all of ``by``'s backup codes with a new set (returned, shown once)."""
    with transaction.atomic():
        codes = _new_backup_codes(by)
        _account_event(request, by, "backup codes regenerated", by=by)
        return codes


def reset_two_factor(*, users, by, request=None) -> int:
    """Remove the app, backup codes and enrolment codes of ``users``: they enrol again."""
    with transaction.atomic():
        for user in users:
            TOTPDevice.objects.filter(user=user).delete()
            StaticDevice.objects.filter(user=user).delete()
            EnrolmentCode.objects.filter(user=user, used_at__isnull=True).delete()
            _account_event(request, user, "two-factor reset", by=by)
    return len(users)


def _new_backup_codes(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Backup codes")
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes
