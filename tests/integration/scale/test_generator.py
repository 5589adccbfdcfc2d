"""The synthetic county data: deterministic, consistent, and what the pages can show.

A tiny scale keeps these fast; the generator's code paths are the same at every scale. Both of
the loader's paths run here: COPY on PostgreSQL and batched inserts on SQLite.
"""

import datetime as dt
import hashlib
from dataclasses import replace

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.test import Client as HttpClient

from accounts.models import AccessEvent, User
from clients.models import Attendance, Client, validate_record_number
from directory.models import Group, Meeting
from referrals.models import FollowUp, ProcedureStep, Referral, ReferredGroup, Screening
from scale.models import ScaleDataset
from scale.services import generator as gen
from scale.services.generator import COUNTY, SCALES, SMALL, CountyGenerator, Scale

pytestmark = pytest.mark.django_db

TINY = Scale(
    name="tiny",
    clinics=3,
    staff=24,
    clients=90,
    referrals=60,
    attendance=400,
    listings=70,
    meetings=120,
    access_events_per_day=30,
    days=40,
)
AS_OF = dt.date(2026, 11, 25)
TABLES = [
    User,
    Client,
    Group,
    Meeting,
    Screening,
    Referral,
    ReferredGroup,
    ProcedureStep,
    FollowUp,
    Attendance,
    AccessEvent,
]


def _generate(seed: int, scale: Scale = TINY) -> dict[str, int]:
    call_command("seed_directory", verbosity=0)
    return CountyGenerator(scale, seed, AS_OF).run()


def _fingerprint() -> str:
    """A digest of every generated table's rows, ids included, in id order.

    Left out: the password hash (a fresh salt each time, by design) and the 2008 catalogue's
    save times (``seed_directory`` stamps its listings when it runs).
    """
    digest = hashlib.sha256()
    for model in TABLES:
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if f.attname != "password" and not getattr(f, "auto_now", False)
        ]
        for row in model.objects.order_by("pk").values_list(*fields):
            digest.update(repr(row).encode())
    return digest.hexdigest()


def _restart_sequences() -> None:
    """PostgreSQL's sequences ignore a rollback: start the catalogue's ids where a fresh
    database would, so two runs can be compared id for id (SQLite needs nothing)."""
    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _generate_and_undo(seed: int) -> str:
    with transaction.atomic():
        _restart_sequences()
        _generate(seed)
        fingerprint = _fingerprint()
        transaction.set_rollback(True)
    return fingerprint


# --- the scales, without a database --------------------------------------------------------


