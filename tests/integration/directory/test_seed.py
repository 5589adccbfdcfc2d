"""The directory seed against the policy's APPENDIX (revised November 7, 2008).

The tables below were typed from the policy text (docs: ../shared/policy/
dmh-04.9-referral-to-self-help-groups.txt, the APPENDIX), not from the seed's YAML or fixture:
every listing with the heading(s) it is printed under, and every phone exactly as printed with
its extension and area label, every e-mail and web address. The seed must give exactly these.
"""

import re
from collections import Counter
from datetime import date, time
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Q

from directory.models import (
    Category,
    Contact,
    CriterionConfirmation,
    Group,
    ReferralResource,
    ReviewFlag,
    ServiceArea,
)
from directory.rules import seed

POLICY = Path(settings.BASE_DIR).parent / "shared/policy/dmh-04.9-referral-to-self-help-groups.txt"

H1 = "Twelve-Step Groups for Mental Health Consumers"
H2 = "Non-Twelve Step Groups for Mental Health Consumers"
H3 = "Other Self-Help Programs that address a range of issues"
H4 = "Other Types of Self-Help Groups"
H5 = "Self-help groups that address the needs of family members of mental health clients"
NONE = ""  # a number printed without an area

# name: (headings, phones [(area as printed, number as printed, E.164, extension)],
#        e-mails [(area, address)], web addresses as stored)
APPENDIX = {
    # ---- Twelve-Step Groups for Mental Health Consumers
    "Depression Anonymous": ({H1}, [(NONE, "(310) 305-8878", "+13103058878", "")], [], []),
    "Double Trudgers (Portals House)": (
        {H1},
        [
            (NONE, "(213) 639 2670", "+12136392670", ""),
            (NONE, "(323) 850-5797", "+13238505797", ""),
        ],
        [],
        [],
    ),
    "Dual Recovery Anonymous": (
        {H1},
        [
            ("Los Angeles", "(310) 305-8878", "+13103058878", ""),
            ("Los Angeles", "(800) 792-2345", "+18007922345", ""),
            ("Los Angeles", "(323) 777- 0130 Ext. 223", "+13237770130", "223"),
            ("Long Beach", "(562) 436-8585 Ext. 291", "+15624368585", "291"),
            ("Long Beach", "(562) 437-6717 Ext. 277", "+15624376717", "277"),
        ],
        [],
        ["http://www.draonline.org"],
    ),
    "Dual Diagnosis Anonymous": (
        {H1},
        [
            ("Los Angeles", "(310) 394-6889", "+13103946889", ""),
            ("Long Beach", "(562) 437-6717", "+15624376717", ""),
        ],
        [],
        ["http://www.ddaworlwide.org"],  # kept as printed: a doubt, flagged
    ),
    "Emotional Health Anonymous": (
        {H1},
        [("San Gabriel Valley", "(626) 287-6260", "+16262876260", "")],
        [],
        [],
    ),
    "Emotions Anonymous": (
        {H1},
        [
            ("Inland Empire/San Bernardino", "(323) 589-3768", "+13235893768", ""),
            ("San Fernando Valley/Santa Clarita/West LA", "(818) 377-4341", "+18183774341", ""),
            ("Long Beach/Orange County", "(323) 589-3768", "+13235893768", ""),
            ("Long Beach/Orange County", "(562) 928-0646", "+15629280646", ""),
            ("Long Beach/Orange County", "(714) 739-5449", "+17147395449", ""),
        ],
        [],
        ["http://www.emotionsanonymous.org/"],
    ),
    "Neuroticos Anonimos": ({H1}, [(NONE, "(213) 385-5990", "+12133855990", "")], [], []),
    "Obsessive Compulsives Anonymous": (
        {H1},
        [(NONE, "(310) 305-8878", "+13103058878", "")],
        [],
        [],
    ),
    # ---- Non-Twelve Step Groups for Mental Health Consumers
    "Depression and Bi-polar Support Alliance": (
        {H2},
        [(NONE, "(800) 826-3632", "+18008263632", "")],
        [],
        ["http://www.dbsalliance.org/"],
    ),
    "Los Angeles County Client Coalition": (
        {H2},
        [
            (NONE, "(213) 738-4740", "+12137384740", ""),  # the appendix
            (NONE, "(213) 637-2370", "+12136372370", ""),  # VIII.E
        ],
        [],
        [],
    ),
    "Procovery Circles": (
        {H2, H5},
        [(NONE, "(310) 668-5288", "+13106685288", "")],
        [(NONE, "kcrowley@procovery.com")],
        ["http://www.procovery.com/"],
    ),
    "Project Return: The Next Step Friendship Line": (
        {H2},
        [
            (NONE, "(888) 448-9777", "+18884489777", ""),  # "Toll free:"
            ("L A County", "(323) 346-0960", "+13233460960", ""),
            ("L A County", "(888) 242-2522", "+18882422522", ""),
        ],
        [],
        [],
    ),
    "Recovery, International": ({H2}, [(NONE, "(310) 322-6411", "+13103226411", "")], [], []),
    "Schizophrenics Anonymous": (
        {H2},
        [(NONE, "(562) 285-0149", "+15622850149", "")],
        [(NONE, "sareferrals@nsfoundation.org")],
        ["http://www.sanonymous.com/"],
    ),
    "Secular Organizations for Sobriety-Sanity and Sobriety": (
        {H2},
        [(NONE, "(323) 666-4295", "+13236664295", "")],
        [],
        ["http://www.cfiwest.org/sos/index.htm"],
    ),
    # ---- Other Self-Help Programs that address a range of issues
    "Adult Children of Alcoholics": (
        {H3},
        [
            (NONE, "(310) 534-1815", "+13105341815", ""),
            ("Long Beach/South Bay", "310-534-1815", "+13105341815", ""),
        ],
        [("San Gabriel Valley", "meetinginfo@adultchildren.org")],
        ["http://www.adultchildren.org/"],
    ),
    "Al-Anon/Alateen": (
        {H3},
        [(NONE, "(888) 684-6444", "+18886846444", "")],
        [],
        ["http://www.al-anon.alateen.org/"],
    ),
    "Alcoholics Anonymous": (
        {H3},
        [(NONE, "(800) 923-8722", "+18009238722", "")],
        [],
        ["http://www.alcoholics-anonymous.org/"],
    ),
    "Artists Recovering Through the 12 Steps": (
        {H3},
        [(NONE, "(310) 281-8420", "+13102818420", "")],
        [],
        ["http://www.artsanonymous.org/"],
    ),
    "Clutterers Anonymous": (
        {H3},
        [(NONE, "(310) 479-4119", "+13104794119", "")],
        [],
        ["http://www.clutterersanonymous.net"],
    ),
    "Co-Dependents Anonymous": (
        {H3},
        [
            ("Los Angeles", "(323) 969-4995", "+13239694995", ""),
            ("San Fernando Valley/San Gabriel Valley", "(818) 379-3300", "+18183793300", ""),
        ],
        [],
        ["http://www.codependents.org/"],
    ),
    "Compassionate Friends": (
        {H3},
        [(NONE, "(310) 474-3407", "+13104743407", "")],
        [],
        ["http://www.compassionatefriends.org/"],
    ),
    "Compulsive Eaters Anonymous (H.O.W.)": (
        {H3},
        [(NONE, "(310) 822-7250", "+13108227250", "")],
        [],
        ["http://www.ceahow.org/"],
    ),
    "Debtors Anonymous": (
        {H3},
        [(NONE, "(626) 794-0001", "+16267940001", "")],
        [],
        ["http://www.debtorsanonymous.org/", "http://www.socalda.org/"],
    ),
    "Divorce Anonymous": (
        {H3},
        [(NONE, "(626) 794-0001", "+16267940001", "")],
        [],
        ["http://www.divorceanonymous.com"],
    ),
    "Gamblers Anonymous": (
        {H3},
        [(NONE, "(310) 305-8878", "+13103058878", "")],
        [],
        ["http://www.gamblersanonymous.org/"],
    ),
    "Marijuana Anonymous": (
        {H3},
        [(NONE, "(800) 766-6779", "+18007666779", "")],
        [],
        ["http://www.marijuana-anonymous.org/"],
    ),
    "Narcotics Anonymous": (
        {H3},
        [(NONE, "(310) 390-0279", "+13103900279", "")],
        [],
        ["http://www.na.org/"],
    ),
    "Nicotine Anonymous": (
        {H3},
        [(NONE, "(800) 642-0666", "+18006420666", "")],
        [],
        ["http://www.nicotine-anonymous.org/"],
    ),
    "Overeaters Anonymous": (
        {H3},
        [
            ("Los Angeles", "(323) 653-7499", "+13236537499", ""),
            ("Long Beach", "(562) 342-9344", "+15623429344", ""),
            ("Beach Cities", "(323) 653-7652", "+13236537652", ""),
            ("San Fernando Valley", "(818) 881-4776", "+18188814776", ""),
            ("San Fernando Valley", "(818) 342-2222", "+18183422222", ""),
        ],
        [],
        ["http://www.oa.org/", "http://www.oalaintergroup.org/", "http://www.oasfvalley.org/"],
    ),
    "Rape Survivors Anonymous": ({H3}, [], [(NONE, "info@rsaws.org")], []),
    "Recovering Couples Anonymous": (
        {H3},
        [
            (NONE, "(877) 742-7349 Ext.1234", "+18777427349", "1234"),  # "Toll free"
            ("Culver City", "(310) 322-7857", "+13103227857", ""),
        ],
        [],
        ["http://www.recovering-couples.org/"],
    ),
    "Sex Addicts Anonymous": (
        {H3},
        [(NONE, "(213) 896-2964", "+12138962964", "")],
        [],
        ["http://www.sexaa.org/"],
    ),
    "Sex and Love Addicts Anonymous": (
        {H3},
        [(NONE, "(323) 957-4881", "+13239574881", "")],
        [],
        ["http://www.slaafws.org/"],
    ),
    "Sexaholics Anonymous": (
        {H3},
        [(NONE, "(213) 480-1096", "+12134801096", "")],
        [],
        ["http://www.sa.org/", "http://www.saa-recovery.org/"],
    ),
    "Sexual Compulsives Anonymous": (
        {H3},
        [(NONE, "(310) 859-5585", "+13108595585", "")],
        [],
        ["http://www.sca-recovery.org/"],
    ),
    "S.M.A.R.T. Recovery": (
        {H3},
        [(NONE, "(310) 275-5433", "+13102755433", "")],
        [],
        ["http://www.smartrecovery.org/"],
    ),
    "Survivors of Childhood Abuse": (
        {H3},
        [(NONE, "(310) 305-8878", "+13103058878", "")],
        [],
        [],
    ),
    "Survivors of Incest Anonymous": (
        {H3},
        [(NONE, "(562) 630-6844", "+15626306844", "")],
        [],
        ["http://www.siawso.org/"],
    ),
    "Women for Sobriety": (
        {H3},
        [(NONE, "(626) 355-6048", "+16263556048", "")],
        [],
        ["http://www.womenforsobriety.org/"],
    ),
    # ---- Other Types of Self-Help Groups: types, not listings (OTHER_TYPES, categories)
    # ---- Self-help groups that address the needs of family members of mental health clients
    "Family-to-Family": ({H5}, [(NONE, "(310) 478-8761", "+13104788761", "")], [], []),
    "Keeping Kids Connected": ({H5}, [(NONE, "(800) 899-2866", "+18008992866", "")], [], []),
    "Kids Can Cope": ({H5}, [(NONE, "(323) 564-7911", "+13235647911", "")], [], []),
    "National Alliance for the Mentally Ill": (
        {H5},
        [(NONE, "(213) 632-0782", "+12136320782", "")],
        [],
        ["http://www.nami.org/"],
    ),
    "Survivors after Suicide": (
        {H5},
        [
            ("Encino", "(818) 906-8832", "+18189068832", ""),
            ("Los Angeles", "(213) 934-7958", "+12139347958", ""),
            ("Los Angeles", "(310) 391-1253", "+13103911253", ""),
        ],
        [],
        ["http://www.mkbmemorial.com/sas"],
    ),
    "Toughlove": (
        {H5},
        [(NONE, "(310) 325-8136", "+13103258136", "")],
        [],
        ["http://www.toughlove.org"],
    ),
}

