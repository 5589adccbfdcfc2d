"""The public directory (VII.A): "information about self-help options should be routinely
available to all clients". Search, a group's page and the Meeting Guide feed without signing
in, in English and Spanish; the waiting-room poster for staff; catalogue data only.
"""

import json
from datetime import date, time
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from directory.models import Contact, Group, Meeting
from directory.selectors import meeting_guide as plans
from directory.services import meeting_guide as writes
from tests.factories.accounts import ClinicFactory
from tests.factories.directory import (
    ContactFactory,
    CriterionConfirmationFactory,
    GroupFactory,
    LanguageFactory,
    MeetingFactory,
    NeedFactory,
    ReviewFlagFactory,
    ServiceAreaFactory,
)

SEARCH, SEARCH_ES, FEED = "/groups/", "/groups/es/", "/groups/meetings.json"
TZ = "America/Los_Angeles"


@pytest.fixture
def catalogue(db, site_admin):
    depression = NeedFactory(slug="depression", name="Depression")
    spanish = LanguageFactory(code="es", name="Spanish")
    metro = ServiceAreaFactory(slug="metro", name="Metro", spa_number=4)
    group = GroupFactory(
        slug="depression-anonymous",
        name="Depression Anonymous",
        needs=[depression],
        description="Twelve steps for depression.",
        source_note="SOURCE-NOTE-SECRET",
        etiquette_note="ETIQUETTE-NOTE-SECRET",
        evidence_note="EVIDENCE-NOTE-SECRET",
        last_verified_on=date(2026, 3, 1),
        last_verified_by=site_admin,
    )
    group.languages.add(spanish)
    group.service_areas.add(metro)
    ContactFactory(group=group, person_first_name="Contactperson", note="CONTACT-NOTE-SECRET")
    MeetingFactory(
        group=group,
        weekday=Meeting.Weekday.TUESDAY,
        address="1225 Broadway",
        city="Santa Monica",
        postal_code="90404",
        language=spanish,
        type_codes=["O"],
    )
    ReviewFlagFactory(group=group, summary="REVIEW-FLAG-SECRET")
    CriterionConfirmationFactory(group=group, status="meets", confirmed_by=site_admin)
    closed = GroupFactory(slug="closed-group", name="Closed Group", status="temporarily-closed")
    MeetingFactory(group=closed, address="", online_url="https://zoom.us/j/5")
    GroupFactory(slug="gone-group", name="Gone Group", status=Group.Status.DEFUNCT)
    GroupFactory(slug="archived-group", name="Archived Group", archived_at=timezone.now())
    return {"group": group, "metro": metro, "depression": depression, "spanish": spanish}


# --- Open to everyone, in two languages ---------------------------------------------------------


@pytest.mark.parametrize("path", [SEARCH, SEARCH_ES, FEED, "/groups/depression-anonymous/"])
def test_anonymous_people_read_the_public_pages(client, catalogue, path):
    """VII.A: routinely available to all clients, with no account."""
    response = client.get(path)
    assert response.status_code == 200


@pytest.mark.parametrize("role", ["clinician", "supervisor", "site_admin"])
def test_every_role_reads_the_public_pages_too(sign_in, catalogue, request, role):
    client = sign_in(request.getfixturevalue(role))
    for path in (SEARCH, SEARCH_ES, "/groups/es/depression-anonymous/", FEED):
        assert client.get(path).status_code == 200, path


def test_the_spanish_pages_are_in_spanish_without_a_session(client, catalogue):
    """The language is in the address: no cookie, no session, nothing stored."""
    response = client.get(SEARCH_ES, {"need": "depression"})
    html = response.content.decode()
    assert '<html lang="es">' in html
    assert "Grupos de autoayuda en el Condado de Los Ángeles" in html
    assert "Depresión" in html  # the vocabulary too
    assert response["Content-Language"] == "es"
    assert "sessionid" not in response.cookies
    english = client.get(SEARCH).content.decode()
    assert '<html lang="en">' in english and "Self-help groups in Los Angeles County" in english


