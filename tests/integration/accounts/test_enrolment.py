"""Enrolling a second factor: a stolen password cannot capture it.

The attack: the enrolment page showed the same key to every password-only session until one
confirmed it, so a thief opened it first, kept the key, and signed in with it after the real
person enrolled. Now each session gets its own key, shown once; confirming voids the others;
an enrolment code from a supervisor or superuser is needed as well; the person is told at the
next sign-in; and the session key changes at the second factor.
"""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessEvent, EnrolmentCode, Role, StaffSession
from accounts.services.two_factor import issue_enrolment_code, replace_backup_codes
from tests.factories.accounts import PASSWORD, UserFactory
from tests.integration.accounts.test_sign_in import current_code, post_sign_in

SETUP = "/account/two-factor/setup/"


@pytest.fixture(autouse=True)
def two_factor_on(settings):
    settings.REQUIRE_MFA = True


def verified_client(user):
    """A client signed in with both factors (as conftest's ``sign_in``, for a second person)."""
    client = Client()
    client.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="Authenticator app", defaults={"confirmed": True}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def open_setup(client):
    response = client.get(SETUP)
    assert response.status_code == 200
    return TOTPDevice.objects.get(pk=client.session["two_factor_setup_device"])


def test_each_session_gets_its_own_key_and_confirming_voids_the_others(clinician):
    thief, person = Client(), Client()
    post_sign_in(thief, clinician.username)
    post_sign_in(person, clinician.username)
    thief_key = open_setup(thief)
    person_key = open_setup(person)
    assert thief_key.pk != person_key.pk and thief_key.key != person_key.key

    code = issue_enrolment_code(user=clinician, by=None)
    response = person.post(SETUP, {"enrolment_code": code, "token": current_code(person_key)})
    assert response.status_code == 200 and len(response.context["codes"]) == 10
    assert list(TOTPDevice.objects.filter(user=clinician).values_list("pk", flat=True)) == [
        person_key.pk
    ]
    # The thief's key is gone: a code from it signs nothing in.
    response = thief.post(reverse("accounts:two-factor"), {"token": current_code(thief_key)})
    assert response.status_code == 400
    assert thief.get("/clinician/").status_code == 302


def test_the_key_is_shown_once(clinician):
    client = Client()
    post_sign_in(client, clinician.username)
    device = open_setup(client)
    response = client.post(SETUP, {"enrolment_code": "WRONG-CODE-XX", "token": "123456"})
    assert response.status_code == 400
    assert b"qr-code" not in response.content and b"secret-key" not in response.content
    assert b"is not shown again" in response.content
    # Opening the page again is a new key: the old one is dropped.
    again = open_setup(client)
    assert again.pk != device.pk
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()


def test_a_password_alone_cannot_enrol(clinician):
    client = Client()
    post_sign_in(client, clinician.username)
    device = open_setup(client)
    response = client.post(SETUP, {"enrolment_code": "", "token": current_code(device)})
    assert response.status_code == 400
    response = client.post(
        SETUP, {"enrolment_code": "AAAA-BBBB-CCCC", "token": current_code(device)}
    )
    assert response.status_code == 400
    assert b"enrolment code is not right" in response.content
    assert not TOTPDevice.objects.filter(user=clinician, confirmed=True).exists()
    assert AccessEvent.objects.filter(reason="enrolment refused: enrolment code").count() == 1


@pytest.mark.parametrize("state", ["expired", "used", "another person's", "replaced"])
def test_an_enrolment_code_that_is_not_valid_is_refused(clinician, supervisor, state):
    code = issue_enrolment_code(user=clinician, by=None)
    if state == "expired":
        EnrolmentCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "used":
        EnrolmentCode.objects.update(used_at=timezone.now())
    elif state == "another person's":
        code = issue_enrolment_code(user=supervisor, by=None)
    else:
        issue_enrolment_code(user=clinician, by=None)  # a new code voids the earlier one
    client = Client()
    post_sign_in(client, clinician.username)
    device = open_setup(client)
    response = client.post(SETUP, {"enrolment_code": code, "token": current_code(device)})
    assert response.status_code == 400
    assert not TOTPDevice.objects.filter(user=clinician, confirmed=True).exists()