# The five types printed under "Other Types", with no group or contact: categories that point
# clinicians to SHARE!, never listings a client could be referred to.
OTHER_TYPES = {
    "anger-management-support-groups": "Anger Management support groups",
    "bereavement-support-groups": "Bereavement Support Groups",
    "caregiver-support-groups": "Caregiver support groups",
    "parent-support-groups": "Parent Support Groups",
    "physical-disease-support-groups": "Physical disease support groups",
}

# Printed area label -> the Service Planning Areas (by number) and other areas it maps to.
AREAS = {
    "Long Beach": {8},
    "Long Beach/South Bay": {8},
    "Beach Cities": {8},
    "Culver City": {5},
    "Encino": {2},
    "San Fernando Valley": {2},
    "San Gabriel Valley": {3},
    "San Fernando Valley/San Gabriel Valley": {2, 3},
    "San Fernando Valley/Santa Clarita/West LA": {2, 5},
    "Long Beach/Orange County": {8, "orange-county"},
    "Inland Empire/San Bernardino": {"inland-empire-san-bernardino"},
    "Los Angeles": {"countywide"},
    "L A County": {"countywide"},
    NONE: set(),  # printed without an area: none recorded, never countywide
}


def seed_directory():
    out = StringIO()
    call_command("seed_directory", stdout=out)
    return out.getvalue()


