"""The access log: sign-in events, the decorator's one row per request, append-only."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from accounts.models import AccessEvent, AccessLogIsAppendOnly
from accounts.services import access_log
from tests.factories.accounts import PASSWORD


def test_sign_in_and_sign_out_are_recorded(client, settings, clinician):
    settings.REQUIRE_MFA = False
    client.post(
        "/account/sign-in/",
        {"username": clinician.username, "password": PASSWORD},
        REMOTE_ADDR="10.1.2.3",
    )
    client.post("/account/sign-out/", REMOTE_ADDR="10.1.2.3")
    events = list(AccessEvent.objects.order_by("id"))
    assert [e.action for e in events] == ["sign-in", "sign-out"]
    for event in events:
        assert event.user == clinician
        assert event.clinic == clinician.clinic
        assert event.ip_address == "10.1.2.3"
        assert event.outcome == "success"


@pytest.mark.urls("tests.access_log_urls")
class TestAccessLoggedDecorator:
    def test_a_view_writes_exactly_one_row_naming_the_record(self, sign_in, clinician, supervisor):
        client = sign_in(clinician)
        before = AccessEvent.objects.count()
        assert client.get(f"/record/{supervisor.pk}/").status_code == 200
        assert AccessEvent.objects.count() == before + 1
        event = AccessEvent.objects.latest("id")
        assert (event.action, event.object_type, event.object_id) == (
            "view",
            "user",
            str(supervisor.pk),
        )
        assert (event.user, event.clinic_id, event.outcome) == (
            clinician,
            supervisor.clinic_id,
            "success",
        )

    def test_another_clinics_record_is_a_404_and_logged(self, sign_in, clinician, outsider):
        client = sign_in(clinician)
        before = AccessEvent.objects.count()
        assert client.get(f"/record/{outsider.pk}/").status_code == 404
        assert AccessEvent.objects.count() == before + 1
        event = AccessEvent.objects.latest("id")
        assert (event.outcome, event.object_id, event.clinic_id) == (
            "not-found",
            str(outsider.pk),
            clinician.clinic_id,
        )

    def test_a_refused_edit_is_logged_as_a_failure(self, sign_in, clinician):
        client = sign_in(clinician)
        assert client.post(f"/record/{clinician.pk}/edit/").status_code == 400
        event = AccessEvent.objects.latest("id")
        assert (event.action, event.outcome) == ("edit", "failure")


def test_record_never_takes_content(rf, clinician):
    event = access_log.record(
        None, AccessEvent.Action.EXPORT, user=clinician, object_type="client", object_id=42
    )
    columns = {field.name for field in AccessEvent._meta.get_fields()}
    assert columns == {
        "id",
        "occurred_at",
        "user",
        "username",
        "action",
        "object_type",
        "object_id",
        "clinic",
        "ip_address",
        "outcome",
        "reason",
    }
    assert event.object_id == "42"


class TestAppendOnly:
    @pytest.fixture
    def event(self, clinician):
        return access_log.record(None, AccessEvent.Action.VIEW, user=clinician)

    def test_save_of_an_existing_row_is_refused(self, event):
        event.reason = "tampered"
        with pytest.raises(AccessLogIsAppendOnly):
            event.save()

    def test_delete_is_refused(self, event):
        with pytest.raises(AccessLogIsAppendOnly):
            event.delete()
        with pytest.raises(AccessLogIsAppendOnly):
            AccessEvent.objects.all().delete()
        with pytest.raises(AccessLogIsAppendOnly):
            AccessEvent.objects.filter(pk=event.pk).delete()

    def test_update_is_refused(self, event):
        with pytest.raises(AccessLogIsAppendOnly):
            AccessEvent.objects.filter(pk=event.pk).update(reason="tampered")
        with pytest.raises(AccessLogIsAppendOnly):
            AccessEvent.objects.bulk_update([event], ["reason"])
        assert AccessEvent.objects.get(pk=event.pk).reason == ""

    def test_the_admin_offers_no_add_change_or_delete(self, sign_in, superuser, event):
        client = sign_in(superuser)
        assert client.get("/admin/accounts/accessevent/").status_code == 200
        assert client.get(f"/admin/accounts/accessevent/{event.pk}/change/").status_code == 200
        response = client.post(
            f"/admin/accounts/accessevent/{event.pk}/change/", {"reason": "tampered"}
        )
        assert response.status_code == 403
        assert client.get(f"/admin/accounts/accessevent/{event.pk}/delete/").status_code == 403
        assert client.get("/admin/accounts/accessevent/add/").status_code == 403
        assert AccessEvent.objects.get(pk=event.pk).reason == ""

    @pytest.mark.skipif(connection.vendor != "postgresql", reason="database trigger: PostgreSQL")
    @pytest.mark.parametrize(
        "sql",
        ["UPDATE accounts_accessevent SET reason = 'tampered'", "DELETE FROM accounts_accessevent"],
    )
    def test_the_database_refuses_raw_changes(self, event, sql):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
        assert AccessEvent.objects.filter(pk=event.pk, reason="").exists()