def test_a_code_lasts_72_hours(clinician):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        code = issue_enrolment_code(user=clinician, by=None)
    with time_machine.travel(start + timedelta(hours=71, minutes=59)):
        client = Client()
        post_sign_in(client, clinician.username)
        device = open_setup(client)
        code_typed = code.lower().replace("-", " ")  # as a person might type it
        response = client.post(SETUP, {"enrolment_code": code_typed, "token": current_code(device)})
        assert response.status_code == 200
        assert EnrolmentCode.objects.get().used_at is not None


def test_enrolling_gives_a_new_session_key(clinician):
    client = Client()
    post_sign_in(client, clinician.username)
    device = open_setup(client)
    before = client.session.session_key
    code = issue_enrolment_code(user=clinician, by=None)
    client.post(SETUP, {"enrolment_code": code, "token": current_code(device)})
    assert client.session.session_key != before
    assert not StaffSession.objects.filter(session_key=before).exists()
    assert client.get("/clinician/").status_code == 200


def test_the_second_factor_gives_a_new_session_key(clinician):
    device = TOTPDevice.objects.create(user=clinician, name="app", confirmed=True)
    client = Client()
    post_sign_in(client, clinician.username)
    password_only = client.session.session_key
    response = client.post(reverse("accounts:two-factor"), {"token": current_code(device)})
    assert response.status_code == 302
    assert client.session.session_key != password_only
    assert not StaffSession.objects.filter(session_key=password_only).exists()
    # A copy of the password-only cookie (seen or planted) is worth nothing now.
    stale = Client()
    stale.cookies["selfhelp_session"] = password_only
    assert stale.get("/clinician/").status_code == 302


def test_the_person_is_told_at_the_next_sign_in(clinician):
    thief = Client()
    post_sign_in(thief, clinician.username)
    device = open_setup(thief)
    thief.post(
        SETUP,
        {
            "enrolment_code": issue_enrolment_code(user=clinician, by=None),
            "token": current_code(device),
        },
    )
    person = Client()
    response = post_sign_in(person, clinician.username)
    page = person.get(response["Location"], follow=True)
    assert b"A second factor (authenticator app) was added to your account" in page.content
    # Told once: the sign-in after that says nothing.
    again = Client()
    page = again.get(post_sign_in(again, clinician.username)["Location"], follow=True)
    assert b"was added to your account" not in page.content


def test_a_reset_is_told_at_the_next_sign_in(client, clinician, superuser):
    TOTPDevice.objects.create(user=clinician, name="app", confirmed=True)
    post_sign_in(Client(), clinician.username)  # an earlier sign-in
    admin_client = verified_client(superuser)
    admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [clinician.pk]},
    )
    assert not TOTPDevice.objects.filter(user=clinician).exists()
    page = client.get(post_sign_in(client, clinician.username)["Location"], follow=True)
    assert b"was reset by an administrator" in page.content


