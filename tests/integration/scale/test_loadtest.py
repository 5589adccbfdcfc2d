"""The load test's journey runs, end to end, on gunicorn and PostgreSQL.

``scripts/loadtest.py`` is run as ``make bench`` runs it (its own process, gunicorn on the test
database, locust with ``scale/locustfile.py``), with a handful of clinicians for a few seconds on
factory data: a clinic, its clinicians, their clients, and the directory from
``seed_directory``. It must end with no failure, and every step of the journey (sign-in, the
worklist, the client search, screening, the client's input, matching and choosing a group, the
referral page, the sheet, a procedure step, the directory) must have been asked for: a page
that changed its form or its answer would otherwise stop the load test from measuring anything.

No timing is asserted: speed is the benchmark's business (docs/PERFORMANCE.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> make test \
        PYTEST_ARGS="tests/integration/scale/test_loadtest.py"
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from django.conf import global_settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection

from accounts.models import AccessEvent, Role, User
from referrals.models import ProcedureStep, Referral
from tests.factories.accounts import PASSWORD, ClinicFactory, UserFactory
from tests.factories.clients import ClientFactory
from tests.integration.core.test_views import ROOT
from tests.security.test_scale_out import database_url, restore_migrated_data  # noqa: F401

CLINICIANS = 4
CLIENTS_EACH = 3
# The journey's request names, as scale/locustfile.py names them (read here without importing
# locust: importing it patches the standard library for gevent, which this process must not).
STEPS = [
    "sign-in form",
    "sign in",
    "worklist",
    "client list",
    "client search",
    "client page",
    "screening form",
    "screening (save)",
    "referral page (input)",
    "client input (save)",
    "referral page (groups)",
    "groups (choose)",
    "referral page",
    "client sheet",
    "procedure step (done)",
    "directory search",
    "group page",
]

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the load test runs on PostgreSQL"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("locust") is None,
        reason='locust is not installed (pip install -e ".[bench]")',
    ),
]


def clinic_with_clinicians(tmp_path):
    """A clinic, its clinicians with three clients each, and the accounts file for the run."""
    clinic = ClinicFactory(name="Load Test Clinic")
    # The server checks passwords with production's hasher; hash once, share it (as the
    # generator does), rather than pay for it per account.
    hashed = make_password(PASSWORD, hasher="pbkdf2_sha256")
    names = []
    for n in range(1, CLINICIANS + 1):
        user = UserFactory(username=f"clin-900-{n:02d}", clinic=clinic, roles=[Role.CLINICIAN])
        for k in range(CLIENTS_EACH):
            ClientFactory(clinic=clinic, created_by=user, record_number=f"{9000000 + n * 10 + k}")
        names.append(user.username)
    User.objects.filter(username__in=names).update(password=hashed)
    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps({"password": PASSWORD, "usernames": names}))
    return names, accounts


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the server sees commits
def test_the_referral_journey_runs_under_load_without_a_failure(settings, tmp_path):
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    call_command("seed_directory", verbosity=0)
    names, accounts = clinic_with_clinicians(tmp_path)
    report_path = tmp_path / "loadtest.json"

    done = subprocess.run(
        [
            sys.executable,
            "scripts/loadtest.py",
            "--database-url",
            database_url(),
            "--json",
            str(report_path),
            "--accounts",
            str(accounts),
            "--users",
            str(CLINICIANS),
            "--spawn-rate",
            str(CLINICIANS),
            # Until every step has been asked for: seconds on a quiet machine; 45 s at most.
            "--until-every-step",
            "--duration",
            "45s",
            "--workers",
            "2",
            # Quick "people": every step is reached within a few seconds.
            "--wait",
            "0.1,0.3",
        ],
        cwd=ROOT,
        # No connection outlives the run, so the test database can be dropped after.
        env={**os.environ, "CONN_MAX_AGE": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert report_path.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert (report["failures"], report["errors"]) == (0, 0), (
        report["failure_details"],
        report["error_details"],
        report["server_errors"],
    )
    assert done.returncode == 0, done.stderr[-3000:]

    requested = {row["name"]: row["requests"] for row in report["endpoints"]}
    assert [step for step in STEPS if not requested.get(step)] == []
    assert report["steps_not_requested"] == []
    assert set(requested) == set(STEPS)  # every request is named by its page, no raw ids
    assert requested["sign in"] == CLINICIANS  # each user signs in once, as itself

    # The report has what docs/PERFORMANCE.md shows, and the workers' memory was sampled.
    assert report["users"] == CLINICIANS and report["workers"] == 2
    assert report["requests"] == sum(requested.values()) > 0
    assert report["journeys"]["completed"] >= 1
    assert len(report["worker_memory"]) == 2 and report["memory_samples"] > 2
    assert 0 < report["worker_rss_start_mib"] <= report["worker_rss_max_mib"]
    assert report["gunicorn_cmd"].startswith("gunicorn config.wsgi --bind 127.0.0.1:")

    # The journeys were real: referrals with a group chosen and VIII.E done, by these users,
    # each in the access log.
    referred = Referral.objects.filter(clinician__username__in=names, groups__isnull=False)
    assert referred.exists()
    assert ProcedureStep.objects.filter(
        referral__in=referred, code=ProcedureStep.Code.E, status=ProcedureStep.Status.DONE
    ).exists()
    signed_in = AccessEvent.objects.filter(action="sign-in", user__username__in=names)
    assert signed_in.values("user").distinct().count() == CLINICIANS
