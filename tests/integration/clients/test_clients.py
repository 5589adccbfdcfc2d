"""Client records: list, find, create, a client's page, edit.

Who may use each page; tenancy (another clinic's client answers 404 and the attempt is
logged); creating with the record number validated and normalised; the VI.C medication flag;
editing with optimistic locking (409, nothing overwritten, nothing typed lost); finding by name
or record number with no PHI in any address; exactly one access-log row per request; bad input
never a 500; and query counts that do not grow with the number of clients, screenings or
referrals.
"""

import re
from html import unescape
from html.parser import HTMLParser

import pytest
from django import test as django_test
from django.utils import timezone

from accounts.models import AccessEvent, Role
from clients.forms import DUPLICATE_MESSAGE, OTHER_LANGUAGE_MESSAGE, SEARCH_BLANK_MESSAGE
from clients.models import Client
from clients.services import clients as services
from referrals.models import Screening
from tests.factories.accounts import UserFactory
from tests.factories.clients import ClientFactory
from tests.factories.directory import GroupFactory
from tests.factories.referrals import ReferralFactory, ReferredGroupFactory, ScreeningFactory

PEOPLE = ["clinician", "supervisor", "site_admin", "outsider", "no_role_user", "superuser"]
RECORD_NUMBER_MESSAGE = "A clinical record number is 6 to 10 digits"


# --- Fixtures and helpers -------------------------------------------------------------------------


@pytest.fixture
def ana(clinic, clinician):
    """A client of the clinic, with names and a number that must never be in an address."""
    return ClientFactory(
        clinic=clinic,
        created_by=clinician,
        first_name="Anabella",
        last_name="Quixotemarsh",
        record_number="7654321",
    )


@pytest.fixture
def colleague(clinic):
    """A second clinician of the same clinic."""
    return UserFactory(
        username="colleague",
        first_name="Cora",
        last_name="Colleague",
        clinic=clinic,
        roles=[Role.CLINICIAN],
    )


def new_client_data(**overrides):
    data = {
        "record_number": "1234567",
        "first_name": "Maria",
        "last_name": "Lopez",
        "preferred_language": "es",
        "preferred_language_other": "",
        "needs_interpreter": "on",
        "on_prescribed_medication": "on",
        "primary_clinician": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def edit_data(client: Client, **overrides):
    data = {
        "record_number": client.record_number,
        "first_name": client.first_name,
        "last_name": client.last_name,
        "preferred_language": client.preferred_language,
        "preferred_language_other": client.preferred_language_other,
        "primary_clinician": client.primary_clinician_id or "",
        "version": client.version,
    }
    if client.needs_interpreter:
        data["needs_interpreter"] = "on"
    if client.on_prescribed_medication:
        data["on_prescribed_medication"] = "on"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def text(response) -> str:
    """The page as a reader sees it (entities such as &#x27; turned back into characters)."""
    return unescape(response.content.decode())


def events():
    return list(AccessEvent.objects.order_by("id"))


def page_events():
    """Access-log rows other than sign-in (the test client signs in without any)."""
    return [event for event in events() if event.action != AccessEvent.Action.SIGN_IN]


class _AddressParser(HTMLParser):
    """Every address a page links to, posts to or asks htmx to fetch."""

    ATTRIBUTES = {"href", "action", "src", "hx-get", "hx-post", "hx-push-url", "formaction"}

    def __init__(self):
        super().__init__()
        self.addresses = []

    def handle_starttag(self, tag, attrs):
        self.addresses += [value for name, value in attrs if name in self.ATTRIBUTES and value]


def addresses(response) -> list[str]:
    parser = _AddressParser()
    parser.feed(text(response))
    found = parser.addresses
    if response.has_header("Location"):
        found.append(response["Location"])
    return found


def assert_no_phi_in_addresses(response, client: Client):
    """No name or record number in any link, form address or redirect (they end up in logs)."""
    for address in addresses(response):
        lowered = address.lower()
        for secret in (client.first_name, client.last_name, client.record_number):
            assert secret.lower() not in lowered, f"{secret!r} in {address!r}"


# --- Who may use each page ------------------------------------------------------------------------

# Expected status per page and person. Clinicians (and the outsider, who is a clinician of
# another clinic) use every page; supervisors read (list, find, a client's page); site admins
# and people without a role get 403. The superuser holds every permission but has no clinic,
# so no client is theirs: 404 for a client, and the "new client" page explains (403).
# Outsider and superuser get 404 for this clinic's client (tenancy).
EXPECTED = {
    "list": {
        "clinician": 200,
        "supervisor": 200,
        "site_admin": 403,
        "outsider": 200,
        "no_role_user": 403,
        "superuser": 200,
    },
    "find": {
        "clinician": 200,
        "supervisor": 200,
        "site_admin": 403,
        "outsider": 200,
        "no_role_user": 403,
        "superuser": 200,
    },
    "new": {
        "clinician": 200,
        "supervisor": 403,
        "site_admin": 403,
        "outsider": 200,
        "no_role_user": 403,
        "superuser": 403,
    },
    "detail": {
        "clinician": 200,
        "supervisor": 200,
        "site_admin": 403,
        "outsider": 404,
        "no_role_user": 403,
        "superuser": 404,
    },
    "edit": {
        "clinician": 200,
        "supervisor": 403,
        "site_admin": 403,
        "outsider": 404,
        "no_role_user": 403,
        "superuser": 404,
    },
    "edit-post": {
        "clinician": 302,
        "supervisor": 403,
        "site_admin": 403,
        "outsider": 404,
        "no_role_user": 403,
        "superuser": 404,
    },
    "new-post": {
        "clinician": 302,
        "supervisor": 403,
        "site_admin": 403,
        "outsider": 302,
        "no_role_user": 403,
        "superuser": 403,
    },
}


def request_page(client, page, ana):
    if page == "list":
        return client.get("/clients/")
    if page == "find":
        return client.post("/clients/find/", {"q": "quixote"})
    if page == "new":
        return client.get("/clients/new/")
    if page == "new-post":
        return client.post("/clients/new/", new_client_data())
    if page == "detail":
        return client.get(f"/clients/{ana.pk}/")
    if page == "edit":
        return client.get(f"/clients/{ana.pk}/edit/")
    if page == "edit-post":
        return client.post(f"/clients/{ana.pk}/edit/", edit_data(ana, first_name="Anna"))
    raise AssertionError(page)


@pytest.mark.parametrize("page", EXPECTED)
@pytest.mark.parametrize("person", PEOPLE)
def test_permission_per_role(request, sign_in, ana, page, person):
    user = request.getfixturevalue(person)
    response = request_page(sign_in(user), page, ana)
    assert response.status_code == EXPECTED[page][person]
    if response.status_code == 403 and person not in ("superuser",):
        # Refused by the role: the permission decorator's row, and nothing else.
        assert b"do not have access" in response.content
        rows = page_events()
        assert [(e.action, e.outcome, e.user) for e in rows] == [("denied", "denied", user)]
    if response.status_code in (403, 404, 409) or response.status_code >= 400:
        assert not Client.objects.exclude(pk=ana.pk).exists()  # nothing created
        ana.refresh_from_db()
        assert ana.first_name == "Anabella"  # nothing changed


def test_the_superuser_is_told_why_there_is_no_new_client_form(sign_in, superuser):
    response = sign_in(superuser).get("/clients/new/")
    assert response.status_code == 403
    assert b"Your account has no clinic" in response.content
    assert b'<form method="post" class="client-form"' not in response.content


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/clients/"),
        ("post", "/clients/find/"),
        ("get", "/clients/new/"),
        ("post", "/clients/new/"),
        ("get", "/clients/1/"),
        ("get", "/clients/1/edit/"),
        ("post", "/clients/1/edit/"),
    ],
)
def test_anonymous_is_sent_to_sign_in(client, db, method, path):
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/account/sign-in/")
    assert not Client.objects.exists()


