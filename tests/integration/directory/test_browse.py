"""Clinicians read the annotated referral list (policy VII.C–D): search, filters, a listing's
page and the printable list, on SQLite and PostgreSQL alike.

The catalogue below is a small copy of the 2008 appendix's kind of data, written for these tests
(the seed's own tests check the seed against the policy).
"""

import re
from datetime import UTC as utc
from datetime import date, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.html import escape

from accounts.models import AccessEvent
from core.pagination import CountedPaginator
from directory.filters import GroupFilter
from directory.models import (
    Category,
    Contact,
    Criterion,
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
from directory.selectors import search
from directory.selectors.browse import listings
from directory.services import search_terms
from tests.factories.directory import (
    ReferralResourceFactory,
    ResourcePhoneFactory,
    ReviewFlagFactory,
)

ON_POSTGRES = connection.vendor == "postgresql"
only_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="full-text search is PostgreSQL's")

SEARCH = "/directory/"
PRINT = "/directory/print/"
VERIFIED_2008 = date(2008, 11, 7)


# --- The catalogue ---------------------------------------------------------------------------


class Catalogue:
    """Handles on the test catalogue's rows, by short name."""

    def __init__(self):
        self.categories = {}
        self.needs = {}
        self.areas = {}
        self.languages = {}
        self.types = {}
        self.groups = {}


def link(obj, field, *targets):
    """Add to a many-to-many relation through its table: no history rows, far fewer queries
    (the history of these relations is not what these tests are about)."""
    relation = getattr(type(obj), field)
    through = relation.through
    source = relation.field.m2m_field_name() + "_id"
    target = relation.field.m2m_reverse_field_name() + "_id"
    through.objects.bulk_create(through(**{source: obj.pk, target: t.pk}) for t in targets)


def _group(cat, key, name, *, categories, needs, fmt, twelve_step, **fields):
    group = Group.objects.create(
        slug=key,
        name=name,
        format=fmt,
        is_twelve_step=twelve_step,
        last_verified_on=fields.pop("last_verified_on", VERIFIED_2008),
        **fields,
    )
    link(group, "categories", *(cat.categories[c] for c in categories))
    link(group, "needs", *(cat.needs[n] for n in needs))
    cat.groups[key] = group
    return group


def _phone(group, number, *, areas=(), order=0, **fields):
    contact = Contact.objects.create(
        group=group, kind=Contact.Kind.PHONE, phone=number, order=order, **fields
    )
    link(contact, "service_areas", *areas)
    return contact


