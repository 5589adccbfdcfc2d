"""The permission set kept in the session: read once, used while roles and permissions stay
as they were, and never a request longer after a role or a permission changes."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import permission_cache
from accounts.models import PermissionsVersion, Role, User
from tests.factories.accounts import PASSWORD, UserFactory

PAGE = "/directory/"  # needs directory.view_group, which every role has


def permission_queries(client, path=PAGE):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    reads = [q["sql"] for q in queries if '"auth_permission"' in q["sql"]]
    return response, reads


@pytest.fixture
def signed_in(sign_in, clinician):
    client = sign_in(clinician)
    response, reads = permission_queries(client)
    assert response.status_code == 200
    assert reads == []  # read as the person signed in
    return client


def test_the_set_is_read_at_sign_in_and_kept_in_the_session(settings, client, clinician):
    settings.REQUIRE_MFA = False
    response = client.post(
        "/account/sign-in/", {"username": clinician.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert "directory.view_group" in client.session[permission_cache.SESSION_KEY]["group"]
    for _ in range(3):
        response, reads = permission_queries(client)
        assert response.status_code == 200
        assert reads == []


def test_a_removed_role_takes_effect_on_the_next_request(signed_in, clinician):
    clinician.groups.remove(Group.objects.get(name=Role.CLINICIAN))
    response, reads = permission_queries(signed_in)
    assert response.status_code == 403
    assert len(reads) == 2  # read again, and kept again
    assert permission_queries(signed_in)[1] == []


def test_a_permission_taken_from_the_role_takes_effect_on_the_next_request(signed_in):
    role = Group.objects.get(name=Role.CLINICIAN)
    role.permissions.remove(
        Permission.objects.get(content_type__app_label="directory", codename="view_group")
    )
    assert permission_queries(signed_in)[0].status_code == 403


def test_a_role_removed_in_bulk_takes_effect_on_the_next_request(signed_in, clinician):
    # No signal is sent for a queryset delete: the database's trigger still counts it.
    User.groups.through.objects.filter(user_id=clinician.pk).delete()
    assert permission_queries(signed_in)[0].status_code == 403


def test_a_role_given_takes_effect_on_the_next_request(sign_in, clinic):
    user = UserFactory(username="newcomer", clinic=clinic)
    client = sign_in(user)
    assert permission_queries(client)[0].status_code == 403
    assert permission_queries(client)[0].status_code == 403  # the empty set is kept too
    user.groups.add(Group.objects.get(name=Role.CLINICIAN))
    assert permission_queries(client)[0].status_code == 200


def test_superuser_status_taken_away_takes_effect_on_the_next_request(sign_in, clinic):
    user = UserFactory(username="formerroot", clinic=clinic, is_staff=True, is_superuser=True)
    client = sign_in(user)
    assert permission_queries(client)[0].status_code == 200
    assert permission_queries(client)[1] == []
    User.objects.filter(pk=user.pk).update(is_superuser=False)  # the user's row, read each time
    response, reads = permission_queries(client)
    assert response.status_code == 403
    assert len(reads) == 2


def test_a_set_kept_at_an_older_version_is_not_used(signed_in, clinician):
    kept = signed_in.session[permission_cache.SESSION_KEY]
    # A session edited to claim a permission, at a version that is no longer current.
    session = signed_in.session
    session[permission_cache.SESSION_KEY] = {**kept, "group": ["accounts.use_site_admin_home"]}
    session.save()
    Group.objects.get(name=Role.SUPERVISOR).permissions.add(Permission.objects.first())
    assert permission_queries(signed_in, "/site-admin/")[0].status_code == 403


def test_each_session_keeps_its_own_user_set(sign_in, client, clinician, supervisor):
    sign_in(clinician)
    assert permission_queries(client)[0].status_code == 200
    client.logout()
    sign_in(supervisor)
    response = client.get("/supervisor/")
    assert response.status_code == 200
    stamp = client.session[permission_cache.SESSION_KEY]["stamp"]
    assert stamp[0] == supervisor.pk


def test_every_table_a_permission_check_reads_bumps_the_version(db):
    tables = permission_cache.permission_tables()
    assert "auth_group_permissions" in tables
    assert User.groups.through._meta.db_table in tables
    before = PermissionsVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    Group.objects.create(name="A role for the test")
    after = PermissionsVersion.objects.get(pk=1).version
    assert after > (before or 0)