@pytest.mark.parametrize(
    "field, county",
    [
        ("clinics", 100),
        ("staff", 3_000),
        ("clients", 250_000),
        ("referrals", 100_000),
        ("attendance", 2_000_000),
        ("listings", 2_000),
        ("meetings", 20_000),
        ("access_events_per_day", 200_000),
        ("days", 365),
    ],
)
def test_the_county_has_the_issues_figures_and_small_is_one_hundredth(field, county):
    assert getattr(COUNTY, field) == county
    expected_small = county if field == "days" else max(1, county // 100)
    assert getattr(SMALL, field) == expected_small
    assert SCALES == {"county": COUNTY, "small": SMALL}


@pytest.mark.parametrize(
    "total, weights, minimum, expected",
    [
        (10, [1, 1], 0, [5, 5]),
        (10, [3, 1], 0, [8, 2]),  # 7.5 and 2.5: the larger remainder goes first, then order
        (7, [1, 1, 1], 2, [3, 2, 2]),
        (3, [100, 1, 1], 1, [1, 1, 1]),
        (0, [1, 2], 0, [0, 0]),
    ],
)
def test_split_shares_a_total_by_weight_and_never_loses_one(total, weights, minimum, expected):
    counts = gen._split(total, weights, minimum)
    assert counts == expected
    assert sum(counts) == total


# --- determinism -----------------------------------------------------------------------------


def test_the_same_seed_and_day_give_the_same_rows_and_another_seed_does_not():
    first = _generate_and_undo(7)
    again = _generate_and_undo(7)
    other = _generate_and_undo(8)
    assert first == again
    assert first != other


# --- consistency -----------------------------------------------------------------------------


def _orphans(model) -> dict[str, int]:
    """Rows whose foreign key names no row: the loader may turn the checks off for speed."""
    found = {}
    for field in model._meta.concrete_fields:
        if isinstance(field, models.ForeignKey):
            target = field.related_model
            bad = (
                model.objects.exclude(**{f"{field.attname}__isnull": True})
                .exclude(**{f"{field.attname}__in": target.objects.values("pk")})
                .count()
            )
            if bad:
                found[f"{model.__name__}.{field.name}"] = bad
    return found


def test_every_reference_points_at_a_row_and_the_counts_are_the_scales():
    counts = _generate(3)
    loader_models = set(TABLES)
    orphans = {}
    for model in loader_models:
        orphans.update(_orphans(model))
    assert orphans == {}

    assert counts["clinics"] == TINY.clinics
    assert counts["staff"] == TINY.staff
    assert counts["clients"] == TINY.clients
    assert counts["referrals"] == TINY.referrals
    assert Group.objects.count() == TINY.listings
    assert Meeting.objects.count() == TINY.meetings
    assert 0 < counts["attendance"] <= TINY.attendance
    working_days = sum(
        1 for back in range(1, TINY.days + 1) if (AS_OF - dt.timedelta(back)).weekday() < 5
    )
    weekend_days = TINY.days - working_days
    assert counts["access log"] == (
        working_days * TINY.access_events_per_day + weekend_days * (TINY.access_events_per_day // 5)
    )
    # Every referral has its eleven steps (VIII.A–K), and a client's rows stay in its clinic.
    assert ProcedureStep.objects.count() == 11 * TINY.referrals
    assert not Referral.objects.exclude(clinic_id=models.F("client__clinic_id")).exists()
    assert not Attendance.objects.exclude(clinic_id=models.F("client__clinic_id")).exists()
    # Attendance is at a group the client was referred to.
    referred = set(ReferredGroup.objects.values_list("referral__client_id", "group_id"))
    assert set(Attendance.objects.values_list("client_id", "group_id")) <= referred
    # Record numbers are the county's format.
    for number in Client.objects.values_list("record_number", flat=True):
        validate_record_number(number)
    # The next row the application saves gets a free id (sequences were reset).
    assert AccessEvent.objects.create(action=AccessEvent.Action.VIEW).pk > counts["access log"]


def test_clinics_differ_in_size_and_groups_in_popularity():
    bigger = replace(TINY, clients=400, clinics=5)
    _generate(5, bigger)
    per_clinic = sorted(
        Client.objects.values("clinic").annotate(n=models.Count("id")).values_list("n", flat=True)
    )
    assert per_clinic[-1] >= 2 * per_clinic[0]
    per_group = sorted(
        ReferredGroup.objects.values("group")
        .annotate(n=models.Count("id"))
        .values_list("n", flat=True),
        reverse=True,
    )
    # The most chosen group takes several times the median group's referrals.
    assert per_group[0] >= 3 * per_group[len(per_group) // 2]
    assert bigger.clients == Client.objects.count()


# --- the pages show generated data ---------------------------------------------------------


def test_generated_accounts_see_their_pages(settings):
    settings.REQUIRE_MFA = False
    _generate(11)
    clinician = User.objects.get(username="clin-001-01")
    assert clinician.check_password(gen.STAFF_PASSWORD)
    referral = (
        Referral.objects.filter(clinic=clinician.clinic)
        .exclude(status__in=["preparing", "closed"])
        .first()
    )
    assert referral is not None
    group = Group.objects.filter(status=Group.Status.ACTIVE).order_by("id").last()
    browser = HttpClient()
    browser.force_login(clinician)
    for url in [
        "/clinician/",
        "/clients/",
        f"/clients/{referral.client_id}/",
        f"/referrals/screen/{referral.client_id}/",
        f"/referrals/{referral.pk}/",
        f"/referrals/{referral.pk}/sheet/",
        "/directory/?q=depression",
        f"/directory/{group.slug}/",
    ]:
        assert browser.get(url).status_code == 200, url
    supervisor = HttpClient()
    supervisor.force_login(User.objects.get(username="sup-001-1"))
    for url in ["/supervisor/", "/referrals/review/", "/access-log/"]:
        assert supervisor.get(url).status_code == 200, url
    superuser = HttpClient()
    superuser.force_login(User.objects.get(username=gen.SUPERUSER))
    assert superuser.get("/admin/directory/group/?q=depression").status_code == 200


# --- the command -----------------------------------------------------------------------------


def test_the_command_records_the_dataset_and_refuses_a_database_with_clients(monkeypatch):
    monkeypatch.setitem(gen.SCALES, "small", TINY)
    monkeypatch.setattr("scale.management.commands.generate_scale_data.SCALES", {"small": TINY})
    call_command("generate_scale_data", "--scale", "small", "--seed", "4", "--as-of", "2026-11-25")
    dataset = ScaleDataset.objects.get()
    assert (dataset.scale, dataset.seed, dataset.as_of) == ("small", 4, AS_OF)
    assert dataset.generator_version == gen.GENERATOR_VERSION
    assert dataset.counts["clients"] == TINY.clients
    assert 0 < dataset.peak_rss_mib < 1024
    with pytest.raises(CommandError, match="already holds clients"):
        call_command("generate_scale_data", "--scale", "small", "--seed", "4")
    assert Client.objects.count() == TINY.clients  # nothing added by the refused run


def test_the_loader_refuses_a_computed_default_it_was_not_given():
    from scale.services.loader import MissingColumn, TableLoader

    with pytest.raises(MissingColumn, match="occurred_at"):
        TableLoader().load(AccessEvent, ["id", "action"], [(1, "view")])
    assert connection.vendor in {"postgresql", "sqlite"}