@pytest.fixture
def catalogue(db):
    cat = Catalogue()
    for order, (slug, name) in enumerate(
        [
            ("twelve-step-mh", "Twelve-Step Groups for Mental Health Consumers"),
            ("non-twelve-step-mh", "Non-Twelve Step Groups for Mental Health Consumers"),
            ("other-programs", "Other Self-Help Programs"),
            ("other-types", "Other Types of Self-Help Groups"),
            ("family", "Self-help groups for family members of mental health clients"),
        ],
        start=1,
    ):
        cat.categories[slug] = Category.objects.create(slug=slug, name=name, order=order)
    for slug, name in [
        ("depression", "Depression"),
        ("bipolar", "Bipolar disorder"),
        ("anxiety", "Anxiety"),
        ("co-occurring", "Co-occurring substance use"),
        ("gambling", "Gambling"),
        ("eating", "Eating disorders"),
        ("schizophrenia", "Schizophrenia"),
        ("family", "Families of people with mental illness"),
        ("incest", "Incest survivors"),
        ("debt", "Debt"),
    ]:
        cat.needs[slug] = Need.objects.create(slug=slug, name=name)
    for order, (slug, name, kind, spa) in enumerate(
        [
            ("spa-2", "SPA 2 San Fernando Valley", ServiceArea.Kind.SPA, 2),
            ("spa-4", "SPA 4 Metro", ServiceArea.Kind.SPA, 4),
            ("spa-8", "SPA 8 South Bay/Harbor", ServiceArea.Kind.SPA, 8),
            ("orange-county", "Orange County", ServiceArea.Kind.OUT_OF_COUNTY, None),
            ("countywide", "Countywide", ServiceArea.Kind.COUNTYWIDE, None),
            ("national", "National", ServiceArea.Kind.NATIONAL, None),
        ]
    ):
        cat.areas[slug] = ServiceArea.objects.create(
            slug=slug, name=name, kind=kind, spa_number=spa, order=order
        )
    cat.languages["en"] = Language.objects.create(code="en", name="English")
    cat.languages["es"] = Language.objects.create(code="es", name="Spanish")
    for code, name in [("A", "Support"), ("C", "Educational"), ("E", "Social action")]:
        cat.types[code] = GroupType.objects.create(code=code, name=name)
    area, lang = cat.areas, cat.languages

    depression = _group(
        cat,
        "depression-anonymous",
        "Depression Anonymous",
        categories=["twelve-step-mh"],
        needs=["depression"],
        fmt=Format.TWELVE_STEP_MH,
        twelve_step=True,
    )
    _phone(depression, "+13103058878")

    dra = _group(
        cat,
        "dual-recovery-anonymous",
        "Dual Recovery Anonymous",
        categories=["twelve-step-mh"],
        needs=["co-occurring"],
        fmt=Format.TWELVE_STEP_MH,
        twelve_step=True,
        description="For people who live with a mental illness and an addiction.",
    )
    _phone(dra, "+13103058878", areas=[area["spa-4"]], area_label="Los Angeles", order=1)
    _phone(
        dra,
        "+13237770130",
        extension="223",
        areas=[area["spa-4"]],
        area_label="Los Angeles",
        order=2,
    )
    _phone(
        dra,
        "+15624368585",
        extension="291",
        areas=[area["spa-8"]],
        area_label="Long Beach",
        order=3,
    )
    Contact.objects.create(
        group=dra, kind=Contact.Kind.WEB, url="http://www.draonline.org", order=4
    )

    dbsa = _group(
        cat,
        "dbsa",
        "Depression and Bipolar Support Alliance",
        categories=["non-twelve-step-mh"],
        needs=["depression", "bipolar"],
        fmt=Format.OTHER_MH,
        twelve_step=False,
        aliases=["Ups & Downs", "MDDA"],
        medication_stance=Group.MedicationStance.AFFIRMING,
        description="Peer support for mood disorders. Formerly known as the Manic-Depressive"
        " and Depressive Association.",
    )
    _phone(dbsa, "+18008263632", areas=[area["national"]])
    Meeting.objects.create(
        group=dbsa,
        weekday=Meeting.Weekday.TUESDAY,
        start_time=time(18, 30),
        service_area=area["spa-4"],
        language=lang["es"],
    )

    neuroticos = _group(
        cat,
        "neuroticos-anonimos",
        "Neuroticos Anonimos",
        categories=["twelve-step-mh"],
        needs=["anxiety"],
        fmt=Format.TWELVE_STEP_MH,
        twelve_step=True,
    )
    link(neuroticos, "languages", lang["es"])
    _phone(neuroticos, "+12133855990")
    Meeting.objects.create(
        group=neuroticos,
        weekday=Meeting.Weekday.WEDNESDAY,
        start_time=time(19, 0),
        service_area=area["spa-4"],
        language=lang["es"],
    )

    schizophrenics = _group(
        cat,
        "schizophrenics-anonymous",
        "Schizophrenics Anonymous",
        categories=["non-twelve-step-mh"],
        needs=["schizophrenia"],
        fmt=Format.PRTNS,
        twelve_step=False,
        medication_stance=Group.MedicationStance.AFFIRMING,
        description="A six-step program of Project Return: The Next Step.",
    )
    link(schizophrenics, "types", cat.types["A"])
    _phone(schizophrenics, "+15622850149")
    Meeting.objects.create(
        group=schizophrenics,
        weekday=Meeting.Weekday.SATURDAY,
        start_time=time(10, 0),
        service_area=area["spa-8"],
        language=lang["en"],
    )

    gamblers = _group(
        cat,
        "gamblers-anonymous",
        "Gamblers Anonymous",
        categories=["other-programs"],
        needs=["gambling"],
        fmt=Format.TWELVE_STEP_OTHER,
        twelve_step=True,
        last_verified_on=timezone.localdate() - timedelta(days=30),
    )
    link(gamblers, "service_areas", area["national"])
    _phone(gamblers, "+13103058878")

    debtors = _group(
        cat,
        "debtors-anonymous",
        "Debtors Anonymous",
        categories=["other-programs"],
        needs=["debt"],
        fmt=Format.TWELVE_STEP_OTHER,
        twelve_step=True,
        description="Recovery from compulsive debting and spending.",
    )
    _phone(debtors, "+16267940001")

    overeaters = _group(
        cat,
        "overeaters-anonymous",
        "Overeaters Anonymous",
        categories=["other-programs"],
        needs=["eating"],
        fmt=Format.TWELVE_STEP_OTHER,
        twelve_step=True,
    )
    _phone(overeaters, "+13236537499", areas=[area["spa-4"]], area_label="Los Angeles", order=1)
    _phone(overeaters, "+15623429344", areas=[area["spa-8"]], area_label="Long Beach", order=2)
    _phone(
        overeaters,
        "+18188814776",
        areas=[area["spa-2"]],
        area_label="San Fernando Valley",
        order=3,
    )

    incest = _group(
        cat,
        "survivors-of-incest-anonymous",
        "Survivors of Incest Anonymous",
        categories=["other-programs"],
        needs=["incest"],
        fmt=Format.SURVIVORS,
        twelve_step=True,
    )
    _phone(incest, "+15626306844")

    emotions = _group(
        cat,
        "emotions-anonymous",
        "Emotions Anonymous",
        categories=["twelve-step-mh"],
        needs=["anxiety"],
        fmt=Format.TWELVE_STEP_MH,
        twelve_step=True,
        description="Twelve steps for emotional difficulties such as depression.",
    )
    _phone(
        emotions,
        "+17147395449",
        areas=[area["orange-county"]],
        area_label="Long Beach/Orange County",
    )

    nami = _group(
        cat,
        "nami",
        "National Alliance for the Mentally Ill (NAMI)",
        categories=["family"],
        needs=["family"],
        fmt=Format.FAMILY,
        twelve_step=False,
        aliases=["NAMI"],
    )
    link(nami, "types", cat.types["A"], cat.types["C"])
    link(nami, "service_areas", area["countywide"])
    _phone(nami, "+12136320782")

    procovery = _group(
        cat,
        "procovery-circles",
        "Procovery Circles",
        categories=["non-twelve-step-mh", "family"],
        needs=["family"],
        fmt=Format.OTHER_MH,
        twelve_step=False,
    )
    _phone(procovery, "+13106685288")
    Contact.objects.create(
        group=procovery, kind=Contact.Kind.EMAIL, email="kcrowley@procovery.com", order=1
    )

    anger = _group(
        cat,
        "anger-management-support-groups",
        "Anger Management support groups",
        categories=["other-types"],
        needs=[],
        fmt=Format.OTHER_NON_MH,
        twelve_step=False,
    )
    assert anger

    archived = _group(
        cat,
        "archived-depression-circle",
        "Archived Depression Circle",
        categories=["twelve-step-mh"],
        needs=["depression"],
        fmt=Format.OTHER_MH,
        twelve_step=False,
        archived_at=timezone.now(),
    )
    _phone(archived, "+13105550100")

    share = ReferralResourceFactory(key="share", name="SHARE! the Self-Help And Recovery Exchange")
    ResourcePhoneFactory(resource=share, phone="+18777427349", as_printed="1-877-SHARE-49")
    friendship = ReferralResourceFactory(
        key="friendship-line",
        name="Friendship Line",
        hours="6:00 p.m.–10:00 p.m.",
        opens_at=time(18, 0),
        closes_at=time(22, 0),
    )
    ResourcePhoneFactory(resource=friendship, phone="+18884489777")
    coalition = ReferralResourceFactory(
        key="client-coalition",
        name="Los Angeles County Client Coalition",
        needs_confirmation=True,
        confirmation_note="The policy body and the appendix print different numbers.",
    )
    ResourcePhoneFactory(resource=coalition, phone="+12136372370", source="VIII.E")
    ResourcePhoneFactory(resource=coalition, phone="+12137384740", source="Appendix")
    # The rows above were linked through their tables (no signals): one refresh, as the
    # bulk writers do.
    search_terms.refresh()
    return cat


CURRENT = {
    "Depression Anonymous",
    "Dual Recovery Anonymous",
    "Depression and Bipolar Support Alliance",
    "Neuroticos Anonimos",
    "Schizophrenics Anonymous",
    "Gamblers Anonymous",
    "Debtors Anonymous",
    "Overeaters Anonymous",
    "Survivors of Incest Anonymous",
    "Emotions Anonymous",
    "National Alliance for the Mentally Ill (NAMI)",
    "Procovery Circles",
    "Anger Management support groups",
}


def names(response) -> list[str]:
    assert response.status_code == 200, response.content[:2000]
    return [group.name for group in response.context["page"].object_list]