def _delete_directory_rows():
    with transaction.atomic():
        for model in apps.get_app_config("directory").get_models(include_auto_created=True):
            model._base_manager.all()._raw_delete(model._base_manager.db)


@pytest.fixture(scope="module")
def seeded_once(django_db_setup, django_db_blocker):
    """Seed once for the module (the load is a few thousand queries), committed; removed
    after the module. Each test still runs in its own transaction, rolled back after it."""
    with django_db_blocker.unblock():
        _delete_directory_rows()
        output = seed_directory()
    yield output
    with django_db_blocker.unblock():
        _delete_directory_rows()


@pytest.fixture
def seeded(seeded_once, db):
    return seeded_once


def directory_counts():
    """Rows in every table of the directory app, history tables included."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_app_config("directory").get_models(include_auto_created=True)
    }


def _area_keys(contact):
    return {a.spa_number or a.slug for a in contact.service_areas.all()}


# ---- The appendix, listing by listing ----------------------------------------------------


def test_every_listing_under_its_headings(seeded):
    """APPENDIX: all 46 listings, each under the heading(s) it is printed under."""
    got = {
        group.name: {c.name for c in group.categories.all()}
        for group in Group.objects.prefetch_related("categories")
    }
    assert got == {name: headings for name, (headings, *_rest) in APPENDIX.items()}
    # The five headings, and the five "Other Types" as categories of their own.
    assert Category.objects.count() == 5 + len(OTHER_TYPES)


def test_every_phone_as_printed_with_extension_and_area(seeded):
    """APPENDIX: every number stored E.164, its extension apart, area and text as printed."""
    for name, (_headings, phones, _emails, _urls) in APPENDIX.items():
        got = [
            (c.area_label, c.as_printed, str(c.phone), c.extension)
            for c in Contact.objects.filter(group__name=name, kind=Contact.Kind.PHONE)
        ]
        assert got == phones, name
    assert Contact.objects.filter(kind=Contact.Kind.PHONE).count() == sum(
        len(phones) for _h, phones, _e, _u in APPENDIX.values()
    )


def test_every_email_and_web_address(seeded):
    for name, (_headings, _phones, emails, urls) in APPENDIX.items():
        group = Group.objects.get(name=name)
        assert [(c.area_label, c.email) for c in group.contacts.filter(kind="email")] == emails
        assert [c.url for c in group.contacts.filter(kind="web")] == urls, name
    total = sum(len(p) + len(e) + len(u) for _h, p, e, u in APPENDIX.values())
    assert Contact.objects.count() == total


def test_areas_printed_map_to_service_planning_areas(seeded):
    for contact in Contact.objects.exclude(kind=Contact.Kind.WEB).prefetch_related("service_areas"):
        assert _area_keys(contact) == AREAS[contact.area_label], contact.as_printed
    assert set(ServiceArea.objects.filter(kind="spa").values_list("spa_number", "name")) == {
        (1, "Antelope Valley"),
        (2, "San Fernando"),
        (3, "San Gabriel"),
        (4, "Metro"),
        (5, "West"),
        (6, "South"),
        (7, "East"),
        (8, "South Bay/Harbor"),
    }
    emotions = Group.objects.get(name="Emotions Anonymous")
    assert {a.spa_number or a.slug for a in emotions.service_areas.all()} == {
        2,
        5,
        8,
        "orange-county",
        "inland-empire-san-bernardino",
    }


def test_corrections_keep_what_was_printed(seeded):
    """Only certain corrections: the doubled http:// and a bullet run into an address."""
    socalda = Contact.objects.get(url="http://www.socalda.org/")
    assert socalda.as_printed == "http://http://www.socalda.org/"
    assert "http://http://www.socalda.org/" in socalda.note
    arts = Contact.objects.get(group__name="Artists Recovering Through the 12 Steps", kind="web")
    assert arts.as_printed == "http://www.artsanonymous.org/o"
    debtors = Group.objects.get(name="Debtors Anonymous")
    assert "http://http://www.socalda.org/" in debtors.source_note


