"""Synthetic county data, the same for the same seed and day.

Los Angeles County at full size (``COUNTY``: about 100 clinic sites, 3,000 staff, 250,000
clients, 100,000 referrals a year, 2,000,000 attendance records, 2,000 listings with 20,000
meetings, a year of the access log) or a hundredth of it (``SMALL``). The shapes are the
county's, not uniform noise:

- clinic sizes are log-normal; staff, clients and the access log follow them;
- popularity is skewed (Zipf): a few groups take most referrals, a few clinicians carry large
  caseloads;
- referrals spread over the year, each at the stage its age makes likely, with the procedure
  steps, follow-ups, chosen groups, weekly attendance, feedback, peer contacts and, now and then,
  a medication concern that opened a review flag;
- the access log falls on working days and hours.

One ``random.Random(seed)``, drawn in a fixed order and dated back from ``as_of``, gives the same
rows id for id. Rows are streamed table by table to ``scale/services/loader.py``, with what later
tables need kept in compact arrays, so memory stays far below 1 GiB at county scale. No row is a
real person: common names, made-up record numbers, phone numbers in the fictional 555-01xx range.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group as Role
from django.utils.text import slugify

from accounts.models import AccessEvent, Clinic
from accounts.models import Role as RoleName
from clients.models import Attendance, Client, DocumentationSignOff, Feedback, PeerContact
from directory.models import (
    Category,
    Contact,
    CriterionConfirmation,
    Format,
    Group,
    GroupType,
    Language,
    Meeting,
    Need,
    ReviewFlag,
    ServiceArea,
)
from referrals.models import (
    FollowUp,
    ProcedureStep,
    Referral,
    ReferredGroup,
    Screening,
    ScreeningReason,
)
from referrals.rules import clauses, eligibility
from referrals.rules.procedure import D_NOT_NEEDED_REASON

from .loader import TableLoader

# The password of every generated staff member, for the benchmark and the load test. The data
# is synthetic and the databases it goes into are the benchmark's own.
STAFF_PASSWORD = "scale-bench-only-password"  # noqa: S105 (synthetic accounts only)
SUPERUSER = "bench-superuser"
COUNTY_TZ = ZoneInfo("America/Los_Angeles")
GENERATOR_VERSION = 1  # raise when the rows a seed gives change, so old datasets are remade


@dataclass(frozen=True)
class Scale:
    name: str
    clinics: int
    staff: int
    clients: int
    referrals: int  # made in the year before ``as_of``
    attendance: int
    listings: int  # including the 2008 catalogue
    meetings: int
    access_events_per_day: int  # on a working day; a weekend day has a fifth as many
    days: int = 365

    def fraction(self, name: str, divisor: int) -> Scale:
        def part(n: int) -> int:
            return max(1, round(n / divisor))

        return replace(
            self,
            name=name,
            clinics=part(self.clinics),
            staff=part(self.staff),
            clients=part(self.clients),
            referrals=part(self.referrals),
            attendance=part(self.attendance),
            listings=part(self.listings),
            meetings=part(self.meetings),
            access_events_per_day=part(self.access_events_per_day),
        )


# "Hundreds of thousands of rows a day": 200,000 on a working day, a fifth of that at
# weekends, which is about 55 million rows for the year.
COUNTY = Scale(
    name="county",
    clinics=100,
    staff=3_000,
    clients=250_000,
    referrals=100_000,
    attendance=2_000_000,
    listings=2_000,
    meetings=20_000,
    access_events_per_day=200_000,
)
SMALL = COUNTY.fraction("small", 100)
SCALES = {"county": COUNTY, "small": SMALL}

FIRST_NAMES = [
    "Maria",
    "Jose",
    "Luis",
    "Ana",
    "Carlos",
    "Juan",
    "Rosa",
    "Miguel",
    "Sofia",
    "Daniel",
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "Michael",
    "Linda",
    "David",
    "Barbara",
    "William",
    "Elizabeth",
    "Kim",
    "Min-jun",
    "Ji-woo",
    "Wei",
    "Mei",
    "Jun",
    "Li",
    "Nguyen",
    "Thi",
    "Minh",
    "Anh",
    "Arman",
    "Ani",
    "Narek",
    "Lusine",
    "Tigran",
    "Ahmad",
    "Fatima",
    "Omar",
    "Layla",
    "Reza",
    "Maryam",
    "Sina",
    "Dmitri",
    "Olga",
    "Ivan",
    "Natalia",
    "Jose",
    "Angel",
    "Marisol",
    "Guadalupe",
    "Alejandro",
    "Teresa",
    "Jasmine",
    "Tyrone",
    "Keisha",
    "Andre",
    "Aaliyah",
    "Marcus",
    "Imani",
    "Grace",
    "Samuel",
    "Ruth",
    "Joseph",
    "Esther",
    "Thomas",
    "Dolores",
    "Rafael",
    "Yolanda",
    "Ricardo",
    "Carmen",
    "Hector",
    "Lupe",
    "Sokha",
    "Dara",
    "Chanthy",
    "Vichea",
    "Mateo",
    "Valeria",
    "Diego",
    "Camila",
]
LAST_NAMES = [
    "Garcia",
    "Hernandez",
    "Lopez",
    "Martinez",
    "Gonzalez",
    "Rodriguez",
    "Perez",
    "Sanchez",
    "Ramirez",
    "Torres",
    "Flores",
    "Rivera",
    "Gomez",
    "Diaz",
    "Reyes",
    "Morales",
    "Cruz",
    "Ortiz",
    "Gutierrez",
    "Chavez",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "White",
    "Harris",
    "Kim",
    "Lee",
    "Park",
    "Choi",
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Nguyen",
    "Tran",
    "Le",
    "Pham",
    "Hoang",
    "Sarkisian",
    "Petrosyan",
    "Hakobyan",
    "Grigoryan",
    "Ahmadi",
    "Hosseini",
    "Karimi",
    "Rahimi",
    "Ivanov",
    "Smirnova",
    "Santos",
    "Cruz",
    "Reyes",
    "Bautista",
    "Mendoza",
    "Castillo",
    "Ramos",
    "Vargas",
    "Romero",
    "Alvarez",
    "Ruiz",
    "Jimenez",
    "Moreno",
    "Sok",
    "Chea",
    "Chhim",
    "Lim",
]
PLACES = (
    "Lancaster", "Palmdale", "Glendale", "Burbank", "Van Nuys", "Pasadena", "Alhambra",
    "El Monte", "Pomona", "Hollywood", "Echo Park", "Koreatown", "Santa Monica", "Culver City",
    "Venice", "Compton", "Inglewood", "Watts", "South Gate", "Whittier", "Norwalk", "Downey",
    "Torrance", "Long Beach", "San Pedro", "Carson", "Lynwood", "Montebello", "Boyle Heights",
    "Highland Park", "Sylmar", "Reseda", "Northridge", "Westwood",
)  # fmt: skip
GROUP_KINDS = (
    "Support Group",
    "Anonymous",
    "Peer Circle",
    "Recovery Group",
    "Family Group",
    "Friendship Circle",
    "Discussion Group",
)
WORDS = [
    "peer-led",
    "welcoming",
    "confidential",
    "newcomers",
    "sharing",
    "hope",
    "recovery",
    "friendship",
    "meditation",
    "literature",
    "speakers",
    "steps",
    "families",
    "caregivers",
    "coping",
    "skills",
    "stigma",
    "wellness",
    "mindfulness",
    "fellowship",
    "sponsor",
    "women",
    "men",
    "youth",
    "seniors",
    "veterans",
    "bilingual",
]
LANGUAGE_WEIGHTS = [
    ("en", 55),
    ("es", 30),
    ("ko", 2),
    ("hy", 2),
    ("yue", 1),
    ("cmn", 1),
    ("vi", 2),
    ("tl", 2),
    ("fa", 1),
    ("ru", 1),
    ("km", 1),
    ("ar", 1),
    ("zh", 0.5),
    ("other", 0.5),
]
ACTIONS = [
    (AccessEvent.Action.VIEW, "client", 62),
    (AccessEvent.Action.VIEW, "referral", 10),
    (AccessEvent.Action.EDIT, "referral", 8),
    (AccessEvent.Action.CREATE, "screening", 4),
    (AccessEvent.Action.EDIT, "client", 3),
    (AccessEvent.Action.CREATE, "attendance", 3),
    (AccessEvent.Action.PRINT, "referral", 2),
    (AccessEvent.Action.EXPORT, "review", 0.3),
    (AccessEvent.Action.SIGN_IN, "", 4),
    (AccessEvent.Action.SIGN_OUT, "", 3),
    (AccessEvent.Action.FAILED_SIGN_IN, "", 0.4),
    (AccessEvent.Action.DENIED, "client", 0.2),
]


def _cumulative(weights) -> list[float]:
    return list(itertools.accumulate(weights))


def _zipf(n: int, exponent: float = 1.1) -> list[float]:
    return [1 / (rank + 1) ** exponent for rank in range(n)]


class Picker:
    """Draws from a fixed list with fixed weights in O(log n), from the generator's stream."""

    def __init__(self, rng: random.Random, items, weights):
        self.rng = rng
        self.items = list(items)
        self.cumulative = _cumulative(weights)
        self.total = self.cumulative[-1]

    def __call__(self):
        return self.items[bisect.bisect(self.cumulative, self.rng.random() * self.total)]