def test_the_navigation_and_the_clinician_home_link_to_the_clients(sign_in, clinician):
    html = sign_in(clinician).get("/clinician/").content.decode()
    assert 'href="/clients/"' in html
    assert "Find or add a client" in html


# --- Tenancy --------------------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["outsider", "superuser"])
@pytest.mark.parametrize(("method", "suffix"), [("get", ""), ("get", "edit/"), ("post", "edit/")])
def test_another_clinics_client_is_not_found_and_the_attempt_logged(
    request, sign_in, ana, person, method, suffix
):
    user = request.getfixturevalue(person)
    client = sign_in(user)
    path = f"/clients/{ana.pk}/{suffix}"
    data = edit_data(ana, first_name="Changed") if method == "post" else None
    response = getattr(client, method)(path, data) if data else client.get(path)
    assert response.status_code == 404
    assert b"Anabella" not in response.content and b"7654321" not in response.content
    [event] = page_events()
    assert event.outcome == AccessEvent.Outcome.NOT_FOUND
    assert event.object_type == "client" and event.object_id == str(ana.pk)
    assert event.user == user
    expected_action = AccessEvent.Action.EDIT if method == "post" else AccessEvent.Action.VIEW
    assert event.action == expected_action
    ana.refresh_from_db()
    assert ana.first_name == "Anabella" and ana.version == 1


def test_a_client_that_does_not_exist_is_not_found_and_logged(sign_in, clinician):
    response = sign_in(clinician).get("/clients/999999/")
    assert response.status_code == 404
    [event] = page_events()
    assert (event.outcome, event.object_id) == ("not-found", "999999")


def test_the_list_shows_only_the_own_clinics_clients(sign_in, clinician, ana, outsider):
    theirs = ClientFactory(clinic=outsider.clinic, created_by=outsider, last_name="Elsewhere")
    html = sign_in(clinician).get("/clients/?show=all").content.decode()
    assert "Quixotemarsh" in html
    assert "Elsewhere" not in html and f"/clients/{theirs.pk}/" not in html
    html = sign_in(outsider).get("/clients/?show=all").content.decode()
    assert "Elsewhere" in html and "Quixotemarsh" not in html


def test_the_superuser_sees_no_clients(sign_in, superuser, ana):
    response = sign_in(superuser).get("/clients/?show=all")
    assert response.status_code == 200
    assert response.context["page"].object_list == []
    assert b"Your account has no clinic" in response.content


# --- The list -------------------------------------------------------------------------------------


def test_the_list_is_by_last_name_and_paginated(sign_in, clinician, clinic):
    for n in range(30):
        ClientFactory(clinic=clinic, created_by=clinician, last_name=f"Name{29 - n:02d}")
    client = sign_in(clinician)
    page = client.get("/clients/?show=all").context["page"]
    assert len(page.object_list) == 25 and page.has_next and not page.has_previous
    assert [c.last_name for c in page.object_list] == [f"Name{n:02d}" for n in range(25)]
    # The next page starts after the last client shown: the address carries the id only.
    assert page.next_url == f"?show=all&after={page.object_list[-1].pk}"
    second = client.get(f"/clients/{page.next_url}").context["page"]
    assert [c.last_name for c in second.object_list] == [f"Name{n:02d}" for n in range(25, 30)]
    assert second.has_previous and not second.has_next and not second.is_first
    back = client.get(f"/clients/{second.previous_url}").context["page"]
    assert back.object_list == page.object_list and back.is_first