def test_a_group_page_in_spanish(client, catalogue):
    html = client.get("/groups/es/depression-anonymous/").content.decode()
    assert "Reuniones semanales de Depression Anonymous" in html
    assert "martes" in html  # Tuesday
    assert "Abierto" in html or "Abierta" in html  # the spec's Spanish for O
    assert 'hreflang="en" href="/groups/depression-anonymous/"' in html


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ({}, {"Depression Anonymous", "Closed Group"}),
        ({"need": "depression"}, {"Depression Anonymous"}),
        ({"area": "metro"}, {"Depression Anonymous"}),
        ({"language": "es"}, {"Depression Anonymous"}),
        ({"weekday": "2"}, {"Depression Anonymous"}),
        ({"weekday": "3"}, set()),
        ({"q": "depression"}, {"Depression Anonymous"}),
    ],
)
def test_search_by_need_area_language_and_day(client, catalogue, query, found):
    response = client.get(SEARCH, query)
    assert response.status_code == 200
    assert {group.name for group in response.context["page"].object_list} == found


def test_a_choice_not_in_the_lists_is_a_400_with_a_message(client, catalogue):
    response = client.get(SEARCH_ES, {"need": "nonsense"})
    assert response.status_code == 400
    assert "Elija de nuevo" in response.content.decode()


@pytest.mark.parametrize("slug", ["gone-group", "archived-group", "no-such-group"])
def test_a_group_that_is_not_public_is_not_found(client, catalogue, slug):
    assert client.get(f"/groups/{slug}/").status_code == 404


def test_the_public_pages_show_catalogue_data_only(client, catalogue, site_admin):
    """Never a client, a staff member, a review flag, a medication concern or an internal note."""
    secrets = [
        "SOURCE-NOTE-SECRET",
        "ETIQUETTE-NOTE-SECRET",
        "EVIDENCE-NOTE-SECRET",
        "CONTACT-NOTE-SECRET",
        "REVIEW-FLAG-SECRET",
        "Contactperson",
        site_admin.username,
        site_admin.get_full_name(),
        "review flag",
        "medication",
        "Criterion",
    ]
    for path in (
        SEARCH,
        SEARCH_ES,
        "/groups/depression-anonymous/",
        "/groups/es/depression-anonymous/",
        FEED,
    ):
        body = b"".join(client.get(path)).decode() if path == FEED else None
        body = body or client.get(path).content.decode()
        for secret in secrets:
            if secret:
                assert secret.lower() not in body.lower(), (path, secret)


@pytest.mark.parametrize("noindex", [True, False])
def test_noindex_follows_the_setting(client, catalogue, settings, noindex):
    settings.PUBLIC_DIRECTORY_NOINDEX = noindex
    response = client.get(SEARCH)
    assert ('name="robots" content="noindex' in response.content.decode()) is noindex
    assert ("X-Robots-Tag" in response) is noindex