def _split(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """``total`` shared out in proportion to ``weights`` (largest remainders), each at least
    ``minimum`` where the total allows."""
    n = len(weights)
    base = min(minimum, total // n) if n else 0
    rest = total - base * n
    scale = sum(weights)
    shares = [rest * w / scale for w in weights]
    counts = [base + math.floor(s) for s in shares]
    left = total - sum(counts)
    order = sorted(range(n), key=lambda i: shares[i] - math.floor(shares[i]), reverse=True)
    for i in order[:left]:
        counts[i] += 1
    return counts


@dataclass
class Staff:
    ids: list[int]
    clinicians_by_clinic: dict[int, list[int]]
    supervisors_by_clinic: dict[int, list[int]]
    usernames: dict[int, str]


class CountyGenerator:
    """Fills a migrated database with one scale's data; see the module's docstring."""

    def __init__(self, scale: Scale, seed: int, as_of: dt.date, using: str = "default"):
        self.scale = scale
        self.seed = seed
        self.as_of = as_of
        self.rng = random.Random(seed)  # noqa: S311 (reproducible data, not secrets)
        self.loader = TableLoader(using)
        self.using = using
        self.counts: dict[str, int] = {}
        # End of the as-of day in the county, as the latest instant anything happened.
        self.now = dt.datetime.combine(as_of, dt.time(18, 0), COUNTY_TZ).astimezone(dt.UTC)

    # --- helpers ------------------------------------------------------------------------------

    def _load(self, label: str, model, columns, rows) -> None:
        self.counts[label] = self.counts.get(label, 0) + self.loader.load(model, columns, rows)

    def _at(self, day: dt.date, hour_from: int = 8, hour_to: int = 18) -> dt.datetime:
        """A moment in working hours on ``day`` (county time), as UTC."""
        seconds = self.rng.randrange(hour_from * 3600, hour_to * 3600)
        local = dt.datetime.combine(day, dt.time(), COUNTY_TZ) + dt.timedelta(seconds=seconds)
        return local.astimezone(dt.UTC)

    def _days_ago(self, days: int) -> dt.date:
        return self.as_of - dt.timedelta(days=days)

    # --- the run ------------------------------------------------------------------------------

    def run(self, analyze: bool = False) -> dict[str, int]:
        self.vocabulary()
        clinics = self.clinics()
        staff = self.staff(clinics)
        groups = self.listings(staff)
        clients = self.clients(clinics, staff)
        self.referrals(clients, staff, groups)
        self.sign_offs(staff)
        self.access_log(clinics, staff, clients)
        self.loader.reset_sequences()
        if analyze:
            self.loader.analyze()
        return self.counts

    def vocabulary(self) -> None:
        self.needs = list(Need.objects.using(self.using).order_by("id").values_list("id", "slug"))
        self.languages = dict(
            Language.objects.using(self.using).values_list("code", "id").order_by("id")
        )
        self.spas = list(
            ServiceArea.objects.using(self.using)
            .filter(kind=ServiceArea.Kind.SPA)
            .order_by("spa_number")
            .values_list("id", "spa_number")
        )
        self.countywide = list(
            ServiceArea.objects.using(self.using)
            .filter(kind=ServiceArea.Kind.COUNTYWIDE)
            .values_list("id", flat=True)
        )
        self.categories = list(
            Category.objects.using(self.using).order_by("id").values_list("id", flat=True)
        )
        self.group_types = list(
            GroupType.objects.using(self.using).order_by("id").values_list("id", flat=True)
        )
        self.roles = dict(Role.objects.using(self.using).values_list("name", "id"))
        if not (self.needs and self.spas and self.categories and self.languages):
            raise RuntimeError("The directory's vocabulary is missing: run seed_directory first.")

    # --- clinics and staff --------------------------------------------------------------------

    def clinics(self) -> list[tuple[int, int, float]]:
        """(clinic id, number, size weight) per clinic: log-normal sizes, a few large sites."""
        first = self.loader.next_id(Clinic)
        weights = [self.rng.lognormvariate(0, 0.6) for _ in range(self.scale.clinics)]
        rows = [
            (
                first + n,
                f"Clinic {n + 1:03d} – SPA {self.spas[n % len(self.spas)][1]}",
                self.spas[n % len(self.spas)][1],
                True,
            )
            for n in range(self.scale.clinics)
        ]
        self._load("clinics", Clinic, ["id", "name", "service_planning_area", "is_active"], rows)
        return [(first + n, n + 1, weights[n]) for n in range(self.scale.clinics)]

    def staff(self, clinics) -> Staff:
        User = get_user_model()
        password = make_password(STAFF_PASSWORD)  # hashed once: every account shares it
        sizes = _split(self.scale.staff - 1, [w for _, _, w in clinics], minimum=3)
        next_id = itertools.count(self.loader.next_id(User))
        users, memberships = [], []
        clinicians: dict[int, list[int]] = {}
        supervisors: dict[int, list[int]] = {}
        usernames: dict[int, str] = {}
        joined = self.now - dt.timedelta(days=900)

        def person(username: str, clinic_id: int | None, role: str | None, superuser=False):
            uid = next(next_id)
            users.append(
                (
                    uid,
                    password,
                    superuser,
                    username,
                    self.rng.choice(FIRST_NAMES),
                    self.rng.choice(LAST_NAMES),
                    f"{username}@dmh.example.org",
                    superuser,
                    True,
                    joined,
                    clinic_id,
                )
            )
            usernames[uid] = username
            if role:
                memberships.append((uid, self.roles[role]))
            return uid

        for (clinic_id, number, _), size in zip(clinics, sizes, strict=True):
            supervisors_here = max(1, round(size / 12))
            clinicians_here = max(1, size - supervisors_here - 1)
            person(f"admin-{number:03d}", clinic_id, RoleName.SITE_ADMIN)
            supervisors[clinic_id] = [
                person(f"sup-{number:03d}-{k + 1}", clinic_id, RoleName.SUPERVISOR)
                for k in range(supervisors_here)
            ]
            clinicians[clinic_id] = [
                person(f"clin-{number:03d}-{k + 1:02d}", clinic_id, RoleName.CLINICIAN)
                for k in range(clinicians_here)
            ]
        person(SUPERUSER, clinics[0][0], None, superuser=True)
        self._load(
            "staff",
            User,
            [
                "id",
                "password",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
                "clinic_id",
            ],
            users,
        )
        through = User.groups.through
        first = self.loader.next_id(through)
        self._load(
            "staff roles",
            through,
            ["id", "user_id", "group_id"],
            ((first + i, u, g) for i, (u, g) in enumerate(memberships)),
        )
        return Staff([u[0] for u in users], clinicians, supervisors, usernames)

    # --- the directory ------------------------------------------------------------------------

    def listings(self, staff: Staff):
        """Listings up to the scale's count (after the 2008 catalogue) and their meetings.

        Returns the active listings with a Zipf popularity and each one's first meeting.
        """
        existing = list(Group.objects.using(self.using).order_by("id").values_list("id", flat=True))
        count = max(0, self.scale.listings - len(existing))
        first = self.loader.next_id(Group)
        ids = list(range(first, first + count))
        need_pick = Picker(self.rng, list(self.needs), _zipf(len(self.needs), 0.8))
        formats = Picker(
            self.rng,
            [
                Format.OTHER_MH,
                Format.TWELVE_STEP_OTHER,
                Format.OTHER_NON_MH,
                Format.FAMILY,
                Format.TWELVE_STEP_MH,
                Format.SURVIVORS,
                Format.ADVOCACY,
            ],
            [30, 25, 15, 10, 8, 7, 5],
        )
        statuses = Picker(
            self.rng,
            [
                Group.Status.ACTIVE,
                Group.Status.TEMPORARILY_CLOSED,
                Group.Status.INACTIVE,
                Group.Status.DEFUNCT,
            ],
            [90, 3, 4, 3],
        )
        stances = Picker(
            self.rng,
            [
                Group.MedicationStance.AFFIRMING,
                Group.MedicationStance.NOT_KNOWN,
                Group.MedicationStance.DISCOURAGES,
            ],
            [50, 45, 5],
        )
        verifier = staff.ids[0]
        groups, m2m = (
            [],
            {"needs": [], "languages": [], "service_areas": [], "categories": [], "types": []},
        )
        group_areas: dict[int, list[int]] = {}
        group_language: dict[int, int] = {}
        active: list[int] = list(
            Group.objects.using(self.using)
            .filter(status=Group.Status.ACTIVE, archived_at__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)
        )
        for gid in ids:
            needs = sorted({need_pick() for _ in range(self.rng.randint(1, 3))})
            place = self.rng.choice(PLACES)
            kind = self.rng.choice(GROUP_KINDS)
            name = f"{place} {needs[0][1].replace('-', ' ').title()} {kind}"
            fmt = formats()
            status = statuses()
            verified = (
                self._days_ago(self.rng.randrange(0, 730)) if self.rng.random() < 0.9 else None
            )
            description = (
                f"A {self.rng.choice(WORDS)} group in {place} for people living with "
                + ", ".join(n[1].replace("-", " ") for n in needs)
                + ". "
                + " ".join(self.rng.sample(WORDS, 6)).capitalize()
                + "."
            )
            archived = self.now - dt.timedelta(days=30) if status == Group.Status.DEFUNCT else None
            groups.append(
                (
                    gid,
                    f"{slugify(name)[:100]}-{gid}",
                    name,
                    [],
                    description,
                    fmt,
                    fmt in (Format.TWELVE_STEP_MH, Format.TWELVE_STEP_OTHER),
                    status,
                    stances(),
                    "Arrive a few minutes early; newcomers may just listen.",
                    verified,
                    verifier if verified else None,
                    archived,
                    self.now - dt.timedelta(days=self.rng.randrange(0, 730)),
                )
            )
            m2m["needs"] += [(gid, n[0]) for n in needs]
            langs = [self.languages["en"]] if "en" in self.languages else []
            if self.rng.random() < 0.35 and "es" in self.languages:
                langs.append(self.languages["es"])
            if self.rng.random() < 0.1:
                other = self.rng.choice(sorted(self.languages.values()))
                if other not in langs:
                    langs.append(other)
            m2m["languages"] += [(gid, lang) for lang in langs]
            if self.countywide and self.rng.random() < 0.1:
                areas = [self.countywide[0]]
            else:
                areas = sorted(
                    {self.rng.choice(self.spas)[0] for _ in range(self.rng.randint(1, 2))}
                )
            m2m["service_areas"] += [(gid, a) for a in areas]
            group_areas[gid] = areas
            group_language[gid] = langs[-1] if langs else None
            m2m["categories"].append((gid, self.rng.choice(self.categories)))
            if self.group_types:
                m2m["types"].append((gid, self.rng.choice(self.group_types)))
            if status == Group.Status.ACTIVE:
                active.append(gid)
        self._load(
            "listings",
            Group,
            [
                "id",
                "slug",
                "name",
                "aliases",
                "description",
                "format",
                "is_twelve_step",
                "status",
                "medication_stance",
                "etiquette_note",
                "last_verified_on",
                "last_verified_by_id",
                "archived_at",
                "updated_at",
            ],
            groups,
        )
        for field, pairs in m2m.items():
            through = getattr(Group, field).through
            target = through._meta.get_field(
                {
                    "needs": "need",
                    "languages": "language",
                    "service_areas": "servicearea",
                    "categories": "category",
                    "types": "grouptype",
                }[field]
            ).attname
            start = self.loader.next_id(through)
            self._load(
                f"listing {field}",
                through,
                ["id", "group_id", target],
                ((start + i, g, t) for i, (g, t) in enumerate(pairs)),
            )
        self._criteria(ids, verifier)
        self._contacts(ids)
        first_meeting = self._meetings(ids, existing, group_areas, group_language)
        # Zipf popularity over the active listings, in an order the seed shuffles.
        self.rng.shuffle(active)
        self.popular = Picker(self.rng, active, _zipf(len(active)))
        self.active_groups = active
        return first_meeting

    def _criteria(self, ids, verifier) -> None:
        start = itertools.count(self.loader.next_id(CriterionConfirmation))
        confirmed_at = self.now - dt.timedelta(days=60)
        rows = (
            (next(start), gid, code, ok, verifier if ok else None, confirmed_at if ok else None)
            for gid in ids
            for code in CriterionConfirmation._meta.get_field("criterion").choices
            for ok in [self.rng.random() < 0.8]
        )
        self._load(
            "listing criteria",
            CriterionConfirmation,
            ["id", "group_id", "criterion", "status", "confirmed_by_id", "confirmed_at"],
            (
                (i, g, c[0], "meets" if ok else "not_confirmed", by, at)
                for i, g, c, ok, by, at in rows
            ),
        )

    def _contacts(self, ids) -> None:
        start = itertools.count(self.loader.next_id(Contact))
        rows = []
        for gid in ids:
            rows.append(
                (
                    next(start),
                    gid,
                    Contact.Kind.PHONE,
                    f"+1213555{self.rng.randrange(100, 200):04d}",
                    "",
                    "",
                    "",
                    0,
                )
            )
            if self.rng.random() < 0.5:
                rows.append(
                    (
                        next(start),
                        gid,
                        Contact.Kind.WEB,
                        "",
                        "",
                        "",
                        f"https://example.org/groups/{gid}",
                        1,
                    )
                )
        self._load(
            "listing contacts",
            Contact,
            ["id", "group_id", "kind", "phone", "extension", "email", "url", "order"],
            rows,
        )

    def _meetings(self, ids, existing, group_areas, group_language) -> dict[int, tuple[int, int]]:
        """Meetings shared out by popularity: every synthetic listing has at least one."""
        already = Meeting.objects.using(self.using).count()
        total = max(0, self.scale.meetings - already)
        # The 2008 catalogue's listings get meetings too (the small scale has no others).
        hosts = list(ids) + [g for g in existing if g not in group_areas]
        for gid in hosts[len(ids) :]:
            group_areas[gid] = [self.rng.choice(self.spas)[0]]
            group_language[gid] = self.languages.get("en")
        counts = _split(total, _zipf(len(hosts), 0.9), minimum=1) if hosts else []
        start = itertools.count(self.loader.next_id(Meeting))
        first_meeting: dict[int, tuple[int, int]] = {
            g: (m, w)
            for g, m, w in Meeting.objects.using(self.using)
            .order_by("group_id", "weekday", "start_time")
            .values_list("group_id", "id", "weekday")
        }
        rows = []
        for gid, n in zip(hosts, counts, strict=True):
            for _ in range(n):
                mid = next(start)
                weekday = self.rng.randrange(7)
                hour = self.rng.randrange(7, 21)
                first_meeting.setdefault(gid, (mid, weekday))
                rows.append(
                    (
                        mid,
                        gid,
                        weekday,
                        dt.time(hour, self.rng.choice((0, 30))),
                        dt.time(min(hour + 1, 23), 30),
                        f"{self.rng.choice(PLACES)} Community Room",
                        f"{self.rng.randrange(100, 9999)} Main St",
                        self.rng.choice(group_areas[gid]),
                        group_language[gid],
                        ["O"],
                    )
                )
        self._load(
            "meetings",
            Meeting,
            [
                "id",
                "group_id",
                "weekday",
                "start_time",
                "end_time",
                "location_name",
                "address",
                "service_area_id",
                "language_id",
                "type_codes",
            ],
            rows,
        )
        return first_meeting

    # --- clients ------------------------------------------------------------------------------

    def clients(self, clinics, staff: Staff):
        """Clients per clinic in proportion to its size, each with a primary clinician (Zipf:
        some carry large caseloads). Returns the per-client arrays later tables read."""
        sizes = _split(self.scale.clients, [w for _, _, w in clinics], minimum=1)
        first = self.loader.next_id(Client)
        client_clinic = array("i")
        client_clinician = array("i")
        client_medicated = array("b")
        client_language = []
        languages = Picker(
            self.rng, [c for c, _ in LANGUAGE_WEIGHTS], [w for _, w in LANGUAGE_WEIGHTS]
        )
        ranges: dict[int, tuple[int, int]] = {}

        def rows() -> Iterator[tuple]:
            cid = first
            for (clinic_id, number, _), size in zip(clinics, sizes, strict=True):
                pick = Picker(
                    self.rng,
                    staff.clinicians_by_clinic[clinic_id],
                    _zipf(len(staff.clinicians_by_clinic[clinic_id]), 0.7),
                )
                ranges[clinic_id] = (cid, cid + size)
                for k in range(size):
                    language = languages()
                    clinician = pick()
                    medicated = self.rng.random() < 0.45
                    created = self.now - dt.timedelta(
                        days=self.rng.randrange(0, 1100), seconds=self.rng.randrange(86400)
                    )
                    client_clinic.append(clinic_id)
                    client_clinician.append(clinician)
                    client_medicated.append(medicated)
                    client_language.append(language)
                    yield (
                        cid,
                        clinic_id,
                        f"{number:03d}{k + 1:05d}",
                        self.rng.choice(FIRST_NAMES),
                        self.rng.choice(LAST_NAMES),
                        language,
                        "Tigrinya" if language == "other" else "",
                        language not in ("en", "other") and self.rng.random() < 0.6,
                        medicated,
                        clinician,
                        created,
                        clinician,
                        created,
                        1,
                    )
                    cid += 1

        self._load(
            "clients",
            Client,
            [
                "id",
                "clinic_id",
                "record_number",
                "first_name",
                "last_name",
                "preferred_language",
                "preferred_language_other",
                "needs_interpreter",
                "on_prescribed_medication",
                "primary_clinician_id",
                "created_at",
                "created_by_id",
                "updated_at",
                "version",
            ],
            rows(),
        )
        return {
            "first": first,
            "clinic": client_clinic,
            "clinician": client_clinician,
            "medicated": client_medicated,
            "language": client_language,
            "ranges": ranges,
            "clinic_weights": [(c, w) for c, _, w in clinics],
        }

    # --- screenings, referrals and what follows -----------------------------------------------

    def _answer_templates(self):
        """Screening answers by decision, each with the reasons the real rules give."""
        templates = {"refer": [], "not-now": [], "incomplete": []}
        A, C = eligibility.Answer, eligibility.Criterion
        for indication in clauses.INDICATIONS:
            detail = indication.details[0].code if indication.details else ""
            found = (eligibility.IndicationFound(indication.code, detail),)
            variants = [
                ("refer", {"selection_criterion": C.MET, "on_prescribed_medication": A.YES}),
                ("refer", {"selection_criterion": C.MET, "on_prescribed_medication": A.NO}),
                ("not-now", {"selection_criterion": C.NOT_MET, "on_prescribed_medication": A.NO}),
                (
                    "not-now",
                    {
                        "selection_criterion": C.MET,
                        "violence_without_impulse_control": A.YES,
                        "on_prescribed_medication": A.NO,
                    },
                ),
                (
                    "incomplete",
                    {"selection_criterion": C.MET, "on_prescribed_medication": A.NOT_ASSESSED},
                ),
            ]
            for expected, values in variants:
                values = dict(
                    {"violence_without_impulse_control": A.NO, "expressed_disinterest": A.NO},
                    **values,
                )
                answers = eligibility.ScreeningAnswers(
                    indications=found, explanation_given=True, **values
                )
                outcome = eligibility.evaluate(answers)
                if outcome.decision.value != expected:
                    raise RuntimeError(
                        f"Screening template gave {outcome.decision}, not {expected}"
                    )
                reasons = [
                    (r.clause, r.code, r.kind.value, r.message[:300]) for r in outcome.reasons
                ]
                medicated = answers.on_prescribed_medication == A.YES
                templates[expected].append((answers.as_dict(), reasons, medicated))
        return templates

    def referrals(self, clients, staff: Staff, first_meeting) -> None:
        """A year of screenings and referrals, each at the stage its age makes likely."""
        rng = self.rng
        templates = self._answer_templates()
        refer_medicated = [t for t in templates["refer"] if t[2]]
        refer_plain = [t for t in templates["refer"] if not t[2]]
        not_referred = templates["not-now"] + templates["incomplete"]
        n_clients = len(clients["clinic"])
        first_client = clients["first"]
        clinic_of = clients["clinic"]
        clinician_of = clients["clinician"]

        screening_id = itertools.count(self.loader.next_id(Screening))
        reason_id = itertools.count(self.loader.next_id(ScreeningReason))
        first_referral = self.loader.next_id(Referral)
        referral_id = itertools.count(first_referral)
        self.referral_ids = (first_referral, first_referral + self.scale.referrals)
        referred_group_id = itertools.count(self.loader.next_id(ReferredGroup))
        step_id = itertools.count(self.loader.next_id(ProcedureStep))
        followup_id = itertools.count(self.loader.next_id(FollowUp))
        goal_need_id = itertools.count(self.loader.next_id(Referral.goal_needs.through))

        screenings, reasons, referrals, chosen, steps, followups, goal_needs = (
            [],
            [],
            [],
            [],
            [],
            [],
            [],
        )
        # What attendance needs of each referral that got as far as a group.
        attending: list[tuple] = []
        drafting: set[int] = set()
        total_screenings = self.scale.referrals + self.scale.referrals // 4
        days = self.scale.days
        for n in range(total_screenings):
            client_index = rng.randrange(n_clients)
            client_id = first_client + client_index
            clinic_id = clinic_of[client_index]
            clinician = clinician_of[client_index]
            age = rng.randrange(days)
            day = self._days_ago(age)
            screened_at = self._at(day)
            refer = n < self.scale.referrals
            if refer:
                pool = refer_medicated if clients["medicated"][client_index] else refer_plain
            else:
                pool = not_referred
            answers, why, medicated = pool[rng.randrange(len(pool))]
            sid = next(screening_id)
            decision = (
                "refer"
                if refer
                else (
                    "incomplete"
                    if answers["on_prescribed_medication"] == "not-assessed"
                    else "not-now"
                )
            )
            screenings.append(
                (
                    sid,
                    client_id,
                    clinic_id,
                    clinician,
                    screened_at,
                    answers,
                    decision,
                    medicated,
                    None,
                )
            )
            reasons.extend(
                (next(reason_id), sid, clause, code, kind, message, order)
                for order, (clause, code, kind, message) in enumerate(why)
            )
            if not refer:
                continue
            rid = next(referral_id)
            created = screened_at + dt.timedelta(minutes=rng.randrange(5, 40))
            stage = self._stage(age)
            if stage in ("preparing", "choosing"):
                # A client has one draft referral at most (referrals' one_draft constraint).
                if client_id in drafting:
                    stage = "referred"
                drafting.add(client_id)
            language = clients["language"][client_index]
            closing = {
                "declined": ("closed", "declined"),
                "lost": ("closed", "lost-contact"),
                "completed": ("closed", "completed"),
            }.get(stage)
            status, close_reason = closing or ("preparing" if stage == "choosing" else stage, "")
            approved = stage not in ("preparing", "declined")
            # Referred once a group is chosen (VIII.C); "choosing" has approved but not chosen.
            referred = approved and stage != "choosing"
            referred_at = created + dt.timedelta(days=rng.randrange(0, 3)) if referred else None
            if referred_at and referred_at > self.now:
                referred_at = self.now - dt.timedelta(hours=1)
            closed_at = None
            if status == "closed":
                closed_at = min(
                    self.now, created + dt.timedelta(days=rng.randrange(1, max(2, age + 1)))
                )
            referrals.append(
                (
                    rid,
                    client_id,
                    clinic_id,
                    clinician,
                    sid,
                    status,
                    close_reason,
                    "To meet people who understand and to feel less alone.",
                    "" if not approved else rng.choice(PLACES),
                    self.spas[rng.randrange(len(self.spas))][0] if approved else None,
                    "" if language == "other" else language,
                    "",
                    "no-preference",
                    "approved" if approved else ("declined" if stage == "declined" else "pending"),
                    created if stage != "preparing" else None,
                    clinician if stage != "preparing" else None,
                    "The client would rather not now." if stage == "declined" else "",
                    referred_at,
                    closed_at,
                    created,
                    closed_at or referred_at or created,
                    1,
                )
            )
            for need in rng.sample(self.needs, rng.randint(1, 2)):
                goal_needs.append((next(goal_need_id), rid, need[0]))
            groups: list[int] = []
            if referred:
                for rank in range(1 if rng.random() < 0.7 else rng.randint(2, 3)):
                    gid = self.popular()
                    if gid in groups:
                        continue
                    groups.append(gid)
                    chosen.append(
                        (
                            next(referred_group_id),
                            rid,
                            gid,
                            ["helps with your goals", "meets near you"],
                            rank + 1,
                            referred_at,
                            clinician,
                        )
                    )
            steps.extend(self._steps(step_id, rid, stage, clinician, created, referred_at, rng))
            if referred:
                for weeks in (1, 3, 6):
                    due = referred_at.astimezone(COUNTY_TZ).date() + dt.timedelta(weeks=weeks)
                    done = due < self.as_of and rng.random() < 0.9
                    done_at = self._at(due) if done else None
                    followups.append(
                        (
                            next(followup_id),
                            rid,
                            clinic_id,
                            clinician,
                            due,
                            done_at,
                            clinician if done else None,
                            rng.choice(("reported", "reminded", "not-reached")) if done else "",
                            "",
                            created,
                        )
                    )
            if stage in ("attending", "engaged", "completed"):
                attending.append((client_id, clinic_id, clinician, groups, referred_at, stage, rid))
            if len(screenings) >= 20_000:
                self._flush_referrals(
                    screenings, reasons, referrals, chosen, steps, followups, goal_needs
                )
        self._flush_referrals(screenings, reasons, referrals, chosen, steps, followups, goal_needs)
        self.attendance(attending, first_meeting, staff)

    def _stage(self, age: int) -> str:
        r = self.rng.random()
        if age < 5 and r < 0.5:
            # Half still giving their input (VIII.B), half approved and choosing a group.
            return "preparing" if self.rng.random() < 0.5 else "choosing"
        if r < 0.05:
            return "declined"
        if r < 0.10 and age > 30:
            return "lost"
        if r < 0.16 and age > 90:
            return "completed"
        if r < 0.40 or age < 8:
            return "referred"
        if r < 0.80 or age < 50:
            return "attending"
        return "engaged"

    def _steps(self, step_id, rid, stage, clinician, created, referred_at, rng):
        """The eleven steps VIII.A–K at the stage the referral reached."""
        codes = [c for c, _ in ProcedureStep.Code.choices]
        pending = lambda code: (next(step_id), rid, code, "pending", "", "", {}, None, None)  # noqa: E731
        done = lambda code, details=None, at=None: (  # noqa: E731
            next(step_id),
            rid,
            code,
            "done",
            "",
            "",
            details or {},
            clinician,
            at or created,
        )
        if stage in ("preparing", "choosing", "declined"):
            rows = [done("VIII.A")] + [pending(c) for c in codes[1:]]
            if stage in ("choosing", "declined"):
                rows[1] = done("VIII.B")
            return rows
        at = referred_at
        peer = rng.random() < 0.2
        rows = [done("VIII.A"), done("VIII.B", at=at)]
        if peer:
            rows.append(done("VIII.C", {"peer_first_name": rng.choice(FIRST_NAMES)}, at))
            rows.append(
                (
                    next(step_id),
                    rid,
                    "VIII.D",
                    "not-applicable",
                    D_NOT_NEEDED_REASON,
                    "",
                    {},
                    None,
                    None,
                )
            )
        else:
            rows.append(
                (
                    next(step_id),
                    rid,
                    "VIII.C",
                    "not-applicable",
                    "No consenting peer contact for this group yet.",
                    "",
                    {},
                    None,
                    None,
                )
            )
            rows.append(done("VIII.D", {"given": ["share", "friendship-line"]}, at))
        rows += [
            done("VIII.E", {"given": ["client-coalition"]}, at),
            done("VIII.F", None, at),
            done("VIII.G", None, at),
        ]
        if rng.random() < 0.3:
            rows.append(
                done(
                    "VIII.H",
                    {"advocate_first_name": rng.choice(FIRST_NAMES), "sessions": [1, 2, 3]},
                    at,
                )
            )
        else:
            rows.append(
                (
                    next(step_id),
                    rid,
                    "VIII.H",
                    "not-applicable",
                    "The client chose to go alone.",
                    "",
                    {},
                    None,
                    None,
                )
            )
        rows += [done("VIII.I", None, at), done("VIII.J", None, at)]
        if stage in ("engaged", "completed") and rng.random() < 0.3:
            rows.append(done("VIII.K", {"answer": "no"}, at))
        else:
            rows.append(pending("VIII.K"))
        return rows

    def _flush_referrals(
        self, screenings, reasons, referrals, chosen, steps, followups, goal_needs
    ) -> None:
        self._load(
            "screenings",
            Screening,
            [
                "id",
                "client_id",
                "clinic_id",
                "screened_by_id",
                "screened_at",
                "answers",
                "decision",
                "on_prescribed_medication",
                "submission_id",
            ],
            screenings,
        )
        self._load(
            "screening reasons",
            ScreeningReason,
            ["id", "screening_id", "clause", "code", "kind", "message", "order"],
            reasons,
        )
        self._load(
            "referrals",
            Referral,
            [
                "id",
                "client_id",
                "clinic_id",
                "clinician_id",
                "screening_id",
                "status",
                "close_reason",
                "goals",
                "location_text",
                "preferred_area_id",
                "language",
                "cultural_needs",
                "twelve_step",
                "approval",
                "approval_recorded_at",
                "approval_recorded_by_id",
                "declined_reason",
                "referred_at",
                "closed_at",
                "created_at",
                "updated_at",
                "version",
            ],
            referrals,
        )
        self._load(
            "referral goal needs",
            Referral.goal_needs.through,
            ["id", "referral_id", "need_id"],
            goal_needs,
        )
        self._load(
            "referred groups",
            ReferredGroup,
            [
                "id",
                "referral_id",
                "group_id",
                "reasons",
                "suggested_rank",
                "chosen_at",
                "chosen_by_id",
            ],
            chosen,
        )
        self._load(
            "procedure steps",
            ProcedureStep,
            [
                "id",
                "referral_id",
                "code",
                "status",
                "not_applicable_reason",
                "note",
                "details",
                "completed_by_id",
                "completed_at",
            ],
            steps,
        )
        self._load(
            "follow-ups",
            FollowUp,
            [
                "id",
                "referral_id",
                "clinic_id",
                "clinician_id",
                "due_on",
                "done_at",
                "done_by_id",
                "outcome",
                "note",
                "created_at",
            ],
            followups,
        )
        for batch in (screenings, reasons, referrals, chosen, steps, followups, goal_needs):
            batch.clear()

    def attendance(self, attending, first_meeting, staff: Staff) -> None:
        """Weekly attendance on the group's meeting day from the referral on, shared so the
        total comes to the scale's figure; feedback and peer contacts from the same people."""
        rng = self.rng
        weeks_open = []
        for _client_id, _clinic, _clin, groups, referred_at, _stage, _rid in attending:
            start = referred_at.astimezone(COUNTY_TZ).date()
            weeks_open.append(max(0, (self.as_of - start).days // 7) * len(groups))
        possible = sum(weeks_open) or 1
        share = min(1.0, self.scale.attendance / possible)
        last_used: dict[tuple[int, int], dt.date] = {}
        attendance_id = itertools.count(self.loader.next_id(Attendance))
        feedback_id = itertools.count(self.loader.next_id(Feedback))
        flag_id = itertools.count(self.loader.next_id(ReviewFlag))
        contact_id = itertools.count(self.loader.next_id(PeerContact))
        feedback, flags, contacts = [], [], []
        peer_pairs: set[tuple[int, int]] = set()
        attended_total = 0
        budget = self.scale.attendance

        def rows():
            nonlocal attended_total
            for (
                client_id,
                clinic_id,
                clinician,
                groups,
                referred_at,
                stage,
                _rid,
            ), open_weeks in zip(attending, weeks_open, strict=True):
                start = referred_at.astimezone(COUNTY_TZ).date()
                for gid in groups:
                    meeting_id, weekday = first_meeting.get(gid, (None, start.isoweekday() % 7))
                    # The first meeting day on or after the referral (Meeting Guide: Sunday 0).
                    offset = (weekday - start.isoweekday() % 7) % 7
                    day = start + dt.timedelta(days=offset or 7)
                    key = (client_id, gid)
                    if key in last_used and last_used[key] >= day:
                        day = last_used[key] + dt.timedelta(days=7)
                    wanted = open_weeks / max(1, len(groups)) * share
                    sessions = int(wanted) + (rng.random() < wanted - int(wanted))
                    run_clean = stage in ("engaged", "completed")
                    for k in range(sessions):
                        if day >= self.as_of or attended_total >= budget:
                            break
                        missed = not (run_clean and k < 6) and rng.random() < 0.12
                        recorded = min(
                            self.now, self._at(day + dt.timedelta(days=rng.randrange(0, 10)))
                        )
                        attended_total += 1
                        yield (
                            next(attendance_id),
                            client_id,
                            clinic_id,
                            gid,
                            meeting_id,
                            day,
                            "missed" if missed else "attended",
                            k < 3 and rng.random() < 0.3,
                            "client",
                            "",
                            clinician,
                            recorded,
                        )
                        last_used[key] = day
                        if k == 4 and rng.random() < 0.25:
                            feedback.append(
                                self._feedback(
                                    next(feedback_id),
                                    client_id,
                                    clinic_id,
                                    gid,
                                    day,
                                    clinician,
                                    flags,
                                    flag_id,
                                )
                            )
                        if (
                            k == 6
                            and stage in ("engaged", "completed")
                            and rng.random() < 0.1
                            and key not in peer_pairs
                        ):
                            peer_pairs.add(key)
                            contacts.append(
                                (
                                    next(contact_id),
                                    client_id,
                                    clinic_id,
                                    gid,
                                    rng.choice(FIRST_NAMES),
                                    f"+1310555{rng.randrange(100, 200):04d}",
                                    day,
                                    "active",
                                    None,
                                    clinician,
                                    self._at(day),
                                )
                            )
                        day += dt.timedelta(days=7)

        self._load(
            "attendance",
            Attendance,
            [
                "id",
                "client_id",
                "clinic_id",
                "group_id",
                "meeting_id",
                "on_date",
                "status",
                "accompanied",
                "source",
                "before_referral_reason",
                "recorded_by_id",
                "recorded_at",
            ],
            rows(),
        )
        self._load(
            "review flags",
            ReviewFlag,
            [
                "id",
                "group_id",
                "source",
                "summary",
                "detail",
                "concerns_medication",
                "opened_at",
                "opened_by_id",
                "resolved_at",
                "resolved_by_id",
                "resolution_note",
            ],
            flags,
        )
        self._load(
            "feedback",
            Feedback,
            [
                "id",
                "client_id",
                "clinic_id",
                "group_id",
                "given_on",
                "frequency",
                "observations",
                "concerns",
                "concern_kinds",
                "review_flag_id",
                "recorded_by_id",
                "recorded_at",
            ],
            feedback,
        )
        self._load(
            "peer contacts",
            PeerContact,
            [
                "id",
                "client_id",
                "clinic_id",
                "group_id",
                "first_name",
                "phone",
                "consented_on",
                "status",
                "withdrawn_on",
                "recorded_by_id",
                "recorded_at",
            ],
            contacts,
        )

    def _feedback(self, fid, client_id, clinic_id, gid, day, clinician, flags, flag_id):
        rng = self.rng
        given = min(self.as_of, day + dt.timedelta(days=rng.randrange(1, 14)))
        flag = None
        kinds: list[str] = []
        concerns = ""
        if rng.random() < 0.01:
            kinds = [Feedback.Concern.STOP_MEDICATION.value]
            concerns = "Members said to stop taking prescribed medication."
            flag = next(flag_id)
            resolved = rng.random() < 0.6
            opened = self._at(given)
            flags.append(
                (
                    flag,
                    gid,
                    "feedback",
                    "A client reported members discouraging prescribed medication (VI.C).",
                    "",
                    True,
                    opened,
                    clinician,
                    opened + dt.timedelta(days=7) if resolved else None,
                    clinician if resolved else None,
                    "Spoke with the group's contact." if resolved else "",
                )
            )
        return (
            fid,
            client_id,
            clinic_id,
            gid,
            given,
            rng.choice([c for c, _ in Feedback.Frequency.choices]),
            "Feels welcome; likes the speakers.",
            concerns,
            kinds,
            flag,
            clinician,
            self._at(given),
        )

    def sign_offs(self, staff: Staff) -> None:
        """Supervisors' monthly sign-offs of most clinicians' documentation (IX)."""
        rows = []
        next_id = itertools.count(self.loader.next_id(DocumentationSignOff))
        month_starts = []
        first = self.as_of.replace(day=1)
        for back in range(1, 12):
            year, month = divmod(first.month - 1 - back, 12)
            month_starts.append(dt.date(first.year + year, month + 1, 1))
        for clinic_id, clinicians in staff.clinicians_by_clinic.items():
            supervisor = staff.supervisors_by_clinic[clinic_id][0]
            for start in month_starts:
                end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
                for clinician in clinicians:
                    if self.rng.random() < 0.7:
                        rows.append(
                            (
                                next(next_id),
                                clinic_id,
                                clinician,
                                start,
                                end,
                                "",
                                supervisor,
                                self._at(end + dt.timedelta(days=3)),
                            )
                        )
        self._load(
            "documentation sign-offs",
            DocumentationSignOff,
            [
                "id",
                "clinic_id",
                "clinician_id",
                "period_start",
                "period_end",
                "note",
                "signed_by_id",
                "signed_at",
            ],
            rows,
        )

    # --- the access log -----------------------------------------------------------------------

    def access_log(self, clinics, staff: Staff, clients) -> None:
        """A year of the access log, oldest first: working days carry five times a weekend
        day's rows, in working hours, each clinic in proportion to its size."""
        rng = self.rng
        clinic_pick = Picker(
            rng,
            [c for c, _ in clients["clinic_weights"]],
            [w for _, w in clients["clinic_weights"]],
        )
        people = {
            c: Picker(
                rng,
                staff.clinicians_by_clinic[c] + staff.supervisors_by_clinic[c],
                _zipf(
                    len(staff.clinicians_by_clinic[c]) + len(staff.supervisors_by_clinic[c]), 0.7
                ),
            )
            for c, _ in clients["clinic_weights"]
        }
        action_pick = Picker(rng, [(a.value, t) for a, t, _ in ACTIONS], [w for *_, w in ACTIONS])
        ranges = clients["ranges"]
        usernames = staff.usernames
        per_weekday = self.scale.access_events_per_day
        start = itertools.count(self.loader.next_id(AccessEvent))
        outcome_of = {
            "failed-sign-in": "failure",
            "denied": "denied",
        }

        def rows():
            for back in range(self.scale.days, 0, -1):
                day = self._days_ago(back)
                count = per_weekday if day.weekday() < 5 else per_weekday // 5
                midnight = dt.datetime.combine(day, dt.time(7), COUNTY_TZ).astimezone(dt.UTC)
                offsets = sorted(rng.random() * 43_200 for _ in range(count))  # 7:00–19:00
                for offset in offsets:
                    clinic = clinic_pick()
                    user = people[clinic]()
                    action, object_type = action_pick()
                    object_id = ""
                    if object_type == "client":
                        object_id = str(rng.randrange(*ranges[clinic]))
                    elif object_type == "referral":
                        object_id = str(rng.randrange(*self.referral_ids))
                    yield (
                        next(start),
                        midnight + dt.timedelta(seconds=offset),
                        user,
                        usernames[user],
                        action,
                        object_type,
                        object_id,
                        clinic,
                        f"10.{clinic % 250}.{user % 250}.{user // 250 % 250 + 1}",
                        outcome_of.get(action, "success"),
                        "",
                    )

        self._load(
            "access log",
            AccessEvent,
            [
                "id",
                "occurred_at",
                "user_id",
                "username",
                "action",
                "object_type",
                "object_id",
                "clinic_id",
                "ip_address",
                "outcome",
                "reason",
            ],
            rows(),
        )