def _names(page) -> list[tuple[str, str]]:
    return [(c.last_name, c.first_name) for c in page.object_list]


def test_keyset_pages_walk_the_whole_list_both_ways(sign_in, clinician, clinic):
    """Many clients share a last name, and some a whole name: the pages still hold every
    client exactly once, in the list's order, forwards and backwards."""
    for n in range(80):
        ClientFactory(
            clinic=clinic,
            created_by=clinician,
            last_name=["García", "Garcia", "Lee", "O'Brien"][n % 4],
            first_name=f"Ana{n % 7}",
        )
    expected = [
        (c.last_name, c.first_name)
        for c in Client.objects.filter(clinic=clinic).order_by("last_name", "first_name", "id")
    ]
    client = sign_in(clinician)
    pages = [client.get("/clients/?show=all").context["page"]]
    while pages[-1].has_next:
        pages.append(client.get("/clients/" + pages[-1].next_url).context["page"])
    assert [len(p.object_list) for p in pages] == [25, 25, 25, 5]
    assert [name for p in pages for name in _names(p)] == expected
    ids = [c.pk for p in pages for c in p.object_list]
    assert len(ids) == len(set(ids)) == 80
    # Backwards from the last page: the same pages, in reverse.
    page = pages[-1]
    for earlier in reversed(pages[:-1]):
        page = client.get("/clients/" + page.previous_url).context["page"]
        assert _names(page) == _names(earlier)
    assert page.is_first and not page.has_previous


def test_a_keyset_anchor_outside_the_list_gives_the_first_page(
    sign_in, clinician, clinic, outsider, ana
):
    theirs = ClientFactory(clinic=outsider.clinic, created_by=outsider, last_name="Elsewhere")
    client = sign_in(clinician)
    for query in (f"?show=all&after={theirs.pk}", f"?show=all&before={theirs.pk}", "?after=0"):
        response = client.get("/clients/" + query)
        assert response.status_code == 200
        page = response.context["page"]
        assert page.is_first and "Elsewhere" not in response.content.decode()


def test_clinicians_start_on_their_own_clients(sign_in, clinician, colleague, clinic, ana):
    theirs = ClientFactory(clinic=clinic, created_by=colleague, last_name="Colleagues")
    client = sign_in(clinician)
    response = client.get("/clients/")
    assert response.context["show"] == "mine"
    assert list(response.context["page"].object_list) == [ana]
    everyone = client.get("/clients/?show=all").context["page"].object_list
    assert set(everyone) == {ana, theirs}


def test_supervisors_start_on_the_whole_clinic(sign_in, supervisor, ana):
    response = sign_in(supervisor).get("/clients/")
    assert response.context["show"] == "all"
    assert list(response.context["page"].object_list) == [ana]


@pytest.mark.parametrize(
    "query",
    [
        "?show=<script>",
        "?page=abc",
        "?page=999",
        "?page=-1",
        "?after=abc",
        "?after=-1",
        "?before=" + "9" * 40,
        "?after=1&before=2",
    ],
)
def test_odd_list_parameters_are_harmless(sign_in, clinician, ana, query):
    response = sign_in(clinician).get(f"/clients/{query}")
    assert response.status_code == 200


# --- Finding a client -----------------------------------------------------------------------------


@pytest.fixture
def find_setup(clinic, clinician, outsider):
    mine = [
        ClientFactory(
            clinic=clinic,
            created_by=clinician,
            first_name="Ana",
            last_name="Garcia",
            record_number="1234567",
        ),
        ClientFactory(
            clinic=clinic,
            created_by=clinician,
            first_name="Luis",
            last_name="Garcia",
            record_number="2345678",
        ),
        ClientFactory(
            clinic=clinic,
            created_by=clinician,
            first_name="Bob",
            last_name="Smith",
            record_number="3456789",
        ),
    ]
    # The same name and number at another clinic: never found from this one.
    theirs = ClientFactory(
        clinic=outsider.clinic,
        created_by=outsider,
        first_name="Ana",
        last_name="Garcia",
        record_number="1234567",
    )
    return mine, theirs


def found(response):
    return response.context["found"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("garc", {"Ana Garcia", "Luis Garcia"}),
        ("GARCIA", {"Ana Garcia", "Luis Garcia"}),
        ("an", {"Ana Garcia"}),  # part of a first name
        ("ana gar", {"Ana Garcia"}),  # every word must match
        ("  ana   GAR ", {"Ana Garcia"}),
        ("mith", {"Bob Smith"}),
        ("nobody", set()),
        ("1234567", {"Ana Garcia"}),
        ("123-456 7", {"Ana Garcia"}),  # punctuation is dropped, as when saving
        (" 123 4567 ", {"Ana Garcia"}),
        ("9999999", set()),
        ("123456", set()),  # exact number only, never a prefix
    ],
)
def test_find_by_name_part_or_record_number(sign_in, clinician, find_setup, query, expected):
    mine, theirs = find_setup
    response = sign_in(clinician).post("/clients/find/", {"q": query})
    assert response.status_code == 200
    results = found(response)
    assert {f"{c.first_name} {c.last_name}" for c in results} == expected
    assert theirs not in results
    assert all(c.clinic_id == clinician.clinic_id for c in results)