def test_htmx_gets_the_results_alone(client, catalogue):
    response = client.get(SEARCH_ES, {"need": "depression"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and "1 grupo" in html
    assert "HX-Request" in response["Vary"]


def test_the_public_pages_only_read(client, catalogue):
    assert client.post(SEARCH).status_code == 405
    assert client.post("/groups/depression-anonymous/").status_code == 405
    assert client.post(FEED).status_code == 405


# --- Query counts with many listings ------------------------------------------------------------


@pytest.fixture
def many_listings(db):
    need = NeedFactory(slug="depression", name="Depression")
    groups = [
        GroupFactory(slug=f"many-{n:03}", name=f"Many {n:03}", needs=[need]) for n in range(60)
    ]
    Contact.objects.bulk_create(
        Contact(group=g, kind=Contact.Kind.PHONE, phone="+13105550100") for g in groups
    )
    Meeting.objects.bulk_create(
        Meeting(group=g, weekday=d, start_time=time(19), address="1 Main St", slug=f"{g.slug}-{d}")
        for g in groups
        for d in range(3)
    )
    return groups


def test_the_search_runs_a_fixed_number_of_queries(client, many_listings, count_queries):
    # The page with its count, needs, contacts, and the three lists' vocabularies (each read
    # once, also when a filter checks its value), and the catalogue's version, which the page
    # is then kept under: the same page again reads only the version.
    assert count_queries(client, SEARCH, results=True) == 7
    assert count_queries(client, SEARCH, {"page": "3"}, results=True) == 7
    assert count_queries(client, SEARCH_ES, {"need": "depression", "weekday": "1"}) == 7
    assert count_queries(client, SEARCH) == 1


def test_a_group_page_runs_a_fixed_number_of_queries(client, many_listings, count_queries):
    assert count_queries(client, "/groups/many-001/") == 7  # with the catalogue's version
    assert count_queries(client, "/groups/many-001/") == 1  # kept for that version


def test_the_feed_runs_a_fixed_number_of_queries(
    client, many_listings, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10):
        items = json.loads(b"".join(client.get(FEED).streaming_content))
    assert len(items) == 180


# --- The Meeting Guide feed, public ------------------------------------------------------------


def test_the_feed_is_open_to_any_site(client, catalogue):
    """CORS: the Meeting Guide app, TSML and TSML UI read it from their own origins."""
    response = client.get(FEED, headers={"Origin": "https://aa-intergroup.example"})
    assert response["Access-Control-Allow-Origin"] == "*"
    assert response["Content-Type"] == "application/json"
    assert "Content-Disposition" not in response  # read by apps, not downloaded
    preflight = client.options(FEED, headers={"Origin": "https://aa-intergroup.example"})
    assert preflight.status_code == 204
    assert "GET" in preflight["Access-Control-Allow-Methods"]


def test_the_feed_carries_tc_and_full_addresses(client, catalogue):
    items = json.loads(b"".join(client.get(FEED).streaming_content))
    by_group = {item["group"]: item for item in items}
    assert set(by_group) == {"Depression Anonymous", "Closed Group"}
    in_person = by_group["Depression Anonymous"]
    assert in_person["formatted_address"] == "1225 Broadway, Santa Monica, CA 90404, USA"
    assert in_person["approximate"] == "no"
    assert "S" in in_person["types"]
    closed = by_group["Closed Group"]
    assert "TC" in closed["types"] and closed["approximate"] == "yes"


def test_a_new_meeting_stores_its_slug(catalogue, site_admin):
    from directory.rules.listings import RowEdit
    from directory.services.listings import update_group

    group = catalogue["group"]
    update_group(
        group=group,
        version=group.version,
        values={},
        meetings=[RowEdit(pk=None, values={"weekday": 5, "start_time": time(18, 30)})],
        by=site_admin,
    )
    update_group(
        group=Group.objects.get(pk=group.pk),
        version=group.version + 1,
        values={},
        meetings=[RowEdit(pk=None, values={"weekday": 5, "start_time": time(18, 30)})],
        by=site_admin,
    )
    slugs = list(
        Meeting.objects.filter(group=group, weekday=5).order_by("pk").values_list("slug", flat=True)
    )
    assert slugs == ["depression-anonymous-fri-1830", "depression-anonymous-fri-1830-2"]


def test_importing_the_apps_own_feed_loses_nothing(client, catalogue, site_admin):
    """The round trip through the database: the feed, imported into an empty copy of each
    listing, gives the same feed back."""
    group = catalogue["group"]
    meeting = group.meetings.get()
    Meeting.objects.filter(pk=meeting.pk).update(
        slug="tuesday-night-sm",
        latitude=Decimal("34.022200"),
        longitude=Decimal("-118.488000"),
        location_notes="Side door.",
        end_time=time(20, 30),
        name="Tuesday Night",
        notes="Coffee.",
    )
    MeetingFactory(
        group=group,
        weekday=Meeting.Weekday.SATURDAY,
        start_time="10:00",
        end_time=None,
        address="",
        online_url="https://us02web.zoom.us/j/123",
        conference_notes="Password: serenity",
        dial_in="+16699006833,,123#",
        city="Pasadena",
        slug="saturday-online",
        language=LanguageFactory(code="ar", name="Arabic"),
    )
    before = json.loads(b"".join(client.get(FEED).streaming_content))
    mine = [item for item in before if item["group"] == "Depression Anonymous"]
    Meeting.objects.filter(group=group).delete()
    text = json.dumps(mine)
    plan = plans.plan_import(text, listing=None, timezone=TZ)
    assert plan.ok and not plan.warnings, (plan.problems, plan.warnings)
    writes.confirm_import(
        text=text, listing=None, timezone=TZ, fingerprint=plan.fingerprint, by=site_admin
    )
    after = json.loads(b"".join(client.get(FEED).streaming_content))
    again = [item for item in after if item["group"] == "Depression Anonymous"]

    def comparable(items):
        return sorted(({k: v for k, v in i.items() if k != "updated"} for i in items), key=str)

    assert comparable(again) == comparable(mine)
    # And importing it once more changes nothing: the slugs match the stored meetings.
    plan = plans.plan_import(text, listing=None, timezone=TZ)
    assert plan.counts["unchanged"] == 2


# --- The waiting-room poster (staff) ------------------------------------------------------------


@pytest.mark.parametrize("role", ["clinician", "supervisor", "site_admin", "outsider"])
def test_staff_print_a_clinics_poster(sign_in, catalogue, clinic, request, role):
    client = sign_in(request.getfixturevalue(role))
    clinic.service_planning_area = 4
    clinic.save()
    response = client.get(f"/groups/poster/{clinic.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert clinic.name in html
    assert "http://testserver/groups/?area=metro" in html
    assert "http://testserver/groups/es/?area=metro" in html
    assert html.count('src="data:image/svg+xml;base64,') == 2
    assert "Grupos de autoayuda cerca de usted" in html


def test_the_poster_opens_the_configured_address(sign_in, catalogue, clinic, clinician, settings):
    settings.SITE_URL = "https://selfhelp.example.gov"
    html = sign_in(clinician).get(f"/groups/poster/{clinic.pk}/").content.decode()
    assert "https://selfhelp.example.gov/groups/?area=" in html


def test_anonymous_people_are_sent_to_sign_in_for_the_poster(client, clinic):
    response = client.get(f"/groups/poster/{clinic.pk}/")
    assert response.status_code == 302 and "/account/sign-in/" in response["Location"]


def test_an_inactive_or_unknown_clinic_has_no_poster(sign_in, clinician):
    closed = ClinicFactory(name="Closed clinic", is_active=False)
    client = sign_in(clinician)
    assert client.get(f"/groups/poster/{closed.pk}/").status_code == 404
    assert client.get("/groups/poster/999999/").status_code == 404


def test_the_poster_runs_a_fixed_number_of_queries(sign_in, clinician, clinic, count_queries):
    client = sign_in(clinician)
    assert count_queries(client, f"/groups/poster/{clinic.pk}/") <= 12


# --- The vocabulary is translated -----------------------------------------------------------


def test_every_name_of_the_seeded_vocabulary_has_a_spanish_translation():
    """Needs, languages and areas are data; the public pages translate them from the app's
    catalogue, which must keep up with directory/data/taxonomy.yaml."""
    from pathlib import Path

    import yaml

    taxonomy = yaml.safe_load(
        (Path(__file__).resolve().parents[3] / "directory/data/taxonomy.yaml").read_text()
    )
    names = [
        entry["name"] for key in ("needs", "languages", "service_areas") for entry in taxonomy[key]
    ]
    untranslated = []
    with translation.override("es"):
        for name in names:
            if translation.gettext(name) == name and name not in SAME_IN_SPANISH:
                untranslated.append(name)
    assert untranslated == []


SAME_IN_SPANISH = {
    "Alcohol",
    "Antelope Valley",
    "San Fernando",
    "San Gabriel",
    "Metro",
    "South Bay/Harbor",
    "Inland Empire/San Bernardino",
    "Farsi",
}


# --- Stored slugs for the meetings that had none ------------------------------------------------


def test_the_migration_stores_the_slug_the_feed_already_sent(client, db):
    """Apps following the feed keep following each meeting: the stored slug is the one the
    feed made for it before slugs were stored (two at one hour ranked as the feed ranked them)."""
    import importlib

    from django.apps import apps

    group = GroupFactory(slug="dual-recovery-anonymous", name="Dual Recovery Anonymous")
    MeetingFactory(group=group, weekday=1, start_time="19:00", address="9 Pine Ave")
    MeetingFactory(group=group, weekday=1, start_time="19:00", address="1 Main St")
    MeetingFactory(group=group, weekday=4, start_time="07:30", address="", slug="kept-as-is")
    before = {
        item.get("address", ""): item["slug"]
        for item in json.loads(b"".join(client.get(FEED).streaming_content))
    }
    migration = importlib.import_module("directory.migrations.0005_meeting_slugs_stored")
    migration.store_slugs(apps, None)
    stored = dict(Meeting.objects.values_list("address", "slug"))
    assert (
        stored
        == before
        == {
            "1 Main St": "dual-recovery-anonymous-mon-1900",
            "9 Pine Ave": "dual-recovery-anonymous-mon-1900-2",
            "": "kept-as-is",
        }
    )


def test_each_group_page_links_its_suggest_a_change_form_in_the_readers_language(client, catalogue):
    """VII.D: a reader who sees something wrong can tell the site admins from the page."""
    english = client.get("/groups/depression-anonymous/").content.decode()
    assert 'href="/groups/depression-anonymous/suggest/?lang=en"' in english
    spanish = client.get("/groups/es/depression-anonymous/").content.decode()
    assert 'href="/groups/depression-anonymous/suggest/?lang=es"' in spanish
    assert "Sugiera un cambio" in spanish