# --- Who may read ----------------------------------------------------------------------------

READERS = ["clinician", "supervisor", "site_admin", "outsider", "superuser"]
PAGES = [SEARCH, "/directory/depression-anonymous/", PRINT]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("person", [*READERS, "no_role_user"])
def test_permission_per_role(request, sign_in, catalogue, path, person):
    """Every role reads the county-wide list, whatever its clinic; no role, no access."""
    user = request.getfixturevalue(person)
    response = sign_in(user).get(path)
    if person in READERS:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        event = AccessEvent.objects.get(action=AccessEvent.Action.DENIED)
        assert event.user == user and "directory.view_group" in event.reason


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_sign_in(client, catalogue, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")


@pytest.mark.parametrize("path", PAGES)
def test_pages_only_read(sign_in, clinician, catalogue, path):
    response = sign_in(clinician).post(path)
    assert response.status_code == 405


@pytest.mark.parametrize("path", PAGES)
def test_no_inline_code_under_the_strict_csp(sign_in, site_admin, catalogue, path):
    html = sign_in(site_admin).get(path, {"q": "anonymous"}).content.decode()
    assert "<style" not in html and not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))


def test_the_listing_page_never_hides_another_directory_page():
    """/directory/<slug>/ must not swallow /directory/new/, /directory/manage/, ..."""
    from directory.urls import urlpatterns

    checked = 0
    for pattern in urlpatterns:
        route = str(pattern.pattern)
        first = route.split("/")[0]
        if pattern.name == "group" or "/" not in route or not first or "<" in first:
            continue
        try:
            match = resolve(f"/directory/{first}/")
        except Resolver404:
            continue  # no page of its own at that address: fine, as long as it is not ours
        assert match.url_name != "group", route
        checked += 1
    assert resolve("/directory/print/").url_name == "print"
    assert resolve("/directory/dual-recovery-anonymous/").url_name == "group"
    assert checked >= 1


def test_the_navigation_links_to_the_list(sign_in, clinician, catalogue):
    assert 'href="/directory/"' in sign_in(clinician).get(SEARCH).content.decode()


# --- Search ----------------------------------------------------------------------------------


def test_without_a_search_every_current_listing_by_name(sign_in, clinician, catalogue):
    response = sign_in(clinician).get(SEARCH)
    found = names(response)
    assert set(found) == CURRENT  # archived listings never show
    assert found == sorted(found)
    assert response.context["page"].paginator.count == len(CURRENT)


def test_co_occurring_finds_dual_recovery_with_its_numbers_and_extensions(
    sign_in, clinician, catalogue
):
    """Done when: co-occurring finds DRA, Los Angeles and Long Beach numbers."""
    response = sign_in(clinician).get(SEARCH, {"q": "co-occurring"})
    assert names(response) == ["Dual Recovery Anonymous"]
    html = response.content.decode()
    assert "(323) 777-0130 ext. 223" in html and "(562) 436-8585 ext. 291" in html
    assert "(Los Angeles)" in html and "(Long Beach)" in html
    assert 'href="tel:+13237770130;ext=223"' in html


def test_done_when_co_occurring_finds_dual_recovery_on_the_seeded_list(sign_in, clinician, db):
    """The same, on the seeded 2008 list rather than this file's catalogue."""
    call_command("seed_directory", stdout=StringIO())
    client = sign_in(clinician)
    assert client.get(SEARCH).context["page"].paginator.count == Group.objects.count()
    response = client.get(SEARCH, {"q": "co-occurring"})
    assert "Dual Recovery Anonymous" in names(response)
    (dra,) = [g for g in response.context["page"].object_list if g.name.startswith("Dual Rec")]
    shown = {(c.area_label, c.display_value) for c in dra.shown_contacts}
    assert {
        ("Los Angeles", "(323) 777-0130 ext. 223"),
        ("Long Beach", "(562) 436-8585 ext. 291"),
        ("Long Beach", "(562) 437-6717 ext. 277"),
    } <= shown


# Single words and the listings they find: the same on SQLite's fallback and on PostgreSQL's
# full-text search (CI runs this file on both), through every searchable field.
SINGLE_WORDS = {
    "anonymous": {n for n in CURRENT if "Anonymous" in n},  # names
    "Depression": {  # name, need, description; never the archived one
        "Depression Anonymous",
        "Depression and Bipolar Support Alliance",
        "Emotions Anonymous",
    },
    "bipolar": {"Depression and Bipolar Support Alliance"},  # name and need
    "MDDA": {"Depression and Bipolar Support Alliance"},  # an alias
    "addiction": {"Dual Recovery Anonymous"},  # the description
    "gambling": {"Gamblers Anonymous"},  # a need
    "incest": {"Survivors of Incest Anonymous"},
    "families": {"National Alliance for the Mentally Ill (NAMI)", "Procovery Circles"},
    "program": {"Schizophrenics Anonymous"},
    "schizophrenics": {"Schizophrenics Anonymous"},
    "nami": {"National Alliance for the Mentally Ill (NAMI)"},
    "neuroticos": {"Neuroticos Anonimos"},
    "eating": {"Overeaters Anonymous"},
    "unicorn": set(),
}


@pytest.mark.parametrize("word", SINGLE_WORDS)
def test_single_words_find_the_same_listings_on_either_database(
    sign_in, clinician, catalogue, word
):
    found = names(sign_in(clinician).get(SEARCH, {"q": word}))
    assert set(found) == SINGLE_WORDS[word]
    assert len(found) == len(set(found))  # no listing twice


@only_postgres
@pytest.mark.parametrize("word", SINGLE_WORDS)
def test_fallback_and_full_text_agree_on_single_words(catalogue, word):
    """On PostgreSQL both searches run on the same rows: the fallback gives the same answers."""
    terms = search.words(word)
    full_text = {g.name for g in search.full_text_search(listings(), terms)}
    fallback = {g.name for g in search.fallback_search(listings(), terms)}
    assert full_text == fallback == SINGLE_WORDS[word]


def test_every_word_must_match_somewhere(sign_in, clinician, catalogue):
    client = sign_in(clinician)
    # "anonymous" in the name and "gambling" in the needs.
    assert names(client.get(SEARCH, {"q": "Anonymous gambling"})) == ["Gamblers Anonymous"]
    assert names(client.get(SEARCH, {"q": "depression unicorn"})) == []


def test_a_search_narrows_as_the_clinician_types(sign_in, clinician, catalogue):
    assert names(sign_in(clinician).get(SEARCH, {"q": "schizo"})) == ["Schizophrenics Anonymous"]