def test_procovery_is_one_listing_under_two_headings(seeded):
    (procovery,) = Group.objects.filter(name__icontains="procovery")
    assert set(procovery.categories.values_list("slug", flat=True)) == {
        "non-twelve-step-mh",
        "family",
    }
    assert procovery.contacts.filter(kind="phone").count() == 1


def test_neuroticos_anonimos_is_spanish(seeded):
    group = Group.objects.get(name="Neuroticos Anonimos")
    assert list(group.languages.values_list("code", flat=True)) == ["es"]
    assert list(Group.objects.filter(languages__code="es")) == [group]
    assert "(Spanish language)" in group.source_note


def test_other_types_are_categories_pointing_to_share_not_listings(seeded):
    """APPENDIX "Other Types": a type of group named without a group or contact is a category
    whose description sends clinicians to SHARE!, and nothing a client could be referred to."""
    for slug, name in OTHER_TYPES.items():
        category = Category.objects.get(slug=slug)
        assert category.name == name
        assert "SHARE!" in category.description and "1-877-SHARE-49" in category.description
        assert not category.groups.exists()
        assert not Group.objects.filter(name=name).exists()
        assert not Group.objects.filter(slug=slug).exists()


def test_a_contact_printed_without_an_area_has_none(seeded):
    """Seed faithful: 43 contacts are printed without an area; none is stored as countywide."""
    unlabelled = Contact.objects.filter(area_label="").exclude(kind=Contact.Kind.WEB)
    assert unlabelled.count() == 43  # the issue counted 43 stored as countywide before
    assert not unlabelled.filter(service_areas__isnull=False).exists()
    # Countywide only where the appendix printed "Los Angeles" or "L A County".
    countywide = Contact.objects.filter(service_areas__slug="countywide")
    assert set(countywide.values_list("area_label", flat=True)) <= {"Los Angeles", "L A County"}


