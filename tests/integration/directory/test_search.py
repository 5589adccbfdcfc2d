"""Directory search in the words clinicians type (VII.C–D): accents, case, Spanish, synonyms,
language words; on SQLite (fallback) and PostgreSQL (stored search document) alike."""

import pytest
from django.db import connection

from directory.models import Group, Language, Need
from directory.selectors import search
from directory.services import search_terms
from tests.factories.directory import (
    GroupFactory,
    LanguageFactory,
    MeetingFactory,
    NeedFactory,
    ServiceAreaFactory,
)

SEARCH = "/directory/"


def names(response):
    assert response.status_code == 200
    return [g.name for g in response.context["page"].object_list]


@pytest.fixture
def listings(db):
    depression = NeedFactory(slug="depression", name="Depression")
    anxiety = NeedFactory(slug="anxiety", name="Anxiety")
    spanish = LanguageFactory(code="es", name="Spanish")
    english = LanguageFactory(code="en", name="English")
    east = ServiceAreaFactory(slug="east", name="East")
    dbsa = GroupFactory(slug="dbsa", name="Depression Support Alliance", description="Peers.")
    dbsa.needs.add(depression)
    dbsa.languages.add(english)
    grupo = GroupFactory(slug="grupo", name="Grupo de Apoyo Esperanza", description="Ánimo.")
    grupo.needs.add(depression)
    grupo.languages.add(spanish)
    grupo.service_areas.add(east)
    calm = GroupFactory(slug="calm", name="Calm Circle", description="Talk together.")
    calm.needs.add(anxiety)
    calm.languages.add(english)
    return {"dbsa": dbsa, "grupo": grupo, "calm": calm}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("depresion", {"Depression Support Alliance", "Grupo de Apoyo Esperanza"}),
        ("Depresión", {"Depression Support Alliance", "Grupo de Apoyo Esperanza"}),
        ("tristeza", {"Depression Support Alliance", "Grupo de Apoyo Esperanza"}),
        ("depression spanish", {"Grupo de Apoyo Esperanza"}),
        ("depresión español", {"Grupo de Apoyo Esperanza"}),
        ("ESPAÑOL", {"Grupo de Apoyo Esperanza"}),
        ("castellano", {"Grupo de Apoyo Esperanza"}),
        ("ansiedad", {"Calm Circle"}),
        ("panic english", {"Calm Circle"}),
        ("animo", {"Grupo de Apoyo Esperanza"}),  # "Ánimo" in the description
        ("esperanza east", {"Grupo de Apoyo Esperanza"}),
        ("depression french", set()),
    ],
)
def test_accents_case_spanish_synonyms_and_language_words(
    sign_in, clinician, listings, typed, expected
):
    """Done when: "depresion" and "depression spanish" find groups (both databases)."""
    assert set(names(sign_in(clinician).get(SEARCH, {"q": typed}))) == expected


def test_words_are_folded():
    assert search.words("Depresión ESPAÑOL, niños") == ["depresion", "espanol", "ninos"]


def test_a_listings_lists_keep_its_vocabulary_words_current(listings):
    """Adding, removing and renaming needs and languages update the stored words at once."""
    grupo = Group.objects.get(slug="grupo")
    assert "español" in grupo.search_terms and "tristeza" in grupo.search_terms
    grupo.languages.clear()
    grupo.refresh_from_db()
    assert "español" not in grupo.search_terms
    need = Need.objects.get(slug="depression")
    need.name = "Low mood"
    need.save()
    grupo.refresh_from_db()
    assert "Low mood" in grupo.search_terms


def test_a_meetings_language_counts_for_its_listing(listings):
    """A listing with a meeting held in Spanish is found by "español", as the filter finds it."""
    calm = listings["calm"]
    MeetingFactory(group=calm, language=Language.objects.get(code="es"))
    calm.refresh_from_db()
    assert "español" in calm.search_terms


def test_deferred_refreshes_once_at_the_end(listings, django_assert_num_queries):
    calm = listings["calm"]
    spanish = Language.objects.get(code="es")
    with search_terms.deferred():
        calm.languages.add(spanish)
        calm.refresh_from_db()
        assert "español" not in calm.search_terms  # not yet
    calm.refresh_from_db()
    assert "español" in calm.search_terms


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the stored document is PostgreSQL's")
def test_the_document_is_stored_and_ranks_names_first(listings):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attgenerated FROM pg_attribute WHERE attrelid = 'directory_group'::regclass "
            "AND attname = 'search_document'"
        )
        assert cursor.fetchone() == ("s",)  # a stored generated column
    found = list(search.full_text_search(Group.objects.all(), ["depression"]))
    assert found[0].name == "Depression Support Alliance"  # in its name (A), not only needs (B)