@pytest.mark.parametrize("text", ["", "   ", "!!! ???", "&|:*'()"])
def test_a_search_with_no_words_lists_everything(sign_in, clinician, catalogue, text):
    assert set(names(sign_in(clinician).get(SEARCH, {"q": text}))) == CURRENT


def test_tsquery_syntax_is_plain_text(sign_in, clinician, catalogue):
    """Operators and quotes typed into the box are words' separators, never an error."""
    client = sign_in(clinician)
    found = names(client.get(SEARCH, {"q": "depression:* & !bipolar | ('"}))
    assert found == ["Depression and Bipolar Support Alliance"]  # both words, as words
    assert names(client.get(SEARCH, {"q": "depression:* & !zzz"})) == []


@only_postgres
def test_full_text_search_ranks_the_best_match_first(sign_in, clinician, catalogue):
    """A word in the name (A) beats one in the needs (B), which beats the description (C)."""
    need = Need.objects.create(slug="serenity", name="Serenity")
    named = Group.objects.create(slug="peers", name="Serenity Peers", format=Format.OTHER_MH)
    by_need = Group.objects.create(slug="circle", name="A Circle", format=Format.OTHER_MH)
    by_need.needs.add(need)
    described = Group.objects.create(
        slug="talk",
        name="Aaa Evening Talk",
        format=Format.OTHER_MH,
        description="Talk about anything: serenity, work, family.",
    )
    found = names(sign_in(clinician).get(SEARCH, {"q": "serenity"}))
    assert found == [named.name, by_need.name, described.name]


@only_postgres
def test_stop_words_do_not_empty_the_results(sign_in, clinician, catalogue):
    client = sign_in(clinician)
    assert names(client.get(SEARCH, {"q": "the gamblers"})) == ["Gamblers Anonymous"]


@only_postgres
def test_full_text_search_uses_the_index(catalogue):
    """The search reads the stored document through its GIN index (migration 0005)."""
    queryset = search.full_text_search(listings(), ["depression"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = queryset.explain()
    assert "directory_group_document" in plan, plan


def test_names_come_first_on_the_fallback(catalogue):
    found = [g.name for g in search.fallback_search(listings(), ["depression"])]
    assert found[-1] == "Emotions Anonymous"  # the word only in its description


# --- Filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"need": "gambling"}, {"Gamblers Anonymous"}),
        (
            {"need": "family"},
            {"National Alliance for the Mentally Ill (NAMI)", "Procovery Circles"},
        ),
        (
            {"category": "family"},
            {"National Alliance for the Mentally Ill (NAMI)", "Procovery Circles"},
        ),
        (
            {"category": "non-twelve-step-mh"},
            {
                "Depression and Bipolar Support Alliance",
                "Schizophrenics Anonymous",
                "Procovery Circles",
            },
        ),
        ({"format": "III.C"}, {"Schizophrenics Anonymous"}),
        ({"format": "III.E"}, {"Survivors of Incest Anonymous"}),
        (
            {"type": "A"},
            {"Schizophrenics Anonymous", "National Alliance for the Mentally Ill (NAMI)"},
        ),
        ({"type": "C"}, {"National Alliance for the Mentally Ill (NAMI)"}),
        # A language of the listing, or of one of its meetings.
        ({"language": "es"}, {"Neuroticos Anonimos", "Depression and Bipolar Support Alliance"}),
        ({"weekday": "3"}, {"Neuroticos Anonimos"}),
        ({"weekday": "6"}, {"Schizophrenics Anonymous"}),
        ({"weekday": "0"}, set()),
        (
            {"twelve_step": "no"},
            {
                "Depression and Bipolar Support Alliance",
                "Schizophrenics Anonymous",
                "National Alliance for the Mentally Ill (NAMI)",
                "Procovery Circles",
                "Anger Management support groups",
            },
        ),
        # VI.C: only listings known to affirm members on prescribed medication.
        (
            {"medication_affirming": "on"},
            {"Depression and Bipolar Support Alliance", "Schizophrenics Anonymous"},
        ),
        (
            {"q": "depression", "medication_affirming": "on"},
            {"Depression and Bipolar Support Alliance"},
        ),
        ({"q": "neuroticos", "need": "anxiety", "language": "es"}, {"Neuroticos Anonimos"}),
        ({"q": "anonymous", "need": "anxiety", "language": "es"}, set()),
    ],
)
def test_each_filter(sign_in, clinician, catalogue, query, expected):
    assert set(names(sign_in(clinician).get(SEARCH, query))) == expected


def test_twelve_step_filter_yes_is_the_rest(sign_in, clinician, catalogue):
    client = sign_in(clinician)
    twelve = set(names(client.get(SEARCH, {"twelve_step": "yes"})))
    other = set(names(client.get(SEARCH, {"twelve_step": "no"})))
    assert twelve and not twelve & other and twelve | other == CURRENT


def test_service_area_filter_and_the_contacts_for_that_area(sign_in, clinician, catalogue):
    """A listing serves an area through itself, a contact or a meeting; countywide and national
    listings serve every SPA. Each result shows the contacts for the area, and those tied to
    no area (a web address)."""
    response = sign_in(clinician).get(SEARCH, {"area": "spa-8"})
    assert set(names(response)) == {
        "Dual Recovery Anonymous",  # its Long Beach numbers
        "Overeaters Anonymous",  # likewise
        "Schizophrenics Anonymous",  # a meeting in SPA 8
        "National Alliance for the Mentally Ill (NAMI)",  # countywide
        "Gamblers Anonymous",  # national
        "Depression and Bipolar Support Alliance",  # a national number
    }
    page = {g.name: g for g in response.context["page"].object_list}
    shown = [c.display_value for c in page["Dual Recovery Anonymous"].shown_contacts]
    assert shown == ["(562) 436-8585 ext. 291", "http://www.draonline.org"]
    shown = [c.display_value for c in page["Overeaters Anonymous"].shown_contacts]
    assert shown == ["(562) 342-9344"]
    html = response.content.decode()
    assert "Contacts for SPA 8 South Bay/Harbor" in html
    assert "(323) 777-0130" not in html


def test_an_out_of_county_area_is_not_served_by_countywide_listings(sign_in, clinician, catalogue):
    found = set(names(sign_in(clinician).get(SEARCH, {"area": "orange-county"})))
    assert found == {
        "Emotions Anonymous",
        "Gamblers Anonymous",
        "Depression and Bipolar Support Alliance",
    }


def test_without_an_area_every_contact_shows(sign_in, clinician, catalogue):
    response = sign_in(clinician).get(SEARCH, {"q": "overeaters"})
    (group,) = response.context["page"].object_list
    assert len(group.shown_contacts) == 3