@pytest.mark.parametrize(
    ("name", "need"),
    [
        ("Survivors after Suicide", "suicide-loss"),
        ("Obsessive Compulsives Anonymous", "ocd"),
        ("Schizophrenics Anonymous", "schizophrenia"),
        ("Depression and Bi-polar Support Alliance", "bipolar"),
        ("Al-Anon/Alateen", "teens-of-alcoholics"),
        ("Artists Recovering Through the 12 Steps", "creative-recovery"),
        ("Recovering Couples Anonymous", "couples"),
        ("Los Angeles County Client Coalition", "advocacy"),
        ("Family-to-Family", "families-mental-illness"),
        ("Survivors of Incest Anonymous", "incest"),
        ("Rape Survivors Anonymous", "rape"),
        ("Clutterers Anonymous", "cluttering"),
    ],
)
def test_needs_from_what_the_policy_says(seeded, name, need):
    assert Group.objects.get(name=name).needs.filter(slug=need).exists()


@pytest.mark.parametrize(
    ("name", "fmt", "twelve_step"),
    [
        ("Dual Recovery Anonymous", "III.A", True),
        ("Neuroticos Anonimos", "III.A", True),
        ("Recovery, International", "III.B", False),  # III.B: Recovery, Inc.
        ("Schizophrenics Anonymous", "III.C", False),  # III.C: a six-step PR: TNS program
        ("Project Return: The Next Step Friendship Line", "III.C", False),  # PR: TNS warm line
        ("Depression and Bi-polar Support Alliance", "III.D", False),
        ("Survivors of Childhood Abuse", "III.E", False),
        ("Gamblers Anonymous", "III.F", True),
        ("Los Angeles County Client Coalition", "III.G", False),
        ("S.M.A.R.T. Recovery", "III.H", False),
        ("National Alliance for the Mentally Ill", "III.I", False),
    ],
)
def test_format_and_twelve_step_flag(seeded, name, fmt, twelve_step):
    group = Group.objects.get(name=name)
    assert (group.format, group.is_twelve_step) == (fmt, twelve_step)


def test_twelve_step_heading_listings_are_twelve_step(seeded):
    """The first heading: "patterned after Alcoholics Anonymous" (III.A)."""
    for group in Group.objects.filter(categories__slug="twelve-step-mh"):
        assert group.is_twelve_step and group.format == "III.A"
        # The etiquette note is printed on the client's sheet: no clinician instruction or
        # clause code is stored there (the pages say what to tell the client, VIII.F).
        assert "VIII.F" not in group.etiquette_note and "clinician" not in group.etiquette_note