def test_find_never_returns_another_clinics_clients(sign_in, outsider, find_setup):
    mine, theirs = find_setup
    response = sign_in(outsider).post("/clients/find/", {"q": "garcia"})
    assert found(response) == [theirs]
    response = sign_in(outsider).post("/clients/find/", {"q": "3456789"})
    assert found(response) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", SEARCH_BLANK_MESSAGE),
        ("    ", SEARCH_BLANK_MESSAGE),
        ("12345", RECORD_NUMBER_MESSAGE),  # too short to be a record number
        ("12345678901", RECORD_NUMBER_MESSAGE),
        ("١٢٣٤٥٦٧", RECORD_NUMBER_MESSAGE),  # digits, but not the county's 0-9
        ("x" * 101, "at most 100 characters"),
        ("a\x00b", "Null characters are not allowed"),
    ],
)
def test_a_blank_or_bad_search_gets_a_clear_message_and_a_400(
    sign_in, clinician, find_setup, query, message
):
    response = sign_in(clinician).post("/clients/find/", {"q": query})
    assert response.status_code == 400
    assert message in text(response)
    assert "found" not in response.context


def test_a_search_without_the_field_is_a_400(sign_in, clinician):
    response = sign_in(clinician).post("/clients/find/", {})
    assert response.status_code == 400
    assert SEARCH_BLANK_MESSAGE in text(response)


