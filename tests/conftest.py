import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from accounts.models import Role
from tests.factories.accounts import ClinicFactory, UserFactory

# Property tests: HYPOTHESIS_PROFILE picks how hard they look. "default" (CI and `make test`) is
# bounded and derandomized, so a run takes the same time and a failure is the same failure on
# every machine; "thorough" explores ten times as many examples with a fresh random seed each
# run. No example database either way: nothing is written to the checkout. Tests set no example
# counts of their own (the fuzzer's FUZZ_EXAMPLES budget is the one exception, see
# tests/security/test_fuzz_forms.py).
hypothesis_settings.register_profile(
    "default",
    max_examples=100,
    deadline=None,  # timings on a shared CI machine say nothing about the code
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    derandomize=False,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    """Background tasks run as they are queued (Django's ImmediateBackend); the one test of
    the database queue sets the database backend itself."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def clinic(db):
    return ClinicFactory(name="Hollywood Mental Health Center")


@pytest.fixture
def other_clinic(db):
    return ClinicFactory(name="Long Beach Mental Health")


@pytest.fixture
def clinician(clinic):
    return UserFactory(username="clinician", clinic=clinic, roles=[Role.CLINICIAN])


@pytest.fixture
def supervisor(clinic):
    return UserFactory(username="supervisor", clinic=clinic, roles=[Role.SUPERVISOR])


@pytest.fixture
def site_admin(clinic):
    return UserFactory(username="siteadmin", clinic=clinic, roles=[Role.SITE_ADMIN])


@pytest.fixture
def outsider(other_clinic):
    """A supervisor and clinician of another clinic. Named apart from every client the tests
    make: the pages they are refused still show their own name in the header, and a generated
    name once shared a client's surname ("Reyes"), which the refusal tests look for."""
    return UserFactory(
        username="outsider",
        first_name="Olwen",
        last_name="Outlander",
        clinic=other_clinic,
        roles=[Role.CLINICIAN, Role.SUPERVISOR],
    )


@pytest.fixture
def no_role_user(clinic):
    return UserFactory(username="norole", clinic=clinic)


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", clinic=None, is_staff=True, is_superuser=True)


@pytest.fixture
def sign_in(client, db):
    """Sign a user in with both factors done, as the real flow leaves them."""

    def _sign_in(user, *, verified=True):
        client.force_login(user)
        if verified:
            device, _ = TOTPDevice.objects.get_or_create(
                user=user, name="Authenticator app", defaults={"confirmed": True}
            )
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        return client

    return _sign_in


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Production hashing is deliberately slow; the suite signs in hundreds of times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class QueryCount(int):
    """The number of queries a page ran; `.response` is the page, to follow its links."""

    response = None


@pytest.fixture(autouse=True)
def shared_reads_per_test(settings, tmp_path):
    """Each test gets its own empty store of shared reads (core.http_cache): the catalogue's
    version starts again in every test's database, so entries must not carry over."""
    settings.SHARED_READS_DIR = str(tmp_path / "shared-reads")


@pytest.fixture
def count_queries(db):
    """`count_queries(client, path, data=None, *, results=False)`: GET the page, check it is a
    200, and return how many queries it ran (a `QueryCount`, an int with the `.response`).

    With `results=True` the page's `page` must list something: a count over an empty page
    proves little.
    """

    def _count(client, path, data=None, *, results=False):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path, data or {})
        assert response.status_code == 200, (response.status_code, response.content[:500])
        if results and "page" in response.context:
            assert response.context["page"].object_list, "no results: a count that proves little"
        counted = QueryCount(len(queries))
        counted.response = response
        return counted

    return _count