def test_aliases_find_other_names(seeded):
    dbsa = Group.objects.get(name="Depression and Bi-polar Support Alliance")
    assert {"Manic-Depressive/Depressive Association (MDDA)", "Ups & Downs"} <= set(dbsa.aliases)
    assert "Affective Disorders" in dbsa.aliases
    assert "ARTS Anonymous" in Group.objects.get(name__startswith="Artists").aliases
    assert "SMART Recovery" in Group.objects.get(name="S.M.A.R.T. Recovery").aliases
    assert "Recovery, Inc." in Group.objects.get(name="Recovery, International").aliases


def test_every_listing_starts_stale(seeded):
    """VII.D: a current list. Every listing was last verified 2008-11-07, so all are stale."""
    assert set(Group.objects.values_list("last_verified_on", flat=True)) == {date(2008, 11, 7)}
    assert Group.objects.stale().count() == Group.objects.count() == len(APPENDIX)
    assert all(g.is_stale() for g in Group.objects.all())


def test_medication_stance_not_known_for_every_listing(seeded):
    """VI.C: the policy states no group's stance, so none is assumed."""
    assert set(Group.objects.values_list("medication_stance", flat=True)) == {"not-known"}


def test_criteria_ii_a_to_h_unconfirmed_for_every_listing(seeded):
    """II.A–H: a row per criterion, none confirmed until a site admin does."""
    assert CriterionConfirmation.objects.count() == 8 * len(APPENDIX)
    assert set(CriterionConfirmation.objects.values_list("status", flat=True)) == {
        CriterionConfirmation.Status.NOT_CONFIRMED
    }
    counts = Counter(CriterionConfirmation.objects.values_list("criterion", flat=True))
    assert counts == {f"II.{c}": len(APPENDIX) for c in "ABCDEFGH"}


def test_source_notes_hold_the_appendix_verbatim(seeded):
    if not POLICY.exists():
        pytest.skip(f"The policy text is not at {POLICY}")
    policy = seed.normalise_printed(POLICY.read_text(encoding="utf-8"))
    for group in Group.objects.all():
        blocks = group.source_note.split("\n\n")
        assert blocks, group.name
        for block in blocks:
            header, text = block.split("\n", 1)
            assert re.match(
                r"^(Appendix \(revised November 7, 2008\)|Policy [IVX]+\.[A-K])", header
            )
            assert seed.normalise_printed(text) in policy, (group.name, text)


def test_every_printed_block_of_the_source_is_in_the_policy():
    """The YAML's `printed` blocks, referral resources' included, are the policy's own text."""
    if not POLICY.exists():
        pytest.skip(f"The policy text is not at {POLICY}")
    policy = seed.normalise_printed(POLICY.read_text(encoding="utf-8"))
    source = seed.read_yaml(seed.APPENDIX_FILE)
    entries = [*source["listings"], *source["referral_resources"]]
    for entry in entries:
        for block in entry["printed"]:
            assert seed.normalise_printed(block["text"]) in policy, block["text"]
    assert len(entries) == len(APPENDIX) + 3


# ---- The referral resources of VIII.D–E -----------------------------------------------------


def test_share_toll_free_printed_both_ways(seeded):
    """VIII.D: SHARE! toll free 1-877-SHARE-49, which the appendix also prints 1-877-742-7349."""
    share = ReferralResource.objects.get(key="share")
    (phone,) = share.phones.all()
    assert str(phone.phone) == "+18777427349"
    assert phone.as_printed == "1-877-SHARE-49"
    assert "1-877-742-7349" in share.description


def test_friendship_line_number_and_evening_hours(seeded):
    """VIII.D: the Friendship Line, (888) 448-9777, 6:00 p.m.–10:00 p.m."""
    line = ReferralResource.objects.get(key="friendship-line")
    assert (line.opens_at, line.closes_at) == (time(18), time(22))
    assert line.hours == "6:00 p.m.-10:00 p.m."
    assert [(str(p.phone), p.label, p.source) for p in line.phones.all()] == [
        ("+18884489777", "Toll free", "VIII.D, Appendix"),
        ("+13233460960", "L A County", "Appendix"),
        ("+18882422522", "L A County", "Appendix"),
    ]


