"""The admin never shows a second-factor secret, and every account action is in the access log.

django-otp's own admin pages showed each person's TOTP key (and a link to its QR code) and the
unused backup codes; anyone with the admin could copy a person's second factor.
"""

from base64 import b32encode

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessEvent
from accounts.services.two_factor import replace_backup_codes


@pytest.fixture
def admin_client(sign_in, superuser):
    return sign_in(superuser)


def test_no_admin_page_shows_a_key_or_a_backup_code(admin_client, clinician):
    app = TOTPDevice.objects.create(user=clinician, name="Authenticator app", confirmed=True)
    codes = replace_backup_codes(by=clinician)
    backup = StaticDevice.objects.get(user=clinician)
    secrets = [app.key, b32encode(app.bin_key).decode(), *codes]
    pages = [
        reverse("admin:otp_totp_totpdevice_changelist"),
        reverse("admin:otp_totp_totpdevice_change", args=[app.pk]),
        reverse("admin:otp_static_staticdevice_changelist"),
        reverse("admin:otp_static_staticdevice_change", args=[backup.pk]),
        reverse("admin:accounts_user_change", args=[clinician.pk]),
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert clinician.username in html, page  # the page does show the device's owner
        for secret in secrets:
            assert secret not in html, page
    # The QR-code page of django-otp's admin is gone with it.
    assert admin_client.get(f"/admin/otp_totp/totpdevice/{app.pk}/config/").status_code != 200
    assert admin_client.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 403


def test_disabling_is_logged_from_the_list_and_from_the_person_s_page(
    admin_client, clinician, supervisor
):
    admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "disable_accounts", "_selected_action": [clinician.pk]},
    )
    # The person's page with "Active" unticked (an unticked box is absent from the form).
    data = {
        "username": supervisor.username,
        "first_name": supervisor.first_name,
        "last_name": supervisor.last_name,
        "email": "",
        "clinic": supervisor.clinic_id,
        "groups": [group.pk for group in supervisor.groups.all()],
        "date_joined_0": "2026-01-05",
        "date_joined_1": "09:00:00",
    }
    response = admin_client.post(reverse("admin:accounts_user_change", args=[supervisor.pk]), data)
    assert response.status_code == 302, response.content[:2000]
    supervisor.refresh_from_db()
    assert not supervisor.is_active
    events = AccessEvent.objects.filter(
        action=AccessEvent.Action.ACCOUNT, reason="account disabled"
    )
    assert sorted(events.values_list("object_id", flat=True)) == sorted(
        [str(clinician.pk), str(supervisor.pk)]
    )
    assert {event.object_type for event in events} == {"user"}


def test_reset_two_factor_is_logged_per_account(admin_client, clinician, supervisor):
    for user in (clinician, supervisor):
        TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [clinician.pk, supervisor.pk]},
    )
    assert not TOTPDevice.objects.filter(user__in=[clinician, supervisor]).exists()
    assert AccessEvent.objects.filter(reason="two-factor reset").count() == 2
