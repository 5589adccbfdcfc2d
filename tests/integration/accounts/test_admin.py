"""The superuser manages clinics and staff, roles and two-factor in the admin."""

import pytest
from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Clinic, Role, User


@pytest.fixture
def admin_client(sign_in, superuser):
    return sign_in(superuser)


def test_superuser_creates_a_clinic(admin_client):
    response = admin_client.post(
        "/admin/accounts/clinic/add/",
        {"name": "Antelope Valley Mental Health", "service_planning_area": "1", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Clinic.objects.get(name="Antelope Valley Mental Health").service_planning_area == 1


def test_superuser_creates_staff_with_a_clinic_and_roles(admin_client, clinic):
    clinician = Group.objects.get(name=Role.CLINICIAN)
    supervisor = Group.objects.get(name=Role.SUPERVISOR)
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "new.staff",
            "first_name": "New",
            "last_name": "Staff",
            "email": "",
            "clinic": clinic.pk,
            "groups": [clinician.pk, supervisor.pk],
            "password1": "a long and uncommon passphrase 7",
            "password2": "a long and uncommon passphrase 7",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    user = User.objects.get(username="new.staff")
    assert user.clinic == clinic
    assert user.role_names() == ["Clinician", "Supervisor"]
    assert user.has_perm("accounts.view_clinic_access_log")
    assert not user.has_perm("accounts.use_site_admin_home")


def test_weak_password_is_refused_in_the_admin(admin_client, clinic):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "weak",
            "clinic": clinic.pk,
            "password1": "short1",
            "password2": "short1",
            "usable_password": "true",
        },
    )
    assert response.status_code == 200
    assert b"at least 12 characters" in response.content
    assert not User.objects.filter(username="weak").exists()


def test_superuser_resets_two_factor(admin_client, clinician):
    TOTPDevice.objects.create(user=clinician, name="lost phone", confirmed=True)
    admin_client.post(
        "/admin/accounts/user/",
        {"action": "reset_two_factor", "_selected_action": [clinician.pk]},
    )
    assert not TOTPDevice.objects.filter(user=clinician).exists()


@pytest.mark.parametrize("person", ["clinician", "supervisor", "site_admin"])
def test_roles_do_not_reach_the_admin(request, sign_in, person):
    response = sign_in(request.getfixturevalue(person)).get("/admin/", follow=True)
    # The admin sends them to its sign-in, which refuses a signed-in non-admin: no loop.
    assert response.redirect_chain == [("/admin/login/?next=/admin/", 302)]
    assert response.status_code == 403