def test_client_coalition_both_numbers_flagged_for_confirmation(seeded):
    """VIII.E prints (213) 637-2370; the appendix (213) 738-4740. Both kept, both flagged."""
    coalition = ReferralResource.objects.get(key="client-coalition")
    assert [(str(p.phone), p.source) for p in coalition.phones.all()] == [
        ("+12136372370", "VIII.E"),
        ("+12137384740", "Appendix"),
    ]
    assert coalition.needs_confirmation
    assert "(213) 637-2370" in coalition.confirmation_note
    assert "(213) 738-4740" in coalition.confirmation_note
    (flag,) = coalition.review_flags.all()
    assert flag.source == ReviewFlag.Source.SEED and flag.is_open
    listing = Group.objects.get(name="Los Angeles County Client Coalition")
    assert listing.review_flags.filter(summary__contains="(213) 637-2370").exists()


# ---- Review flags for every doubt -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("Dual Diagnosis Anonymous", "ddaworlwide"),  # probable typo for ddaworldwide
        ("Los Angeles County Client Coalition", "(213) 738-4740"),
        # One number printed for five groups.
        ("Depression Anonymous", "(310) 305-8878"),
        ("Dual Recovery Anonymous", "(310) 305-8878"),
        ("Obsessive Compulsives Anonymous", "(310) 305-8878"),
        ("Gamblers Anonymous", "(310) 305-8878"),
        ("Survivors of Childhood Abuse", "(310) 305-8878"),
        # One number for Dual Recovery and Dual Diagnosis in Long Beach.
        ("Dual Recovery Anonymous", "(562) 437-6717"),
        ("Dual Diagnosis Anonymous", "(562) 437-6717"),
        ("Debtors Anonymous", "(626) 794-0001"),
        ("Divorce Anonymous", "(626) 794-0001"),
        ("Double Trudgers (Portals House)", "Recovery International"),
        ("Recovery, International", "(323) 850-5797"),
        ("Recovery, International", "Recovery, Inc."),  # names spelled differently
        ("Recovering Couples Anonymous", "SHARE"),  # its toll-free number is SHARE!'s
        ("Recovering Couples Anonymous", "sexaa.org"),  # printed twice in the links
        ("Sexaholics Anonymous", "saa-recovery.org"),  # looks like Sex Addicts'
        ("Procovery Circles", "two headings"),
        ("Emotions Anonymous", "Inland Empire"),
        ("Adult Children of Alcoholics", "(310) 534-1815"),
    ],
)
def test_review_flag_for_each_doubt(seeded, name, words):
    flags = ReviewFlag.objects.filter(group__name=name, source=ReviewFlag.Source.SEED)
    assert any(words in f"{f.summary} {f.detail}" for f in flags), (name, words)


def test_seed_flags_are_open(seeded):
    flags = ReviewFlag.objects.all()
    assert flags.count() == 21
    assert all(f.is_open and f.source == "seed" for f in flags)


# ---- Done when: "co-occurring" finds Dual Recovery Anonymous ---------------------------------


def test_co_occurring_finds_dual_recovery_with_its_numbers(seeded):
    """III.A / IV.D: co-occurring substance use, in the description and as a need."""
    found = Group.objects.filter(
        Q(description__icontains="co-occurring") | Q(needs__name__icontains="co-occurring")
    ).distinct()
    dra = found.get(name="Dual Recovery Anonymous")
    assert dra.needs.filter(slug="co-occurring-substance-use").exists()
    assert "co-occurring" in dra.description
    phones = [(c.area_label, c.display_value) for c in dra.contacts.filter(kind="phone")]
    assert phones == [
        ("Los Angeles", "(310) 305-8878"),
        ("Los Angeles", "(800) 792-2345"),
        ("Los Angeles", "(323) 777-0130 ext. 223"),
        ("Long Beach", "(562) 436-8585 ext. 291"),
        ("Long Beach", "(562) 437-6717 ext. 277"),
    ]


def test_directory_search_for_co_occurring_finds_dual_recovery(seeded):
    """Done when: searching "co-occurring" finds Dual Recovery Anonymous (the search page's
    own function, on whichever database the suite runs)."""
    search = pytest.importorskip("directory.selectors.search")
    found = search.search_groups(Group.objects.all(), "co-occurring")
    assert found.filter(name="Dual Recovery Anonymous").exists()


# ---- Loading: idempotent, never over an admin's work --------------------------------------


def test_loading_twice_duplicates_nothing(seeded):
    assert "created 10 categories" in seeded  # five headings, five "Other Types"
    before = directory_counts()
    assert before["directory.Group"] == 46
    again = seed_directory()
    assert "nothing to create" in again
    assert directory_counts() == before