class TestIssuingCodes:
    URL = "/account/enrolment-code/"

    def test_supervisor_issues_a_code_for_their_clinic_shown_once_and_logged(
        self, sign_in, supervisor, clinician
    ):
        client = sign_in(supervisor)
        home = client.get(reverse("supervisor-home"))
        assert b"Issue enrolment code" in home.content
        response = client.post(self.URL, {"user": clinician.pk})
        assert response.status_code == 200
        ((person, code),) = response.context["issued"]
        assert person == clinician and len(code) == 14
        stored = EnrolmentCode.objects.get(user=clinician)
        assert stored.issued_by == supervisor
        assert stored.expires_at - stored.issued_at == timedelta(hours=72)
        assert code.replace("-", "") not in stored.code_hash  # only a hash is kept
        event = AccessEvent.objects.get(action=AccessEvent.Action.ACCOUNT)
        assert (event.user, event.object_id, event.reason) == (
            supervisor,
            str(clinician.pk),
            "enrolment code issued",
        )

    def test_not_for_another_clinic_nor_oneself(self, sign_in, supervisor, outsider):
        client = sign_in(supervisor)
        for target in (outsider, supervisor):
            response = client.post(self.URL, {"user": target.pk})
            assert response.status_code == 400
            assert b"Nothing was issued" in response.content
        assert not EnrolmentCode.objects.exists()

    @pytest.mark.parametrize("role", ["clinician", "site_admin"])
    def test_other_roles_are_refused(self, request, sign_in, role, supervisor):
        client = sign_in(request.getfixturevalue(role))
        assert client.post(self.URL, {"user": supervisor.pk}).status_code == 403
        assert not EnrolmentCode.objects.exists()

    def test_anonymous_is_sent_to_sign_in(self, client, clinician):
        response = client.post(self.URL, {"user": clinician.pk})
        assert response.status_code == 302 and "/account/sign-in/" in response["Location"]

    def test_superuser_issues_codes_in_the_admin(self, superuser, clinic):
        people = [UserFactory(clinic=clinic, roles=[Role.CLINICIAN]) for _ in range(2)]
        client = verified_client(superuser)
        response = client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "issue_enrolment_codes", "_selected_action": [p.pk for p in people]},
        )
        assert response.status_code == 200
        assert len(response.context["issued"]) == 2
        assert EnrolmentCode.objects.count() == 2
        assert AccessEvent.objects.filter(reason="enrolment code issued").count() == 2

    def test_the_command_issues_the_first_superuser_s_code(self, superuser, capsys):
        from django.core.management import call_command

        call_command("issue_enrolment_code", superuser.username)
        assert "Enrolment code for root" in capsys.readouterr().out
        assert EnrolmentCode.objects.filter(user=superuser).count() == 1


class TestBackupCodes:
    def test_new_codes_need_the_password_again_and_are_logged(self, sign_in, clinician):
        client = sign_in(clinician)
        response = client.post(reverse("accounts:backup-codes"), {"password": "not it"})
        assert response.status_code == 400
        assert b"That is not your password" in response.content
        assert not StaticToken.objects.filter(device__user=clinician).exists()
        response = client.post(reverse("accounts:backup-codes"), {"password": PASSWORD})
        assert len(response.context["codes"]) == 10
        event = AccessEvent.objects.get(action=AccessEvent.Action.ACCOUNT)
        assert (event.user, event.object_id, event.reason) == (
            clinician,
            str(clinician.pk),
            "backup codes regenerated",
        )

    def test_guessing_the_password_for_new_codes_locks_the_account_and_ends_the_session(
        self, sign_in, clinician
    ):
        """The password asked again counts against the sign-in lock: five wrong guesses in a
        session lock the username (429) and sign the session out; no codes are made."""
        client = sign_in(clinician)
        url = reverse("accounts:backup-codes")
        statuses = [client.post(url, {"password": f"guess {n}"}).status_code for n in range(5)]
        assert statuses == [400, 400, 400, 400, 429]
        assert not StaticToken.objects.filter(device__user=clinician).exists()
        lockout = AccessEvent.objects.get(action=AccessEvent.Action.LOCKOUT)
        assert (lockout.user, lockout.outcome) == (clinician, AccessEvent.Outcome.DENIED)
        # The session is gone, and the right password does not get in until the lock ends.
        assert client.get(url).status_code == 302
        again = Client()
        assert post_sign_in(again, clinician.username).status_code == 429
        with time_machine.travel(timezone.now() + timedelta(minutes=6)):
            assert post_sign_in(Client(), clinician.username).status_code == 302

    def test_the_right_password_clears_earlier_wrong_guesses(self, sign_in, clinician):
        client = sign_in(clinician)
        url = reverse("accounts:backup-codes")
        for n in range(4):
            assert client.post(url, {"password": f"guess {n}"}).status_code == 400
        assert len(client.post(url, {"password": PASSWORD}).context["codes"]) == 10
        assert client.post(url, {"password": "one more"}).status_code == 400  # not a lock

    def test_a_backup_code_still_works_once(self, clinician):
        TOTPDevice.objects.create(user=clinician, name="app", confirmed=True)
        code = replace_backup_codes(by=clinician)[0]
        for expected in (302, 400):
            client = Client()
            post_sign_in(client, clinician.username)
            assert client.post(reverse("accounts:two-factor"), {"token": code}).status_code == (
                expected
            )