def test_each_result_shows_status_needs_and_verification(sign_in, clinician, catalogue):
    Group.objects.filter(slug="debtors-anonymous").update(status=Group.Status.TEMPORARILY_CLOSED)
    client = sign_in(clinician)
    html = client.get(SEARCH, {"q": "debtors"}).content.decode()
    assert "Temporarily closed" in html
    assert "Not verified since November 7, 2008" in html  # stale: more than a year ago
    assert "Debt" in html and "(626) 794-0001" in html
    html = client.get(SEARCH, {"q": "gamblers"}).content.decode()
    assert "Not verified since" not in html  # verified a month ago
    verified = (timezone.localdate() - timedelta(days=30)).strftime("%B %-d, %Y")
    assert verified in html


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"need": "unicorns"}, "Need"),
        ({"category": "nope"}, "Heading"),
        ({"format": "III.Z"}, "Format"),
        ({"type": "Q"}, "Type"),
        ({"area": "mars"}, "Service area"),
        ({"language": "xx"}, "Language"),
        ({"weekday": "9"}, "Meets on"),
        ({"weekday": "monday"}, "Meets on"),
        ({"twelve_step": "maybe"}, "12-step"),
        ({"medication_affirming": "yes"}, "Only groups known to affirm"),
        ({"q": "x" * (search.MAX_LENGTH + 1)}, "Search"),
    ],
)
def test_bad_filters_get_a_clear_message_and_a_400(sign_in, clinician, catalogue, query, field):
    response = sign_in(clinician).get(SEARCH, query)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Please correct the filters" in html
    assert field in html
    assert response.context["page"] is None