def test_history_of_a_seeded_listing_is_one_created_entry(seeded):
    group = Group.objects.get(name="Dual Recovery Anonymous")
    (entry,) = group.history.all()
    assert entry.history_type == "+"
    assert "2008-11-07" in entry.history_change_reason
    assert list(entry.needs.values_list("need__slug", flat=True)) == ["co-occurring-substance-use"]


def test_rerun_leaves_an_admins_edits_alone(seeded):
    group = Group.objects.get(name="Debtors Anonymous")
    group.name = "Debtors Anonymous (Pasadena)"
    group.save()
    group.contacts.filter(kind="phone").delete()
    flag = group.review_flags.get()
    flag.resolution_note = "Called: it is Debtors Anonymous."
    flag.save()
    before = directory_counts()

    seed_directory()

    assert directory_counts() == before
    group.refresh_from_db()
    assert group.name == "Debtors Anonymous (Pasadena)"
    assert not group.contacts.filter(kind="phone").exists()
    assert group.review_flags.get().resolution_note == "Called: it is Debtors Anonymous."


def test_rerun_creates_only_what_is_missing(seeded):
    Group.objects.get(name="Kids Can Cope").delete()
    ReferralResource.objects.get(key="share").delete()
    seed_directory()
    kids = Group.objects.get(name="Kids Can Cope")
    assert [str(c.phone) for c in kids.contacts.all()] == ["+13235647911"]
    assert kids.criteria.count() == 8
    assert ReferralResource.objects.get(key="share").phones.count() == 1
    assert Group.objects.count() == 46 and Contact.objects.filter(group__name="Toughlove").count()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"model": "directory.need"}', "expected a list of records"),
        ('[{"model": "directory.nothing", "fields": {}}]', "'directory.nothing' is not a model"),
        (
            '[{"model": "directory.need", "fields": {"slug": "new-need", "name": "New"}},'
            ' {"model": "directory.group", "fields": {"slug": "new-group", "name": "New",'
            ' "format": "III.A", "categories": [["no-such-heading"]]}}]',
            r"record 1 \(directory.group\) categories: no category \('no-such-heading',\)",
        ),
        (
            '[{"model": "directory.need", "fields": {"slug": "new-need", "name": "New"}},'
            ' {"model": "directory.group", "fields": {"slug": "new-group", "name": "New",'
            ' "format": "III.A", "last_verified_on": "November 2008"}}]',
            r"record 1 \(directory.group\)",
        ),
    ],
)
def test_broken_fixture_writes_nothing(seeded, tmp_path, text, message):
    """Bad input: a clear error, and nothing written, not even the records before it."""
    before = directory_counts()
    fixture = tmp_path / "directory.json"
    fixture.write_text(text, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        call_command("seed_directory", fixture=fixture, stdout=StringIO())
    assert directory_counts() == before
    assert not Group.objects.filter(slug="new-group").exists()


def test_missing_fixture_is_a_clear_error(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read the directory fixture"):
        call_command("seed_directory", fixture=tmp_path / "nope.json", stdout=StringIO())


# ---- The committed fixture is exactly what the source builds ---------------------------------


def test_committed_fixture_is_what_build_directory_fixture_produces(tmp_path):
    committed = seed.FIXTURE_FILE.read_text(encoding="utf-8")
    assert committed == seed.build_fixture_text()
    out = tmp_path / "directory.json"
    call_command("build_directory_fixture", output=out, stdout=StringIO())
    assert out.read_text(encoding="utf-8") == committed
    call_command("build_directory_fixture", "--check", stdout=StringIO())


def test_check_fails_on_a_stale_fixture(tmp_path):
    out = tmp_path / "directory.json"
    out.write_text("[]\n", encoding="utf-8")
    with pytest.raises(CommandError, match="run python manage.py build_directory_fixture"):
        call_command("build_directory_fixture", "--check", output=out, stdout=StringIO())
    assert out.read_text(encoding="utf-8") == "[]\n"


def test_every_seeded_listing_is_found_by_its_search_words(seeded):
    """A fresh install's listings carry their vocabulary words (needs, languages, areas), as a
    listing saved by hand does: the seed's own save after the lists must not blank them."""
    from directory.services import search_terms

    listings = Group.objects.prefetch_related("needs", "languages", "service_areas")
    empty = [
        g.name
        for g in listings
        if (g.needs.exists() or g.languages.exists()) and not g.search_terms
    ]
    assert empty == []
    # Recomputing changes nothing: the seed left what the signals would compute.
    assert search_terms.refresh(None) == 0
