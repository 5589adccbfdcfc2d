"""Sign-in per role, two-factor when required, lockout, sign-out, session key rotation."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessEvent, StaffSession
from accounts.services.two_factor import issue_enrolment_code
from tests.factories.accounts import PASSWORD

SIGN_IN = "/account/sign-in/"


def post_sign_in(client, username, password=PASSWORD):
    return client.post(SIGN_IN, {"username": username, "password": password})


def current_code(device):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


@pytest.mark.parametrize(
    ("user_fixture", "home"),
    [
        ("clinician", "/clinician/"),
        ("supervisor", "/supervisor/"),
        ("site_admin", "/site-admin/"),
    ],
)
def test_each_role_signs_in_to_its_own_home(client, db, settings, request, user_fixture, home):
    settings.REQUIRE_MFA = False
    user = request.getfixturevalue(user_fixture)
    response = post_sign_in(client, user.username)
    assert response.status_code == 302
    response = client.get(response["Location"], follow=True)
    assert response.redirect_chain[-1][0] == home
    assert response.status_code == 200
    assert AccessEvent.objects.filter(
        user=user, action=AccessEvent.Action.SIGN_IN, outcome="success"
    ).exists()


def test_person_without_a_role_is_told_what_to_do(client, settings, no_role_user):
    settings.REQUIRE_MFA = False
    post_sign_in(client, no_role_user.username)
    response = client.get("/")
    assert response.status_code == 200
    assert b"no role yet" in response.content


def test_wrong_password_is_refused_with_a_clear_message_and_logged(client, clinician):
    response = post_sign_in(client, clinician.username, "not the password at all")
    assert response.status_code == 200
    assert b"do not match an active account" in response.content
    event = AccessEvent.objects.get(action=AccessEvent.Action.FAILED_SIGN_IN)
    assert event.user == clinician
    assert event.outcome == AccessEvent.Outcome.FAILURE
    assert "not the password" not in event.reason  # never the secret itself


def test_unknown_username_failure_is_logged_with_the_name_typed(client, db):
    post_sign_in(client, "nobody-here", "whatever password")
    event = AccessEvent.objects.get(action=AccessEvent.Action.FAILED_SIGN_IN)
    assert event.user is None
    assert event.username == "nobody-here"


def test_sign_in_gives_a_new_session_key(client, settings, clinician):
    settings.REQUIRE_MFA = False
    client.get(SIGN_IN)
    session = client.session
    session["anonymous-visit"] = True
    session.save()
    key_before = session.session_key
    post_sign_in(client, clinician.username)
    assert client.session.session_key != key_before
    assert not StaffSession.objects.filter(session_key=key_before).exists()
    assert StaffSession.objects.get(session_key=client.session.session_key).user == clinician


class TestTwoFactor:
    def test_password_alone_reaches_only_the_enrolment_page(self, client, settings, clinician):
        settings.REQUIRE_MFA = True
        response = post_sign_in(client, clinician.username)
        response = client.get(response["Location"], follow=True)
        assert response.redirect_chain[-1][0] == reverse("accounts:two-factor-setup")
        for path in ["/", "/clinician/", "/access-log/", "/admin/"]:
            response = client.get(path)
            assert response.status_code == 302, path
            assert response["Location"].startswith("/account/two-factor/"), path

    def test_enrolment_by_qr_code_then_backup_codes(self, client, settings, clinician):
        settings.REQUIRE_MFA = True
        post_sign_in(client, clinician.username)
        response = client.get(reverse("accounts:two-factor-setup"))
        assert response.status_code == 200
        assert b'src="data:image/svg+xml;base64,' in response.content
        device = TOTPDevice.objects.get(user=clinician, confirmed=False)
        code = issue_enrolment_code(user=clinician, by=None)

        response = client.post(
            reverse("accounts:two-factor-setup"),
            {"token": current_code(device), "enrolment_code": code},
        )
        assert response.status_code == 200
        assert len(response.context["codes"]) == 10
        assert StaticToken.objects.filter(device__user=clinician).count() == 10
        device.refresh_from_db()
        assert device.confirmed
        assert client.get("/clinician/").status_code == 200
        assert AccessEvent.objects.filter(reason="second factor enrolled").count() == 1

    def test_wrong_enrolment_code_is_refused_and_nothing_is_confirmed(
        self, client, settings, clinician
    ):
        settings.REQUIRE_MFA = True
        post_sign_in(client, clinician.username)
        client.get(reverse("accounts:two-factor-setup"))
        device = TOTPDevice.objects.get(user=clinician, confirmed=False)
        code = issue_enrolment_code(user=clinician, by=None)
        wrong = "000000" if current_code(device) != "000000" else "111111"
        response = client.post(
            reverse("accounts:two-factor-setup"), {"token": wrong, "enrolment_code": code}
        )
        assert response.status_code == 400
        assert b"does not match" in response.content
        response = client.post(
            reverse("accounts:two-factor-setup"), {"token": "12ab", "enrolment_code": code}
        )
        assert response.status_code == 400
        assert b"Enter the 6 digits" in response.content
        assert not TOTPDevice.objects.filter(user=clinician, confirmed=True).exists()
        assert client.get("/clinician/").status_code == 302

    def test_enrolled_user_must_give_a_code_and_cannot_enrol_again(
        self, client, settings, clinician
    ):
        settings.REQUIRE_MFA = True
        device = TOTPDevice.objects.create(user=clinician, name="app", confirmed=True)
        post_sign_in(client, clinician.username)
        response = client.get(reverse("accounts:two-factor-setup"))
        assert response["Location"] == reverse("accounts:two-factor")
        assert TOTPDevice.objects.filter(user=clinician).count() == 1

        response = client.post(reverse("accounts:two-factor"), {"token": "12-x"})
        assert response.status_code == 400
        response = client.post(reverse("accounts:two-factor"), {"token": "999999"})
        if current_code(device) != "999999":
            assert response.status_code == 400
            assert AccessEvent.objects.filter(reason="wrong second-factor code").exists()
            assert client.get("/clinician/").status_code == 302

    def test_code_from_the_app_signs_in(self, client, settings, clinician):
        settings.REQUIRE_MFA = True
        device = TOTPDevice.objects.create(user=clinician, name="app", confirmed=True)
        post_sign_in(client, clinician.username)
        response = client.post(
            reverse("accounts:two-factor") + "?next=/supervisor/",
            {"token": current_code(device), "next": "/clinician/"},
        )
        assert response.status_code == 302
        assert response["Location"] == "/clinician/"
        assert client.get("/clinician/").status_code == 200

    def test_backup_code_works_once(self, client, settings, clinician):
        settings.REQUIRE_MFA = True
        TOTPDevice.objects.create(user=clinician, name="app", confirmed=True)
        from accounts.services.two_factor import replace_backup_codes

        code = replace_backup_codes(by=clinician)[0]
        post_sign_in(client, clinician.username)
        response = client.post(reverse("accounts:two-factor"), {"token": code})
        assert response.status_code == 302
        assert client.get("/clinician/").status_code == 200
        client.post("/account/sign-out/")

        post_sign_in(client, clinician.username)
        response = client.post(reverse("accounts:two-factor"), {"token": code})
        assert response.status_code == 400
        assert StaticToken.objects.filter(device__user=clinician).count() == 9

    def test_next_cannot_send_the_user_off_site(self, client, settings, clinician):
        settings.REQUIRE_MFA = True
        device = TOTPDevice.objects.create(user=clinician, name="app", confirmed=True)
        post_sign_in(client, clinician.username)
        response = client.post(
            reverse("accounts:two-factor"),
            {"token": current_code(device), "next": "https://evil.example/steal"},
        )
        assert response["Location"] == "/"

    def test_backup_codes_cannot_be_made_with_a_password_alone(self, client, settings, clinician):
        settings.REQUIRE_MFA = True
        TOTPDevice.objects.create(user=clinician, name="app", confirmed=True)
        post_sign_in(client, clinician.username)
        response = client.post(reverse("accounts:backup-codes"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:two-factor"))
        assert not StaticToken.objects.filter(device__user=clinician).exists()

    def test_verified_user_can_replace_backup_codes(self, sign_in, settings, clinician):
        settings.REQUIRE_MFA = True
        client = sign_in(clinician)
        assert b"0</strong> unused" in client.get(reverse("accounts:backup-codes")).content
        response = client.post(reverse("accounts:backup-codes"), {"password": PASSWORD})
        assert len(response.context["codes"]) == 10
        assert StaticToken.objects.filter(device__user=clinician).count() == 10


class TestLockout:
    def test_five_failures_lock_the_account_even_for_the_right_password(
        self, client, settings, clinician
    ):
        settings.REQUIRE_MFA = False
        for _ in range(4):
            assert post_sign_in(client, clinician.username, "wrong password!").status_code == 200
        response = post_sign_in(client, clinician.username, "wrong password!")
        assert response.status_code == 429
        assert b"locked for a while after 5 failed sign-in attempts" in response.content
        assert (
            AccessEvent.objects.filter(action=AccessEvent.Action.LOCKOUT, user=clinician).count()
            == 1
        )

        response = post_sign_in(client, clinician.username)
        assert response.status_code == 429
        assert "_auth_user_id" not in client.session
        assert AccessEvent.objects.filter(
            action=AccessEvent.Action.FAILED_SIGN_IN, reason="account locked"
        ).exists()

    def test_lockout_is_per_account(self, client, settings, clinician, supervisor):
        settings.REQUIRE_MFA = False
        for _ in range(5):
            post_sign_in(client, clinician.username, "wrong password!")
        response = post_sign_in(client, supervisor.username)
        assert response.status_code == 302

    def test_superuser_unlocks_from_the_admin(self, client, settings, clinician, superuser):
        settings.REQUIRE_MFA = False
        for _ in range(5):
            post_sign_in(client, clinician.username, "wrong password!")
        assert post_sign_in(client, clinician.username).status_code == 429

        admin_client = type(client)()
        admin_client.force_login(superuser)
        response = admin_client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "unlock_sign_in", "_selected_action": [clinician.pk]},
        )
        assert response.status_code == 302

        response = post_sign_in(client, clinician.username)
        assert response.status_code == 302
        assert client.get("/clinician/").status_code == 200


class TestSignOut:
    def test_sign_out_ends_the_session_on_the_server(self, client, settings, clinician):
        settings.REQUIRE_MFA = False
        post_sign_in(client, clinician.username)
        old_key = client.session.session_key
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        response = client.post("/account/sign-out/", follow=True)
        assert b"You have signed out." in response.content
        assert not StaffSession.objects.filter(session_key=old_key).exists()
        assert AccessEvent.objects.filter(
            user=clinician, action=AccessEvent.Action.SIGN_OUT
        ).exists()

        replay = type(client)()
        replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
        assert replay.get("/clinician/").status_code == 302

    def test_sign_out_by_get_only_asks(self, client, settings, clinician):
        settings.REQUIRE_MFA = False
        post_sign_in(client, clinician.username)
        response = client.get("/account/sign-out/")
        assert response.status_code == 200
        assert "_auth_user_id" in client.session

    def test_disabling_an_account_ends_its_sessions_at_once(self, client, settings, clinician):
        settings.REQUIRE_MFA = False
        post_sign_in(client, clinician.username)
        other_device = type(client)()
        post_sign_in(other_device, clinician.username)
        assert StaffSession.objects.filter(user=clinician).count() == 2

        clinician.is_active = False
        clinician.save()
        assert StaffSession.objects.filter(user=clinician).count() == 0
        assert client.get("/clinician/").status_code == 302
        assert other_device.get("/clinician/").status_code == 302

    def test_admin_action_disables_and_ends_sessions(self, client, settings, clinician, superuser):
        settings.REQUIRE_MFA = False
        post_sign_in(client, clinician.username)
        admin_client = type(client)()
        admin_client.force_login(superuser)
        admin_client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "disable_accounts", "_selected_action": [clinician.pk]},
        )
        clinician.refresh_from_db()
        assert not clinician.is_active
        assert client.get("/clinician/").status_code == 302
        assert post_sign_in(client, clinician.username).status_code == 200  # refused


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Sh0rt&pw", "at least 12 characters"),
        ("password1234", "too common"),
        ("739184650273", "entirely numeric"),
    ],
)
def test_password_rules(db, password, message):
    with pytest.raises(ValidationError) as raised:
        validate_password(password)
    assert any(message in text for text in raised.value.messages)


def test_good_password_passes(db):
    validate_password("a long and uncommon passphrase 7")