def test_a_bad_filter_from_htmx_is_a_400_fragment(sign_in, clinician, catalogue):
    response = sign_in(clinician).get(SEARCH, {"weekday": "9"}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert b"Please correct the filters" in response.content
    assert b"<html" not in response.content


# --- htmx and the page without JavaScript ------------------------------------------------------


def test_the_form_works_without_javascript_and_htmx_enhances_it(sign_in, clinician, catalogue):
    html = sign_in(clinician).get(SEARCH).content.decode()
    form = re.search(r"<form[^>]*role=\"search\"[^>]*>", html).group(0)
    assert 'method="get"' in form and 'action="/directory/"' in form
    assert 'hx-get="/directory/"' in form and 'hx-target="#results"' in form
    assert 'hx-push-url="true"' in form
    for name in ["q", "need", "category", "format", "type", "area", "language", "weekday"]:
        assert re.search(rf'<label\s+for="id_{name}"', html), name
    assert 'type="checkbox" name="medication_affirming"' in html


def test_the_chosen_filters_are_shown_chosen(sign_in, clinician, catalogue):
    html = (
        sign_in(clinician)
        .get(
            SEARCH,
            {"q": "anon", "need": "gambling", "area": "spa-8", "weekday": "2", "format": "III.F"},
        )
        .content.decode()
    )
    assert 'name="q" value="anon"' in html
    for name, value in [("need", "gambling"), ("area", "spa-8"), ("weekday", "2")]:
        menu = re.search(rf'<select name="{name}".*?</select>', html, re.DOTALL).group(0)
        assert re.findall(r'<option value="([^"]*)" selected>', menu) == [value], name
    menu = re.search(r'<select name="language".*?</select>', html, re.DOTALL).group(0)
    assert re.findall(r'<option value="([^"]*)" selected>', menu) == [""]
    assert '<option value="en">English</option>' in menu
    assert 'name="medication_affirming" class="form-check-input" id="id_medication_affirming">' in (
        html
    )
    checked = sign_in(clinician).get(SEARCH, {"medication_affirming": "on"}).content.decode()
    assert 'id="id_medication_affirming" checked>' in checked


def test_each_menu_lists_its_choices_in_order(sign_in, clinician, catalogue):
    html = sign_in(clinician).get(SEARCH).content.decode()
    for name, queryset, key in [
        ("need", Need.objects.order_by("name"), "slug"),
        ("category", Category.objects.order_by("order", "name"), "slug"),
        ("type", GroupType.objects.order_by("code"), "code"),
        ("area", ServiceArea.objects.order_by("order", "name"), "slug"),
        ("language", Language.objects.order_by("name"), "code"),
    ]:
        menu = re.search(rf'<select name="{name}".*?</select>', html, re.DOTALL).group(0)
        options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', menu)
        assert options[1:] == [(getattr(row, key), escape(str(row))) for row in queryset], name
        assert options[0][0] == ""
    weekdays = re.search(r'<select name="weekday".*?</select>', html, re.DOTALL).group(0)
    assert re.findall(r'<option value="([^"]*)"', weekdays) == ["", *map(str, range(7))]


def test_a_filter_in_error_is_marked_and_described(sign_in, clinician, catalogue):
    html = sign_in(clinician).get(SEARCH, {"weekday": "9", "need": "unicorns"}).content.decode()
    for name in ["weekday", "need"]:
        control = re.search(rf'<select name="{name}"[^>]*>', html).group(0)
        assert 'class="form-select is-invalid"' in control
        assert f'aria-invalid="true" aria-describedby="id_{name}_error"' in control
        assert f'<div id="id_{name}_error" class="invalid-feedback">' in html
    assert "9 is not one of the available choices" in html
    # No option is marked chosen for a value that is not in the list.
    menu = re.search(r'<select name="weekday".*?</select>', html, re.DOTALL).group(0)
    assert " selected" not in menu
    category = re.search(r'<select name="category"[^>]*>', html).group(0)
    assert "aria-invalid" not in category


def test_htmx_gets_only_the_results(sign_in, clinician, catalogue):
    client = sign_in(clinician)
    response = client.get(SEARCH, {"need": "gambling"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and "<form" not in html
    assert 'id="results-heading"' in html and "Gamblers Anonymous" in html
    assert 'hx-swap-oob="true"' in html and "1 listing found." in html
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_whole_page(sign_in, clinician, catalogue):
    response = sign_in(clinician).get(
        SEARCH, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert b"<html" in response.content


# --- Pagination --------------------------------------------------------------------------------


@pytest.fixture
def many_groups(catalogue):
    Group.objects.bulk_create(
        Group(slug=f"extra-{n:02}", name=f"Extra Anonymous {n:02}", format=Format.OTHER_MH)
        for n in range(40)
    )


def test_results_are_paginated_and_bounded(sign_in, clinician, many_groups):
    client = sign_in(clinician)
    page = client.get(SEARCH).context["page"]
    total = len(CURRENT) + 40
    assert page.paginator.count == total
    assert len(page.object_list) == 20 and page.paginator.num_pages == 3
    assert len(client.get(SEARCH, {"page": "3"}).context["page"].object_list) == total - 40
    assert client.get(SEARCH, {"page": "999"}).context["page"].number == 3
    assert client.get(SEARCH, {"page": "abc"}).context["page"].number == 1
    # Every name once across the pages.
    seen = [g.name for p in "123" for g in client.get(SEARCH, {"page": p}).context["page"]]
    assert len(seen) == len(set(seen)) == total


@pytest.mark.parametrize(
    "number", ["1", "2", "3", "4", "999", "0", "-1", "abc", "", None, "2.0", 2.0, 2.5, 3]
)
@pytest.mark.parametrize("text", ["", "extra", "unicorn"])
def test_the_counted_paginator_pages_as_django_does(many_groups, number, text):
    """The page, its number and the count are Django's, from one query for a page in range."""
    results = search.search_groups(listings(), text)
    expected = Paginator(results, 20).get_page(number)
    with CaptureQueriesContext(connection) as queries:
        page = CountedPaginator(results, 20).get_page(number)
        rows = list(page.object_list)
    assert page.number == expected.number
    assert page.paginator.count == expected.paginator.count
    assert page.paginator.num_pages == expected.paginator.num_pages
    assert [g.pk for g in rows] == [g.pk for g in expected.object_list]
    try:
        asked = 1 if isinstance(number, float) and not number.is_integer() else int(number)
    except (TypeError, ValueError):
        asked = 1  # not a number: the first page, as Django's
    if page.number == asked:
        assert len(queries) == 1
    else:  # out of range: Django's count, then the last page
        assert len(queries) <= 3


def test_pages_keep_the_search_and_filters(sign_in, clinician, many_groups):
    html = sign_in(clinician).get(SEARCH, {"q": "extra", "twelve_step": "no"}).content.decode()
    assert "?q=extra&amp;twelve_step=no&amp;page=2" in html


# --- A listing's page --------------------------------------------------------------------------


def test_group_page_shows_everything(sign_in, clinician, site_admin, catalogue):
    group = catalogue.groups["dual-recovery-anonymous"]
    group.aliases = ["DRA"]
    group.etiquette_note = "Share about yourself only; first names."
    group.evidence_note = "Studied in peer-reviewed trials."
    group.fees_note = "No dues or fees; a voluntary collection."
    group.last_verified_by = site_admin
    group.save()
    group.types.add(catalogue.types["A"])
    group.languages.add(catalogue.languages["en"])
    group.service_areas.add(catalogue.areas["spa-4"])
    CriterionConfirmation.objects.create(
        group=group,
        criterion=Criterion.B,
        status=CriterionConfirmation.Status.MEETS,
        confirmed_by=site_admin,
        confirmed_at=datetime(2025, 3, 4, 18, 0, tzinfo=utc),
    )
    CriterionConfirmation.objects.create(group=group, criterion=Criterion.C)
    Meeting.objects.create(
        group=group,
        name="Thursday night DRA",
        weekday=Meeting.Weekday.THURSDAY,
        start_time=time(19, 0),
        end_time=time(20, 30),
        location_name="Friendship Hall",
        address="123 Main St, Los Angeles, CA 90012",
        online_url="https://example.org/meet",
        dial_in="+1 555 0100, 123#",
        service_area=catalogue.areas["spa-4"],
        language=catalogue.languages["en"],
        type_codes=["O", "BE", "X", "ZZ"],
    )
    ReviewFlagFactory(group=group, source="seed", summary="Secret flag text one")
    ReviewFlagFactory(group=group, source="admin", summary="Secret flag text two")
    ReviewFlagFactory(
        group=group, source="admin", summary="Resolved one", resolved_at=timezone.now()
    )

    response = sign_in(clinician).get(f"/directory/{group.slug}/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in [
        "<h1",
        "Dual Recovery Anonymous",
        "Also known as DRA",
        "live with a mental illness and an addiction",
        "(323) 777-0130 ext. 223",
        "Long Beach",
        "http://www.draonline.org",
        "SPA 4 Metro",
        "Thursday",
        "7:00 p.m.–8:30 p.m.",
        "Thursday night DRA",
        "Friendship Hall",
        "123 Main St, Los Angeles, CA 90012",
        "https://example.org/meet",
        "+1 555 0100, 123#",
        "Open, Newcomer, Wheelchair Access, ZZ",
        "Share about yourself only; first names.",  # VIII.F
        "Studied in peer-reviewed trials.",  # I.F
        "No dues or fees; a voluntary collection.",  # II.G
        "III.A: Twelve-step group for individuals with mental illnesses",
        "A. Support",
        "Co-occurring substance use",
        "English",
        "Twelve-Step Groups for Mental Health Consumers",
        "Not known: ask before referring",  # VI.C
        "November 7, 2008",
        escape(site_admin.get_full_name()),
        "Not verified since November 7, 2008",
    ]:
        assert text in html, text
    # II.A–H: all eight, the confirmed one with who and when, the others "Not confirmed".
    assert html.count("Not confirmed") == 7
    assert "II.B Everyone in the group is a peer" in html
    assert "March 4, 2025" in html
    assert "II.H May be a component of a larger program" in html
    # The count of open flags, never their text (that is for site admins' pages).
    assert response.context["group"].open_flags == 2
    assert "2 open review flags" in html
    assert "Secret flag text" not in html
    # The admin's actions (the manage pages' partial) are not a clinician's.
    assert "/edit/" not in html and "Keeping this listing current" not in html


def test_site_admins_get_their_actions_on_the_group_page(sign_in, site_admin, catalogue):
    html = sign_in(site_admin).get("/directory/dual-recovery-anonymous/").content.decode()
    assert "Keeping this listing current" in html
    assert 'href="/directory/dual-recovery-anonymous/edit/"' in html


def test_group_page_without_contacts_or_meetings_points_to_share(sign_in, clinician, catalogue):
    html = sign_in(clinician).get("/directory/anger-management-support-groups/").content.decode()
    assert "No contact is listed. SHARE! keeps current contact information" in html
    assert "No meeting times are listed" in html


def test_an_archived_listing_is_not_found_by_clinicians(sign_in, clinician, catalogue):
    response = sign_in(clinician).get("/directory/archived-depression-circle/")
    assert response.status_code == 404


def test_site_admins_still_open_an_archived_listing(sign_in, site_admin, catalogue):
    response = sign_in(site_admin).get("/directory/archived-depression-circle/")
    assert response.status_code == 200
    assert b"This listing is archived" in response.content


def test_an_unknown_listing_is_not_found(sign_in, clinician, catalogue):
    assert sign_in(clinician).get("/directory/no-such-group/").status_code == 404


# --- The printable list (VII.D) ----------------------------------------------------------------


def test_print_lists_every_current_listing_under_its_headings(sign_in, clinician, catalogue):
    response = sign_in(clinician).get(PRINT)
    sections = response.context["sections"]
    assert [s.heading.slug for s in sections] == [
        "twelve-step-mh",
        "non-twelve-step-mh",
        "other-programs",
        "other-types",
        "family",
    ]
    printed = {g.name for s in sections for g in s.listings}
    assert printed == CURRENT
    family = [g.name for g in sections[-1].listings]
    assert family == ["National Alliance for the Mentally Ill (NAMI)", "Procovery Circles"]
    # Procovery Circles under both of its headings, one listing.
    assert "Procovery Circles" in [g.name for g in sections[1].listings]

    html = response.content.decode()
    assert f"Printed on <strong>{timezone.localtime():%B %-d, %Y}" in html
    assert html.index("Twelve-Step Groups for Mental Health") < html.index("Other Types of")
    assert "(562) 436-8585 ext. 291" in html and "kcrowley@procovery.com" in html
    assert "Co-occurring substance use" in html
    assert "Not verified since November 7, 2008" in html
    assert "Archived Depression Circle" not in html


def test_print_has_the_referral_resources(sign_in, clinician, catalogue):
    html = sign_in(clinician).get(PRINT).content.decode()
    resources = html[html.index("Referral resources") :]
    assert "SHARE! the Self-Help And Recovery Exchange" in resources
    assert "(877) 742-7349" in resources and "1-877-SHARE-49" in resources
    assert "Friendship Line" in resources and "(888) 448-9777" in resources
    assert "6:00 p.m.–10:00 p.m." in resources
    assert "(213) 637-2370" in resources and "(213) 738-4740" in resources
    assert "To be confirmed" in resources


def test_print_stylesheet_is_linked_for_print(sign_in, clinician, catalogue):
    html = sign_in(clinician).get(PRINT).content.decode()
    assert 'href="/static/css/print.css" media="print"' in html


def test_print_with_listings_without_a_heading(sign_in, clinician, catalogue):
    Group.objects.create(slug="loose", name="Loose Group", format=Format.OTHER_NON_MH)
    sections = sign_in(clinician).get(PRINT).context["sections"]
    assert sections[-1].heading is None
    assert [g.name for g in sections[-1].listings] == ["Loose Group"]


# --- Fixed query counts with 500 listings ------------------------------------------------------


@pytest.fixture
def five_hundred_listings(catalogue):
    """500 more listings, each with a need, a heading, two contacts and two meetings."""
    cat = catalogue
    groups = Group.objects.bulk_create(
        Group(
            slug=f"listing-{n:03}",
            name=f"Listing {n:03} Anonymous",
            description="Peer support for depression and anxiety.",
            format=Format.TWELVE_STEP_MH,
            is_twelve_step=n % 2 == 0,
            medication_stance=Group.MedicationStance.AFFIRMING
            if n % 3 == 0
            else Group.MedicationStance.NOT_KNOWN,
            last_verified_on=VERIFIED_2008,
        )
        for n in range(500)
    )
    need_ids = [cat.needs["depression"].pk, cat.needs["anxiety"].pk]
    Group.needs.through.objects.bulk_create(
        Group.needs.through(group_id=g.pk, need_id=need_ids[i % 2]) for i, g in enumerate(groups)
    )
    Group.categories.through.objects.bulk_create(
        Group.categories.through(group_id=g.pk, category_id=cat.categories["twelve-step-mh"].pk)
        for g in groups
    )
    contacts = Contact.objects.bulk_create(
        Contact(group=g, kind=Contact.Kind.PHONE, phone=f"+1310555{n % 10000:04}", area_label="LA")
        for n, g in enumerate(groups * 2)
    )
    Contact.service_areas.through.objects.bulk_create(
        Contact.service_areas.through(
            contact_id=c.pk, servicearea_id=cat.areas["spa-8" if i % 2 else "spa-4"].pk
        )
        for i, c in enumerate(contacts)
    )
    Meeting.objects.bulk_create(
        Meeting(
            group=g,
            weekday=i % 7,
            start_time=time(19, 0),
            service_area=cat.areas["spa-4"],
            language=cat.languages["en"],
        )
        for i, g in enumerate(groups * 2)
    )
    return groups


@pytest.mark.parametrize(
    ("path", "data", "first", "again"),
    [
        # session, user, OTP device (permissions: the session's); the filters' choices (need,
        # heading, type, area, language); the page with the count of all results (one query),
        # its needs and its contacts. Again, with the catalogue unchanged: the choices are
        # kept in memory (directory.selectors.vocabulary), five queries fewer.
        (SEARCH, None, 11, 6),
        (SEARCH, {"q": "depression anonymous"}, 11, 6),
        # A chosen need, area or language is checked against the list already read for its
        # menu (directory.filters.VocabularyField), not looked up again. The first search by
        # area and language reads which listings each area (own, contacts', meetings') and
        # language (own, meetings') reaches: five more, once per catalogue version.
        (
            SEARCH,
            {"q": "anonymous", "area": "spa-8", "need": "anxiety", "language": "en"},
            16,
            6,
        ),
        (
            SEARCH,
            {"weekday": "2", "twelve_step": "yes", "medication_affirming": "on", "page": "2"},
            11,
            6,
        ),
        # The same three, then the listing with its open flags and last verifier; its
        # headings, types, needs, languages, areas, criteria, contacts with their areas, and
        # meetings.
        ("/directory/listing-007/", None, 13, 13),
        # The same three, the catalogue's version (the page is built once per version and
        # session: core.http_cache), then the headings, the listings with their headings,
        # needs and contacts, the referral resources with their phones; again, from the
        # session's copy.
        (PRINT, None, 11, 4),
    ],
)
def test_query_count_does_not_grow_with_500_listings(
    sign_in, clinician, five_hundred_listings, path, data, first, again, count_queries
):
    client = sign_in(clinician)
    assert count_queries(client, path, data, results=True) == first
    assert count_queries(client, path, data) == again


def test_print_with_500_listings_prints_them_all(sign_in, clinician, five_hundred_listings):
    response = sign_in(clinician).get(PRINT)
    printed = {g.pk for s in response.context["sections"] for g in s.listings}
    assert len(printed) == len(CURRENT) + 500


def test_htmx_fragment_costs_no_more_than_the_page(sign_in, clinician, five_hundred_listings):
    client = sign_in(clinician)
    with CaptureQueriesContext(connection) as queries:
        client.get(SEARCH, {"q": "anonymous"}, headers={"HX-Request": "true"})
    # No form to draw: the filters' five choice lists are not read. Session, user, OTP device
    # (the permission set is the session's), the page with its count, its needs, its contacts.
    assert len(queries) == 6


def test_an_htmx_fragment_reads_only_the_chosen_filters_lists(
    sign_in, clinician, five_hundred_listings
):
    client = sign_in(clinician)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(SEARCH, {"area": "spa-8"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.context["area"].slug == "spa-8"
    # ... plus the areas, to check the one chosen (the other four lists are not read), and
    # the first time, which listings each area reaches (own, contacts', meetings').
    assert len(queries) == 10
    with CaptureQueriesContext(connection) as queries:
        client.get(SEARCH, {"area": "spa-8"}, headers={"HX-Request": "true"})
    assert len(queries) == 6  # all of it kept while the catalogue is unchanged


# --- the vocabularies kept in memory under the catalogue's version ---------------------------

VOCABULARY_TABLES = (
    "directory_need",
    "directory_category",
    "directory_grouptype",
    "directory_servicearea",
    "directory_language",
)


def _vocabulary_reads(client, data=None) -> tuple[object, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(SEARCH, data or {})
    assert response.status_code == 200
    reads = [
        q["sql"]
        for q in queries
        if any(f'FROM "{table}"' in q["sql"] for table in VOCABULARY_TABLES)
    ]
    return response, reads


def _menu(response, name: str) -> list[str]:
    menu = next(m for m in response.context["filter"].select_menus() if m.field.name == name)
    return [label for _, label, _ in menu.options]


def test_the_filters_lists_are_read_once_per_catalogue_version(sign_in, clinician, catalogue):
    client = sign_in(clinician)
    first, reads = _vocabulary_reads(client)
    assert len(reads) == 5  # need, heading, type, area, language
    # Unchanged catalogue: the next search reads none of them, and checks a chosen value
    # against the kept lists (an unknown one is still refused with its message).
    again, reads = _vocabulary_reads(client, {"area": "spa-8", "need": "anxiety"})
    assert reads == []
    assert again.context["area"].slug == "spa-8"
    assert _menu(again, "need") == _menu(first, "need")
    with CaptureQueriesContext(connection) as queries:
        refused = client.get(SEARCH, {"need": "nonsense"})
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()
    assert not any('FROM "directory_need"' in q["sql"] for q in queries)


@pytest.mark.parametrize(
    "change",
    [
        lambda: Need.objects.create(slug="grief-and-loss", name="Grief and loss"),
        lambda: Need.objects.filter(slug="anxiety").update(name="Grief and loss"),
        lambda: connection.cursor().execute(
            "UPDATE directory_need SET name = 'Grief and loss' WHERE slug = 'anxiety'"
        ),
    ],
    ids=["created", "queryset-update", "raw-sql"],
)
def test_a_changed_vocabulary_shows_on_the_next_request(sign_in, clinician, catalogue, change):
    client = sign_in(clinician)
    _vocabulary_reads(client)
    assert "Grief and loss" not in _menu(_vocabulary_reads(client)[0], "need")
    change()
    response, reads = _vocabulary_reads(client)
    assert len(reads) == 5
    assert "Grief and loss" in _menu(response, "need")


def _found(client, data) -> set[str]:
    response = client.get(SEARCH, {**data, "page": "1"})
    assert response.status_code == 200
    return {group.slug for group in response.context["page"].paginator.object_list}


def _found_by_subqueries(data) -> set[str]:
    # The same filter set without a request: no kept lists, the lookups as subqueries.
    group_filter = GroupFilter(data, queryset=listings())
    assert group_filter.is_valid()
    return set(group_filter.qs.values_list("slug", flat=True))


def test_the_kept_area_and_language_lookups_find_what_the_subqueries_find(
    sign_in, clinician, catalogue
):
    """Own areas, contacts' and meetings' areas, wider areas, own and meetings' languages."""
    client = sign_in(clinician)
    choices = [{"area": slug} for slug in catalogue.areas] + [
        {"language": code} for code in catalogue.languages
    ]
    choices += [{"area": "spa-4", "language": "es"}, {"area": "spa-8", "language": "en"}]
    for data in choices:
        assert _found(client, data) == _found_by_subqueries(data), data
    assert _found(client, {"area": "spa-8"})  # the comparison is not between empty sets
    assert _found(client, {"language": "es"})


def test_a_meeting_moved_by_a_bulk_update_is_found_in_its_new_area(sign_in, clinician, catalogue):
    client = sign_in(clinician)
    assert "neuroticos-anonimos" not in _found(client, {"area": "spa-2"})
    # QuerySet.update sends no signal; the catalogue's version still changes (triggers).
    Meeting.objects.filter(group__slug="neuroticos-anonimos").update(
        service_area=catalogue.areas["spa-2"]
    )
    assert "neuroticos-anonimos" in _found(client, {"area": "spa-2"})
    assert _found(client, {"area": "spa-2"}) == _found_by_subqueries({"area": "spa-2"})


def test_a_list_read_inside_a_rolled_back_write_is_not_served_after_it(
    sign_in, clinician, catalogue
):
    """The version number repeats after a rollback; the moment of the change does not."""
    from django.db import transaction

    client = sign_in(clinician)

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        Need.objects.create(slug="ghost", name="Ghost need")
        assert "Ghost need" in _menu(_vocabulary_reads(client)[0], "need")
        raise Undo
    Need.objects.create(slug="grief-and-loss", name="Grief and loss")
    labels = _menu(_vocabulary_reads(client)[0], "need")
    assert "Grief and loss" in labels and "Ghost need" not in labels


# --- GET never changes the database ------------------------------------------------------------

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b.*?\b(directory_\w+)", re.IGNORECASE | re.DOTALL)


def test_reading_changes_nothing_in_the_directory(sign_in, clinician, catalogue):
    client = sign_in(clinician)
    before = {
        model: model.objects.count()
        for model in [Group, Contact, Meeting, ReviewFlag, Group.history.model]
    }
    with CaptureQueriesContext(connection) as queries:
        for path, data in [
            (SEARCH, {"q": "depression", "area": "spa-4", "weekday": "2"}),
            (SEARCH, {"need": "nonsense"}),
            ("/directory/dual-recovery-anonymous/", None),
            (PRINT, None),
        ]:
            client.get(path, data or {})
    writes = [q["sql"] for q in queries if WRITE.match(q["sql"])]
    assert writes == []
    after = {model: model.objects.count() for model in before}
    assert after == before