def test_htmx_gets_the_results_alone(sign_in, clinician, find_setup):
    client = sign_in(clinician)
    response = client.post("/clients/find/", {"q": "garcia"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = text(response)
    assert "<html" not in html and "Search results" in html
    assert "Ana" in html and "Luis" in html
    assert "HX-Request" in response["Vary"]


def test_htmx_gets_a_blank_search_explained_in_place(sign_in, clinician):
    # base.html lets htmx swap in 422 answers (not 400), so the fragment explains in place.
    response = sign_in(clinician).post("/clients/find/", {"q": " "}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "<html" not in text(response)
    assert SEARCH_BLANK_MESSAGE in text(response)


def test_find_shows_at_most_fifty_and_asks_to_refine(sign_in, clinician, clinic):
    for n in range(55):
        ClientFactory(clinic=clinic, created_by=clinician, last_name=f"Common{n:02d}")
    response = sign_in(clinician).post("/clients/find/", {"q": "common"})
    assert response.status_code == 200
    assert len(found(response)) == 50
    assert [c.last_name for c in found(response)] == [f"Common{n:02d}" for n in range(50)]
    assert "Refine your search" in text(response)
    response = sign_in(clinician).post("/clients/find/", {"q": "common0"})
    assert len(found(response)) == 10
    assert "Refine your search" not in text(response)


def test_the_search_form_posts_with_a_csrf_token(sign_in, clinician):
    html = sign_in(clinician).get("/clients/").content.decode()
    form = re.search(r'<form method="post" action="/clients/find/"[^>]*>(.*?)</form>', html, re.S)
    assert form, "the list carries the search form"
    assert 'hx-post="/clients/find/"' in form.group(0)
    assert 'name="csrfmiddlewaretoken"' in form.group(1)


def test_the_search_is_refused_without_a_csrf_token(clinician, ana):
    browser = django_test.Client(enforce_csrf_checks=True)
    browser.force_login(clinician)
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=clinician, name="app", confirmed=True)
    session = browser.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    response = browser.post("/clients/find/", {"q": "quixote"})
    assert response.status_code == 403


def test_the_find_address_without_a_search_goes_to_the_list(sign_in, clinician):
    response = sign_in(clinician).get("/clients/find/")
    assert response.status_code == 302 and response["Location"] == "/clients/"
    assert page_events() == []


# --- Creating a client ----------------------------------------------------------------------------


def test_create_a_client(sign_in, clinician, clinic):
    response = sign_in(clinician).post(
        "/clients/new/", new_client_data(primary_clinician=clinician.pk)
    )
    client = Client.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/clients/{client.pk}/"
    assert client.clinic == clinic
    assert client.created_by == clinician
    assert client.primary_clinician == clinician
    assert (client.first_name, client.last_name) == ("Maria", "Lopez")
    assert client.preferred_language == "es" and client.preferred_language_other == ""
    assert client.needs_interpreter is True
    assert client.on_prescribed_medication is True  # VI.C
    assert client.version == 1
    [record] = client.history.all()
    assert record.history_type == "+" and record.history_user == clinician
    assert record.history_change_reason == "Client added"


def test_the_new_client_form_defaults_to_the_user_and_offers_only_clinic_clinicians(
    sign_in, clinician, colleague, supervisor, outsider
):
    UserFactory(username="gone", clinic=clinician.clinic, roles=[Role.CLINICIAN], is_active=False)
    response = sign_in(clinician).get("/clients/new/")
    form = response.context["form"]
    assert form["primary_clinician"].value() == clinician.pk
    assert set(form.fields["primary_clinician"].queryset) == {clinician, colleague}
    html = text(response)
    # VI.C named in the medication field's help text.
    assert "VI.C" in html and "full members" in html
    assert 'for="id_record_number"' in html and 'for="id_on_prescribed_medication"' in html


def test_the_record_number_is_normalised(sign_in, clinician):
    response = sign_in(clinician).post("/clients/new/", new_client_data(record_number="123-456 7"))
    assert response.status_code == 302
    assert Client.objects.get().record_number == "1234567"


@pytest.mark.parametrize(
    "number",
    ["12345", "12a4567", "abcdefg", "12345678901", "", "   ", "1234567\x00", "١٢٣٤٥٦٧"],
)
def test_invalid_record_numbers_are_refused(sign_in, clinician, number):
    response = sign_in(clinician).post("/clients/new/", new_client_data(record_number=number))
    assert response.status_code == 400
    html = text(response)
    assert "Nothing was saved" in html
    assert RECORD_NUMBER_MESSAGE in html or "This field is required" in html or "Null" in html
    assert not Client.objects.exists()


def test_a_duplicate_record_number_in_the_clinic_is_refused(sign_in, clinician, ana):
    response = sign_in(clinician).post("/clients/new/", new_client_data(record_number="765-4321"))
    assert response.status_code == 400
    html = text(response)
    assert DUPLICATE_MESSAGE in html
    assert f'href="/clients/{ana.pk}/"' in html  # a way to the client who has it
    assert Client.objects.count() == 1


def test_the_same_record_number_at_another_clinic_is_allowed(sign_in, outsider, ana):
    response = sign_in(outsider).post("/clients/new/", new_client_data(record_number="7654321"))
    assert response.status_code == 302
    theirs = Client.objects.exclude(pk=ana.pk).get()
    assert theirs.record_number == ana.record_number
    assert theirs.clinic == outsider.clinic


def test_a_double_clicked_add_creates_one_client(sign_in, clinician):
    client = sign_in(clinician)
    first = client.post("/clients/new/", new_client_data())
    second = client.post("/clients/new/", new_client_data())
    assert first.status_code == 302
    assert second.status_code == 400 and DUPLICATE_MESSAGE in second.content.decode()
    assert Client.objects.count() == 1


def test_other_language_needs_its_name(sign_in, clinician):
    client = sign_in(clinician)
    response = client.post("/clients/new/", new_client_data(preferred_language="other"))
    assert response.status_code == 400
    assert OTHER_LANGUAGE_MESSAGE in text(response)
    assert not Client.objects.exists()

    response = client.post(
        "/clients/new/",
        new_client_data(preferred_language="other", preferred_language_other="  Oromo "),
    )
    assert response.status_code == 302
    saved = Client.objects.get()
    assert saved.preferred_language_other == "Oromo" and saved.language_label == "Oromo"


def test_other_language_text_is_dropped_for_a_listed_language(sign_in, clinician):
    response = sign_in(clinician).post(
        "/clients/new/", new_client_data(preferred_language="ko", preferred_language_other="Oromo")
    )
    assert response.status_code == 302
    assert Client.objects.get().preferred_language_other == ""


def test_a_primary_clinician_of_another_clinic_is_refused(sign_in, clinician, outsider):
    response = sign_in(clinician).post(
        "/clients/new/", new_client_data(primary_clinician=outsider.pk)
    )
    assert response.status_code == 400
    assert "Select a valid choice" in text(response)
    assert not Client.objects.exists()


def test_a_primary_clinician_without_the_clinician_role_is_refused(sign_in, clinician, supervisor):
    response = sign_in(clinician).post(
        "/clients/new/", new_client_data(primary_clinician=supervisor.pk)
    )
    assert response.status_code == 400
    assert not Client.objects.exists()


def test_a_tampered_clinic_is_ignored(sign_in, clinician, clinic, other_clinic):
    response = sign_in(clinician).post(
        "/clients/new/", new_client_data(clinic=other_clinic.pk, created_by=9999, version=77)
    )
    assert response.status_code == 302
    saved = Client.objects.get()
    assert saved.clinic == clinic and saved.created_by == clinician and saved.version == 1


def test_the_service_refuses_a_primary_clinician_of_another_clinic(clinic, clinician, outsider):
    with pytest.raises(ValueError):
        services.create_client(
            clinic=clinic,
            data={
                "record_number": "1234567",
                "first_name": "A",
                "last_name": "B",
                "primary_clinician": outsider,
            },
            by=clinician,
        )
    assert not Client.objects.exists()


# --- A client's page ------------------------------------------------------------------------------


def test_the_client_page_shows_details_screenings_and_referrals(sign_in, clinician, colleague, ana):
    ana.on_prescribed_medication = True
    ana.save()
    old = ScreeningFactory(
        client=ana,
        screened_by=colleague,
        screened_at=timezone.now() - timezone.timedelta(days=30),
        decision=Screening.Decision.NOT_NOW,
    )
    referral = ReferralFactory(screening__client=ana, screening__screened_by=clinician)
    group = GroupFactory(name="Depression Anonymous", slug="depression-anonymous")
    ReferredGroupFactory(
        referral=referral, group=group, chosen_at=timezone.now(), chosen_by=clinician
    )
    response = sign_in(clinician).get(f"/clients/{ana.pk}/")
    assert response.status_code == 200
    html = text(response)
    assert "Anabella Quixotemarsh" in html and "7654321" in html
    assert "VI.C" in html
    screenings = response.context["client"].recent_screenings
    assert screenings == [referral.screening, old]  # newest first
    assert "Do not refer now" in html and "Cora Colleague" in html
    assert "Depression Anonymous" in html
    assert "Preparing" in html  # the referral's status
    assert f'href="/referrals/screenings/{old.pk}/"' in html
    assert f'href="/referrals/{referral.pk}/"' in html


def test_the_screen_button_is_for_those_who_may_screen(sign_in, clinician, supervisor, ana):
    screen = f'href="/referrals/screen/{ana.pk}/"'
    assert screen in sign_in(clinician).get(f"/clients/{ana.pk}/").content.decode()
    html = sign_in(supervisor).get(f"/clients/{ana.pk}/").content.decode()
    assert screen not in html
    assert f'href="/clients/{ana.pk}/edit/"' not in html  # supervisors read only


def test_the_client_page_caps_long_histories(sign_in, clinician, ana):
    for _ in range(27):
        ScreeningFactory(client=ana)
    response = sign_in(clinician).get(f"/clients/{ana.pk}/")
    assert len(response.context["client"].recent_screenings) == 25
    assert "The latest 25 of 27 screenings" in text(response)


# --- Editing --------------------------------------------------------------------------------------


def test_edit_a_client(sign_in, clinician, colleague, ana):
    client = sign_in(clinician)
    response = client.get(f"/clients/{ana.pk}/edit/")
    assert response.status_code == 200
    assert 'name="version" value="1"' in text(response)
    response = client.post(
        f"/clients/{ana.pk}/edit/",
        edit_data(
            ana,
            first_name="Anna",
            record_number="765 4322",
            on_prescribed_medication="on",
            primary_clinician=colleague.pk,
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == f"/clients/{ana.pk}/"
    ana.refresh_from_db()
    assert ana.first_name == "Anna" and ana.record_number == "7654322"
    assert ana.on_prescribed_medication is True and ana.primary_clinician == colleague
    assert ana.version == 2
    latest = ana.history.order_by("-history_id").first()
    assert latest.history_user == clinician and latest.history_type == "~"
    assert latest.history_change_reason == "Client details changed"
    assert latest.first_name == "Anna" and latest.version == 2


def test_a_stale_edit_is_refused_with_409_and_nothing_overwritten(
    sign_in, clinician, colleague, ana
):
    loaded = edit_data(ana)  # the form as the clinician opened it, at version 1
    # Meanwhile a colleague saves.
    services.update_client(
        client=ana,
        data={**edit_data(ana), "last_name": "Marsh", "primary_clinician": clinician},
        version=1,
        by=colleague,
    )
    response = sign_in(clinician).post(
        f"/clients/{ana.pk}/edit/", {**loaded, "first_name": "Annabel"}
    )
    assert response.status_code == 409
    html = text(response)
    assert "Someone else saved this client" in html and "Nothing of yours was saved" in html
    assert "Cora Colleague" in html  # who saved
    ana.refresh_from_db()
    assert (ana.first_name, ana.last_name, ana.version) == ("Anabella", "Marsh", 2)
    # What the clinician typed is kept, and the form now carries the current version.
    assert 'value="Annabel"' in html
    assert 'name="version" value="2"' in html
    differences = {row["field"]: row for row in response.context["conflict"]["differences"]}
    assert differences["First name"]["theirs"] == "Anabella"
    assert differences["First name"]["yours"] == "Annabel"
    assert differences["Last name"]["theirs"] == "Marsh"
    # Saving again from the conflict page applies the clinician's values knowingly.
    again = dict(response.context["form"].data.items())
    response = sign_in(clinician).post(f"/clients/{ana.pk}/edit/", again)
    assert response.status_code == 302
    ana.refresh_from_db()
    assert (ana.first_name, ana.version) == ("Annabel", 3)


def test_a_double_clicked_save_is_not_a_conflict(sign_in, clinician, ana):
    client = sign_in(clinician)
    data = edit_data(ana, first_name="Anna")
    assert client.post(f"/clients/{ana.pk}/edit/", data).status_code == 302
    second = client.post(f"/clients/{ana.pk}/edit/", data)  # still version 1
    assert second.status_code == 302
    ana.refresh_from_db()
    assert (ana.first_name, ana.version) == ("Anna", 2)


def test_the_service_refuses_a_stale_version(clinician, ana):
    services.update_client(client=ana, data={"first_name": "One"}, version=1, by=clinician)
    with pytest.raises(services.EditConflict) as refused:
        services.update_client(client=ana, data={"first_name": "Two"}, version=1, by=clinician)
    assert refused.value.current.first_name == "One"
    ana.refresh_from_db()
    assert (ana.first_name, ana.version) == ("One", 2)
    assert ana.history.count() == 2  # created, and the one edit


@pytest.mark.parametrize(
    "overrides",
    [
        {"version": "abc"},
        {"version": None},
        {"version": "0"},
        {"version": "99999999999999999999999"},
        {"record_number": "12"},
        {"first_name": ""},
        {"preferred_language": "xx"},
        {"primary_clinician": "abc"},
        {"primary_clinician": "99999999999999999999"},
    ],
)
def test_bad_edits_are_refused_and_nothing_changes(sign_in, clinician, ana, overrides):
    response = sign_in(clinician).post(
        f"/clients/{ana.pk}/edit/", edit_data(ana, last_name="Changed", **overrides)
    )
    assert response.status_code == 400
    assert "Nothing was saved" in text(response)
    ana.refresh_from_db()
    assert ana.last_name == "Quixotemarsh" and ana.version == 1


def test_editing_to_a_number_another_client_has_is_refused(sign_in, clinician, clinic, ana):
    other = ClientFactory(clinic=clinic, created_by=clinician, record_number="1111111")
    response = sign_in(clinician).post(
        f"/clients/{ana.pk}/edit/", edit_data(ana, record_number="111-1111")
    )
    assert response.status_code == 400
    assert DUPLICATE_MESSAGE in text(response)
    ana.refresh_from_db()
    assert ana.record_number == "7654321" and other.record_number == "1111111"


def test_an_edit_keeps_its_own_record_number(sign_in, clinician, ana):
    response = sign_in(clinician).post(
        f"/clients/{ana.pk}/edit/", edit_data(ana, record_number="765-4321", first_name="A")
    )
    assert response.status_code == 302


def test_an_edit_cannot_move_a_client_to_another_clinic(sign_in, clinician, ana, other_clinic):
    response = sign_in(clinician).post(
        f"/clients/{ana.pk}/edit/", edit_data(ana, clinic=other_clinic.pk, created_by=1)
    )
    assert response.status_code == 302
    ana.refresh_from_db()
    assert ana.clinic_id == clinician.clinic_id and ana.created_by == clinician


def test_a_former_clinician_stays_choosable_as_the_current_primary(
    sign_in, clinician, colleague, ana
):
    ana.primary_clinician = colleague
    ana.save()
    colleague.is_active = False
    colleague.save()
    response = sign_in(clinician).post(f"/clients/{ana.pk}/edit/", edit_data(ana, first_name="Ann"))
    assert response.status_code == 302


# --- No PHI in addresses --------------------------------------------------------------------------


def test_no_name_or_record_number_in_any_address(sign_in, clinician, ana):
    ScreeningFactory(client=ana)
    client = sign_in(clinician)
    pages = [
        client.get("/clients/"),
        client.get("/clients/?show=all"),
        client.get(f"/clients/{ana.pk}/"),
        client.get(f"/clients/{ana.pk}/edit/"),
        client.get("/clients/new/"),
        client.post("/clients/find/", {"q": "quixotemarsh"}),
        client.post("/clients/find/", {"q": "765-4321"}),
        client.post("/clients/find/", {"q": "anab"}, headers={"HX-Request": "true"}),
        client.post(f"/clients/{ana.pk}/edit/", edit_data(ana, preferred_language="fa")),
    ]
    assert "Quixotemarsh" in pages[1].content.decode()  # the page does show the client...
    for response in pages:
        assert_no_phi_in_addresses(response, ana)  # ...but no address carries them
    created = client.post("/clients/new/", new_client_data(first_name="Zelda", last_name="Zwanzig"))
    new = Client.objects.get(last_name="Zwanzig")
    assert_no_phi_in_addresses(created, new)
    # Nor in the flash message: Django's default storage keeps it in a cookie until shown.
    shown = client.get(created["Location"])
    flashed = [str(m) for m in shown.context["messages"]]
    assert "The client was added." in flashed
    for message in flashed:
        for secret in ("Zelda", "Zwanzig", "1234567", ana.first_name, ana.last_name):
            assert secret not in message
    assert_no_phi_in_addresses(client.get(created["Location"]), new)


# --- The access log -------------------------------------------------------------------------------


def test_the_client_page_writes_one_view_row(sign_in, clinician, ana):
    sign_in(clinician).get(f"/clients/{ana.pk}/")
    [event] = page_events()
    assert (event.action, event.outcome) == ("view", "success")
    assert (event.object_type, event.object_id) == ("client", str(ana.pk))
    assert event.clinic == ana.clinic and event.user == clinician


def test_opening_the_edit_form_is_a_view_and_saving_is_an_edit(sign_in, clinician, ana):
    client = sign_in(clinician)
    client.get(f"/clients/{ana.pk}/edit/")
    client.post(f"/clients/{ana.pk}/edit/", edit_data(ana, first_name="Anna"))
    rows = [(e.action, e.outcome, e.object_type, e.object_id) for e in page_events()]
    assert rows == [
        ("view", "success", "client", str(ana.pk)),
        ("edit", "success", "client", str(ana.pk)),
    ]


def test_a_refused_or_conflicting_edit_writes_one_failure_row(sign_in, clinician, ana):
    client = sign_in(clinician)
    client.post(f"/clients/{ana.pk}/edit/", edit_data(ana, first_name=""))
    services.update_client(client=ana, data={"first_name": "X"}, version=1, by=clinician)
    client.post(f"/clients/{ana.pk}/edit/", edit_data(ana, version=1, first_name="Y"))
    rows = [(e.action, e.outcome, e.object_id) for e in page_events()]
    assert rows == [("edit", "failure", str(ana.pk)), ("edit", "failure", str(ana.pk))]


def test_creating_writes_one_create_row(sign_in, clinician):
    client = sign_in(clinician)
    client.get("/clients/new/")  # a blank form touches no record
    client.post("/clients/new/", new_client_data())
    created = Client.objects.get()
    [event] = page_events()
    assert (event.action, event.outcome) == ("create", "success")
    assert (event.object_type, event.object_id) == ("client", str(created.pk))
    assert event.clinic == created.clinic


def test_a_refused_create_writes_one_failure_row(sign_in, clinician):
    sign_in(clinician).post("/clients/new/", new_client_data(record_number="12"))
    [event] = page_events()
    assert (event.action, event.outcome, event.object_id) == ("create", "failure", "")


@pytest.mark.parametrize(
    "do",
    [
        lambda c: c.get("/clients/"),
        lambda c: c.post("/clients/find/", {"q": "anabella"}),
        lambda c: c.post("/clients/find/", {"q": ""}),
    ],
)
def test_the_list_and_the_search_write_one_view_row_naming_no_client(sign_in, clinician, ana, do):
    response = do(sign_in(clinician))
    [event] = page_events()
    assert event.action == "view"
    assert (event.object_type, event.object_id) == ("client", "")
    assert event.outcome == ("success" if response.status_code == 200 else "failure")
    assert "anabella" not in (event.reason + event.object_id).lower()


def test_a_denied_page_writes_only_the_denied_row(sign_in, supervisor, ana):
    response = sign_in(supervisor).post(f"/clients/{ana.pk}/edit/", edit_data(ana))
    assert response.status_code == 403
    [event] = page_events()
    assert (event.action, event.outcome) == ("denied", "denied")
    assert "clients.change_client" in event.reason


# --- Query counts ---------------------------------------------------------------------------------


def test_the_list_runs_a_fixed_number_of_queries(sign_in, clinician, clinic, count_queries):
    client = sign_in(clinician)
    ClientFactory(clinic=clinic, created_by=clinician)
    few = count_queries(client, "/clients/?show=all")
    for _ in range(59):
        ClientFactory(clinic=clinic, created_by=clinician)
    # session, user (with the clinic), OTP device (the permission set is the session's); the
    # page of clients with their primary clinicians; the page's draft
    # referrals ("Continue the referral"); the access-log row. No count: the list is paged by
    # keyset (core/pagination.py).
    assert count_queries(client, "/clients/?show=all") == few == 6
    assert count_queries(client, "/clients/") == 6  # "my clients"
    # A later page adds one query: the sort values of the client it starts after.
    page = client.get("/clients/?show=all").context["page"]
    assert count_queries(client, "/clients/" + page.next_url) == 7
    second = client.get("/clients/" + page.next_url).context["page"]
    assert count_queries(client, "/clients/" + second.previous_url) == 7


def _history(client_record, count, clinician, groups):
    for n in range(count):
        referral = ReferralFactory(
            screening__client=client_record,
            screening__screened_by=clinician,
            screening__screened_at=timezone.now() - timezone.timedelta(days=n),
            status="referred",  # groups are chosen below; a client has one draft at most
        )
        for rank, group in enumerate(groups):
            ReferredGroupFactory(
                referral=referral,
                group=group,
                suggested_rank=rank,
                chosen_at=timezone.now(),
                chosen_by=clinician,
            )


def test_the_client_page_runs_a_fixed_number_of_queries(sign_in, clinician, clinic, count_queries):
    groups = [GroupFactory(), GroupFactory()]
    one = ClientFactory(clinic=clinic, created_by=clinician)
    many = ClientFactory(clinic=clinic, created_by=clinician)
    _history(one, 1, clinician, groups)
    _history(many, 30, clinician, groups)  # 30 screenings and 30 referrals, 60 chosen groups
    client = sign_in(clinician)
    # session, user (with the clinic), OTP device (the permission set is the session's); the
    # client with the primary clinician, the creator and the two counts;
    # the latest screenings with who screened; the latest referrals with the clinician;
    # their chosen groups with the listings; feedback with its flags, counted in the same
    # query (1); attendance: the groups' counts and the referral dates, both with the groups'
    # weekdays, and the latest dates (3); the access-log row.
    assert count_queries(client, f"/clients/{one.pk}/") == 12
    assert count_queries(client, f"/clients/{many.pk}/") == 12
    html = client.get(f"/clients/{many.pk}/").content.decode()
    assert "The latest 25 of 30 screenings" in html


# --- Bad input never a 500 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"record_number": "x" * 5000},
        {"first_name": "x" * 500},
        {"first_name": "\x00"},
        {"preferred_language": ["es", "fa"]},
        {"primary_clinician": "-1"},
        {"primary_clinician": "1.5"},
        {"needs_interpreter": "maybe"},
        {"preferred_language": "other", "preferred_language_other": "x" * 500},
    ],
)
def test_bad_create_input_is_never_a_500(sign_in, clinician, data):
    response = sign_in(clinician).post("/clients/new/", new_client_data(**data) if data else {})
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert not Client.objects.exists()


@pytest.mark.parametrize(
    "path",
    ["/clients/0/", "/clients/99999999999999999999/", "/clients/99999999999999999999/edit/"],
)
def test_impossible_ids_are_not_found(sign_in, clinician, path):
    assert sign_in(clinician).get(path).status_code == 404


# --- Markup: strict CSP and accessibility basics ------------------------------------------------


def test_the_pages_have_no_inline_code_and_one_main_heading(sign_in, clinician, ana):
    ScreeningFactory(client=ana)
    client = sign_in(clinician)
    responses = [
        client.get("/clients/"),
        client.get(f"/clients/{ana.pk}/"),
        client.get(f"/clients/{ana.pk}/edit/"),
        client.get("/clients/new/"),
        client.post("/clients/find/", {"q": "anab"}),
        client.post("/clients/new/", new_client_data(record_number="1")),
    ]
    for response in responses:
        html = response.content.decode()
        assert "no-store" in response["Cache-Control"]
        assert "<style" not in html and not re.search(r"\sstyle=", html)
        assert not re.search(r"\son[a-z]+=", html), "inline event handler"
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag and "nonce=" in tag, tag
        assert len(re.findall(r"<h1\b", html)) == 1
        # Every visible form control has a label.
        controls = re.findall(r"<(?:input|select|textarea)\b[^>]*>", html)
        for tag in controls:
            found_id = re.search(r'\bid="([^"]+)"', tag)
            if 'type="hidden"' not in tag and found_id:
                assert f'for="{found_id.group(1)}"' in html, tag


@pytest.fixture
def accented(clinic, clinician):
    people = [("María", "García"), ("José", "Ramírez"), ("Iñaki", "Núñez"), ("Mario", "Garza")]
    return [
        ClientFactory(
            clinic=clinic,
            created_by=clinician,
            first_name=first,
            last_name=last,
            record_number=f"77700{n}1",
        )
        for n, (first, last) in enumerate(people)
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Garcia", {"María García"}),
        ("maria", {"María García"}),
        ("MARÍA garcía", {"María García"}),
        ("Ramirez", {"José Ramírez"}),
        ("jose", {"José Ramírez"}),
        ("nunez", {"Iñaki Núñez"}),
        ("Iñaki", {"Iñaki Núñez"}),
        ("gar", {"María García", "Mario Garza"}),
        ("mari", {"María García", "Mario Garza"}),
    ],
)
def test_find_ignores_accents_and_case(sign_in, clinician, accented, query, expected):
    """Typed without the accents, or in capitals, a name still finds its client: not found,
    the client would be added a second time."""
    response = sign_in(clinician).post("/clients/find/", {"q": query})
    assert response.status_code == 200
    assert {f"{c.first_name} {c.last_name}" for c in found(response)} == expected
