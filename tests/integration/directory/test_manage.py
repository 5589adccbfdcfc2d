"""The site admins' pages for keeping the annotated referral list current (policy VII.D).

Who may use each page; creating, editing, archiving and verifying listings; their contacts and
meetings; criteria II.A–H; the history with who changed what; review flags; the referral
resources of VIII.D–E; bad input of every kind (a clear message, a 400, nothing saved); two
admins editing one listing (the second save refused with 409, nothing either typed lost);
and query counts that do not grow with 500 listings.
"""

import datetime as dt
from html.parser import HTMLParser

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AccessEvent, Role
from directory.models import (
    Contact,
    CriterionConfirmation,
    Format,
    Group,
    Language,
    Meeting,
    ReferralResource,
    ResourcePhone,
    ReviewFlag,
    ServiceArea,
)
from directory.services import listings as services
from tests.factories.accounts import UserFactory
from tests.factories.directory import (
    CategoryFactory,
    ContactFactory,
    GroupFactory,
    MeetingFactory,
    NeedFactory,
    ReferralResourceFactory,
    ResourcePhoneFactory,
    ServiceAreaFactory,
)

PEOPLE = ["clinician", "supervisor", "site_admin", "outsider", "no_role_user", "superuser"]
ALLOWED = {"site_admin", "superuser"}


# --- Helpers --------------------------------------------------------------------------------------


class _FormParser(HTMLParser):
    """What a browser would send from the form with the given class (or the first post form)."""

    def __init__(self, form_class):
        super().__init__()
        self.form_class = form_class
        self.inside = False
        self.done = False
        self.fields: list[tuple[str, str]] = []
        self.select = None
        self.select_values: list[str] = []
        self.first_option = None
        self.textarea = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and not self.done:
            classes = (a.get("class") or "").split()
            if self.form_class in classes:
                self.inside = True
            return
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "reset"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value", "on")))
                return
            self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self.select, self.select_values, self.first_option = name, [], None
            self.multiple = "multiple" in a
        elif tag == "option" and self.select:
            value = a.get("value", "")
            if self.first_option is None:
                self.first_option = value
            if "selected" in a:
                self.select_values.append(value)
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside, self.done = False, True
        elif tag == "select" and self.select:
            values = self.select_values
            if not values and not self.multiple and self.first_option is not None:
                values = [self.first_option]
            self.fields += [(self.select, v) for v in values]
            self.select = None
        elif tag == "textarea" and self.textarea:
            text = self.text[1:] if self.text.startswith("\n") else self.text
            self.fields.append((self.textarea, text))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.text += data


def form_data(response, form_class="listing-form") -> dict[str, list[str]]:
    """The named form's fields as a browser would post them (lists, for repeated names)."""
    parser = _FormParser(form_class)
    parser.feed(response.content.decode())
    assert parser.done, f"no form with class {form_class}"
    data: dict[str, list[str]] = {}
    for name, value in parser.fields:
        data.setdefault(name, []).append(value)
    return data


def snapshot():
    """Row counts and latest ids of every directory table and its history."""
    models = [
        Group,
        Contact,
        Meeting,
        CriterionConfirmation,
        ReviewFlag,
        ReferralResource,
        ResourcePhone,
    ]
    state = {}
    for model in models:
        state[model.__name__] = (model.objects.count(), list(model.objects.values()))
        history = model.history.model.objects
        state[f"history {model.__name__}"] = history.count()
    return state


@pytest.fixture
def group(db, site_admin):
    """A listing with a phone and a meeting, created as a site admin would."""
    category = CategoryFactory(slug="twelve-step-mh", name="Twelve-step groups")
    need = NeedFactory(slug="depression", name="Depression")
    listing = services.create_group(
        values={
            "name": "Depression Anonymous",
            "description": "A twelve-step group for people with depression.",
            "format": Format.TWELVE_STEP_MH,
            "is_twelve_step": True,
            "categories": [category],
            "needs": [need],
        },
        contacts=[
            services.RowEdit(
                pk=None,
                values={"kind": Contact.Kind.PHONE, "phone": "+13103058878", "area_label": ""},
            )
        ],
        meetings=[
            services.RowEdit(
                pk=None,
                values={
                    "weekday": Meeting.Weekday.MONDAY,
                    "start_time": dt.time(19, 0),
                    "end_time": dt.time(20, 30),
                    "address": "123 Main St, Los Angeles, CA 90012",
                    "type_codes": ["O"],
                },
            )
        ],
        by=site_admin,
    )
    return listing


@pytest.fixture
def flag(group, site_admin):
    return services.raise_flag(group=group, by=site_admin, summary="Number may have changed")


@pytest.fixture
def resource(db):
    share = ReferralResourceFactory(
        key="share", name="SHARE! the Self-Help And Recovery Exchange", hours=""
    )
    ResourcePhoneFactory(
        resource=share, phone="+18777427349", label="Toll free", as_printed="1-877-SHARE-49"
    )
    return share


@pytest.fixture
def other_admin(clinic):
    return UserFactory(
        username="secondadmin", first_name="Sam", last_name="Second", roles=[Role.SITE_ADMIN]
    )


def pages(group, flag, resource):
    return {
        "worklist": "/directory/manage/",
        "create": "/directory/new/",
        "edit": f"/directory/{group.slug}/edit/",
        "criteria": f"/directory/{group.slug}/criteria/",
        "history": f"/directory/{group.slug}/history/",
        "flag-create": f"/directory/{group.slug}/flags/new/",
        "flag-resolve": f"/directory/flags/{flag.pk}/resolve/",
        "resources": "/directory/resources/",
        "resource-edit": f"/directory/resources/{resource.key}/edit/",
        "resource-flag-create": f"/directory/resources/{resource.key}/flags/new/",
    }


POST_ONLY = ["verify", "archive", "unarchive"]


# --- Who may use each page ----------------------------------------------------------------------


PAGE_NAMES = [
    "worklist",
    "create",
    "edit",
    "criteria",
    "history",
    "flag-create",
    "flag-resolve",
    "resources",
    "resource-edit",
    "resource-flag-create",
]


@pytest.mark.parametrize("page", PAGE_NAMES)
@pytest.mark.parametrize("person", PEOPLE)
def test_permission_per_role(request, sign_in, group, flag, resource, page, person):
    user = request.getfixturevalue(person)
    response = sign_in(user).get(pages(group, flag, resource)[page])
    if person in ALLOWED:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert b"do not have access" in response.content
        assert AccessEvent.objects.filter(action=AccessEvent.Action.DENIED, user=user).exists()


@pytest.mark.parametrize("action", POST_ONLY)
@pytest.mark.parametrize("person", PEOPLE)
def test_permission_per_role_for_buttons(request, sign_in, group, action, person):
    user = request.getfixturevalue(person)
    before = Group.objects.get(pk=group.pk)
    response = sign_in(user).post(f"/directory/{group.slug}/{action}/")
    if person in ALLOWED:
        assert response.status_code == 302
    else:
        assert response.status_code == 403
        after = Group.objects.get(pk=group.pk)
        assert (after.last_verified_on, after.archived_at) == (
            before.last_verified_on,
            before.archived_at,
        )


@pytest.mark.parametrize("action", POST_ONLY)
def test_buttons_refuse_get(sign_in, site_admin, group, action):
    response = sign_in(site_admin).get(f"/directory/{group.slug}/{action}/")
    assert response.status_code == 405
    assert Group.objects.get(pk=group.pk).last_verified_on is None


def test_anonymous_is_sent_to_sign_in(client, group, flag, resource):
    paths = [*pages(group, flag, resource).values()]
    paths += [f"/directory/{group.slug}/{action}/" for action in POST_ONLY]
    for path in paths:
        for method in (client.get, client.post):
            response = method(path)
            assert response.status_code == 302, path
            assert response["Location"].startswith("/account/sign-in/")


def test_unknown_listing_is_404(sign_in, site_admin, db):
    client = sign_in(site_admin)
    for suffix in ("edit", "criteria", "history", "flags/new"):
        assert client.get(f"/directory/no-such-group/{suffix}/").status_code == 404
    assert client.post("/directory/no-such-group/verify/").status_code == 404
    assert client.get("/directory/flags/999999/resolve/").status_code == 404


def test_get_never_changes_the_database(sign_in, site_admin, group, flag, resource):
    client = sign_in(site_admin)
    before = snapshot()
    for path in pages(group, flag, resource).values():
        assert client.get(path).status_code == 200
    for action in POST_ONLY:
        assert client.get(f"/directory/{group.slug}/{action}/").status_code == 405
    assert snapshot() == before


def test_the_site_admin_home_links_the_worklist(sign_in, site_admin):
    html = sign_in(site_admin).get("/site-admin/").content.decode()
    assert 'href="/directory/manage/"' in html
    assert 'href="/directory/new/"' in html
    assert 'href="/directory/resources/"' in html


# --- Create, edit, archive ----------------------------------------------------------------------


def _filled_new_listing(data, category, need):
    data.update(
        {
            "name": ["Emotions Anonymous"],
            "aliases": ["EA\nEmotions Anon"],
            "description": ["Twelve steps for emotional health."],
            "format": [Format.TWELVE_STEP_MH],
            "is_twelve_step": ["on"],
            "categories": [str(category.pk)],
            "needs": [str(need.pk)],
            "status": [Group.Status.ACTIVE],
            "medication_stance": [Group.MedicationStance.AFFIRMING],
            "etiquette_note": ["Share from your own experience; no cross talk."],
            "contacts-0-kind": [Contact.Kind.PHONE],
            "contacts-0-phone": ["(818) 377-4341"],
            "contacts-0-extension": ["12"],
            "contacts-0-area_label": ["San Fernando Valley/Santa Clarita/West LA"],
            "contacts-0-person_first_name": ["Chris"],
            "meetings-0-weekday": [str(Meeting.Weekday.WEDNESDAY)],
            "meetings-0-start_time": ["19:30"],
            "meetings-0-end_time": ["21:00"],
            "meetings-0-online_url": ["https://example.org/ea-meeting"],
            "meetings-0-type_codes": ["o, onl"],
        }
    )
    return data


def test_create_a_listing_with_a_contact_and_a_meeting(sign_in, site_admin, db):
    category = CategoryFactory(slug="twelve-step-mh", name="Twelve-step groups")
    need = NeedFactory(slug="depression", name="Depression")
    client = sign_in(site_admin)
    data = _filled_new_listing(form_data(client.get("/directory/new/")), category, need)
    response = client.post("/directory/new/", data)
    assert response.status_code == 302
    group = Group.objects.get(name="Emotions Anonymous")
    assert response["Location"] == f"/directory/{group.slug}/edit/"
    assert group.aliases == ["EA", "Emotions Anon"]
    assert group.medication_stance == Group.MedicationStance.AFFIRMING  # VI.C
    assert group.last_verified_on is None and group.version == 1
    assert list(group.categories.all()) == [category] and list(group.needs.all()) == [need]
    contact = group.contacts.get()
    assert str(contact.phone) == "+18183774341" and contact.extension == "12"  # E.164
    assert contact.person_first_name == "Chris"
    meeting = group.meetings.get()
    assert meeting.type_codes == ["O", "ONL"]
    assert meeting.start_time == dt.time(19, 30) and meeting.end_time == dt.time(21, 0)
    # One history record each, by the admin, with the many-to-many values in it.
    record = group.history.get()
    assert record.history_type == "+" and record.history_user == site_admin
    assert list(record.categories.values_list("category_id", flat=True)) == [category.pk]
    assert contact.history.get().history_user == site_admin
    assert meeting.history.get().history_user == site_admin


def test_a_listing_named_like_a_page_gets_another_address(site_admin, db):
    category = CategoryFactory()
    values = {"name": "New", "format": Format.OTHER_MH, "categories": [category]}
    group = services.create_group(values=values, by=site_admin)
    assert group.slug == "new-2"
    again = services.create_group(values={**values, "name": "New!"}, by=site_admin)
    assert again.slug == "new-3"


# --- A double-clicked button does its work once (design notes, section 5) -------------------------


def test_a_double_clicked_add_creates_one_listing(sign_in, site_admin, db):
    category, need = CategoryFactory(), NeedFactory()
    client = sign_in(site_admin)
    data = _filled_new_listing(form_data(client.get("/directory/new/")), category, need)
    first = client.post("/directory/new/", data)
    second = client.post("/directory/new/", data)
    group = Group.objects.get()
    assert first["Location"] == second["Location"] == f"/directory/{group.slug}/edit/"
    assert group.contacts.count() == 1 and group.meetings.count() == 1


def test_a_listing_needs_a_name_of_its_own(sign_in, site_admin, other_admin, group):
    client = sign_in(other_admin)
    data = _filled_new_listing(
        form_data(client.get("/directory/new/")), CategoryFactory(), NeedFactory()
    )
    data["name"] = ["depression anonymous"]
    response = client.post("/directory/new/", data)
    assert response.status_code == 400
    assert "A listing named “Depression Anonymous” exists already" in response.text
    assert Group.objects.count() == 1
    # Nor can another listing be renamed to it.
    other = services.create_group(
        values={"name": "Other", "format": Format.OTHER_MH, "categories": [CategoryFactory()]},
        by=site_admin,
    )
    data = form_data(client.get(f"/directory/{other.slug}/edit/"))
    data["name"] = ["Depression Anonymous"]
    response = client.post(f"/directory/{other.slug}/edit/", data)
    assert response.status_code == 400 and "exists already" in response.text


def test_a_double_clicked_save_saves_once(sign_in, site_admin, group):
    client = sign_in(site_admin)
    edit = f"/directory/{group.slug}/edit/"
    data = form_data(client.get(edit))
    data["fees_note"] = ["Free."]
    data["contacts-1-kind"] = [Contact.Kind.EMAIL]
    data["contacts-1-email"] = ["info@example.org"]
    assert client.post(edit, data).status_code == 302
    second = client.post(edit, data)  # the same form, at the version it was loaded at
    assert second.status_code == 302 and second["Location"] == edit
    group.refresh_from_db()
    assert group.version == 2 and group.history.count() == 2
    assert group.contacts.filter(email="info@example.org").count() == 1


def test_a_double_clicked_flag_and_resolution(sign_in, site_admin, group):
    client = sign_in(site_admin)
    for _ in range(2):
        response = client.post(f"/directory/{group.slug}/flags/new/", {"summary": "A doubt"})
        assert response.status_code == 302
    flag = ReviewFlag.objects.get()
    for _ in range(2):
        response = client.post(
            f"/directory/flags/{flag.pk}/resolve/", {"resolution_note": "Checked."}
        )
        assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.resolution_note == "Checked." and flag.history.count() == 2


def test_edit_a_listing(sign_in, site_admin, group):
    client = sign_in(site_admin)
    data = form_data(client.get(f"/directory/{group.slug}/edit/"))
    anxiety = NeedFactory(slug="anxiety", name="Anxiety")
    data["name"] = ["Depression Anonymous (Los Angeles)"]
    data["needs"] = [*data["needs"], str(anxiety.pk)]
    data["fees_note"] = ["None; a basket is passed."]
    response = client.post(f"/directory/{group.slug}/edit/", data)
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.name == "Depression Anonymous (Los Angeles)"
    assert group.fees_note == "None; a basket is passed."
    assert {n.slug for n in group.needs.all()} == {"depression", "anxiety"}
    assert group.version == 2
    # Untouched contacts and meetings were not rewritten.
    assert group.contacts.get().history.count() == 1
    assert group.meetings.get().history.count() == 1
    latest = group.history.first()
    assert latest.history_user == site_admin and latest.history_type == "~"
    assert group.history.count() == 2  # one record for the edit, many-to-many included


def test_edit_contacts_and_meetings_on_the_listing_page(sign_in, site_admin, group):
    client = sign_in(site_admin)
    data = form_data(client.get(f"/directory/{group.slug}/edit/"))
    contact, meeting = group.contacts.get(), group.meetings.get()
    data["contacts-0-extension"] = ["223"]
    data["meetings-0-DELETE"] = ["on"]
    data["contacts-1-kind"] = [Contact.Kind.EMAIL]
    data["contacts-1-email"] = ["info@example.org"]
    assert client.post(f"/directory/{group.slug}/edit/", data).status_code == 302
    contact.refresh_from_db()
    assert contact.extension == "223"
    assert not Meeting.objects.filter(pk=meeting.pk).exists()
    removed = Meeting.history.filter(id=meeting.pk).first()
    assert removed.history_type == "-" and removed.history_user == site_admin  # kept in history
    assert group.contacts.filter(kind=Contact.Kind.EMAIL, email="info@example.org").exists()


def test_archive_and_unarchive(sign_in, site_admin, clinician, group):
    admin = sign_in(site_admin)
    response = admin.post(f"/directory/{group.slug}/archive/")
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.archived_at is not None
    assert not Group.objects.current().filter(pk=group.pk).exists()
    assert Group.objects.filter(pk=group.pk).exists()  # archived, never deleted
    assert group.history.first().history_user == site_admin
    assert "Bring back into the search" in admin.get(f"/directory/{group.slug}/edit/").text

    response = admin.post(f"/directory/{group.slug}/unarchive/")
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.archived_at is None
    assert Group.objects.current().filter(pk=group.pk).exists()


def test_there_is_no_way_to_delete_a_listing(sign_in, site_admin, group):
    client = sign_in(site_admin)
    for path in (f"/directory/{group.slug}/delete/", f"/directory/{group.slug}/"):
        client.post(path)
    assert Group.objects.filter(pk=group.pk).exists()


# --- Verification and the worklist --------------------------------------------------------------


def test_verify_records_who_and_the_county_date_and_leaves_the_stale_list(
    sign_in, site_admin, group
):
    client = sign_in(site_admin)
    stale = client.get("/directory/manage/").context["work"].stale
    assert group in stale.object_list
    # 10 p.m. in Los Angeles on January 1 is already January 2 in UTC.
    with time_machine.travel(dt.datetime(2026, 1, 2, 6, 0, tzinfo=dt.UTC), tick=False):
        response = client.post(f"/directory/{group.slug}/verify/", {"next": "/directory/manage/"})
    assert response.status_code == 302 and response["Location"] == "/directory/manage/"
    group.refresh_from_db()
    assert group.last_verified_on == dt.date(2026, 1, 1)
    assert group.last_verified_by == site_admin
    assert group.history.first().history_user == site_admin
    with time_machine.travel(dt.datetime(2026, 1, 2, 6, 0, tzinfo=dt.UTC), tick=False):
        work = client.get("/directory/manage/").context["work"]
    assert group not in work.stale.object_list and work.stale.paginator.count == 0


def test_verify_ignores_a_next_address_on_another_site(sign_in, site_admin, group):
    response = sign_in(site_admin).post(
        f"/directory/{group.slug}/verify/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == f"/directory/{group.slug}/edit/"


def test_seeded_listings_start_stale(sign_in, site_admin, db):
    seeded = GroupFactory(name="Recovery International", last_verified_on=dt.date(2008, 11, 7))
    recent = GroupFactory(name="Checked", last_verified_on=timezone.localdate())
    work = sign_in(site_admin).get("/directory/manage/").context["work"]
    assert seeded in work.stale.object_list and recent not in work.stale.object_list


def test_worklist_lists_open_flags_and_unreachable_listings(sign_in, site_admin, group, flag):
    unreachable = GroupFactory(name="Bereavement groups")
    ContactFactory(group=GroupFactory(name="Reachable by phone"))
    MeetingFactory(group=GroupFactory(name="Reachable at a meeting"))
    resolved = services.raise_flag(group=group, by=site_admin, summary="Old doubt")
    services.resolve_flag(flag=resolved, note="Checked.", by=site_admin)
    work = sign_in(site_admin).get("/directory/manage/").context["work"]
    assert list(work.flags.object_list) == [flag]
    assert list(work.unreachable.object_list) == [unreachable]


# --- Criteria II.A–H -----------------------------------------------------------------------------


def _criteria(**given):
    """A criteria form's data: every criterion "not confirmed" but those given."""
    data = {f"criterion_II_{letter}": "not_confirmed" for letter in "ABCDEFGH"}
    data.update({f"criterion_II_{letter}": status for letter, status in given.items()})
    return data


def test_criteria_tri_state_records_who_and_when(sign_in, site_admin, other_admin, group):
    # II.A–H: meets / does not meet / not confirmed, each with who and when.
    client = sign_in(site_admin)
    response = client.post(
        f"/directory/{group.slug}/criteria/", _criteria(A="meets", C="does_not_meet")
    )
    assert response.status_code == 302
    rows = {row.criterion: row for row in group.criteria.all()}
    assert set(rows) == {"II.A", "II.C"}
    assert rows["II.A"].status == "meets" and rows["II.C"].status == "does_not_meet"
    assert all(r.confirmed_by == site_admin and r.confirmed_at for r in rows.values())
    html = client.get(f"/directory/{group.slug}/criteria/").text
    assert "Meets: recorded by" in html and "Does not meet: recorded by" in html

    # II.A back to "not confirmed" by another admin: recorded as theirs; II.C keeps its record.
    second = sign_in(other_admin)
    second.post(f"/directory/{group.slug}/criteria/", _criteria(C="does_not_meet"))
    rows = {row.criterion: row for row in group.criteria.all()}
    assert rows["II.A"].status == "not_confirmed" and rows["II.A"].confirmed_by == other_admin
    assert rows["II.C"].status == "does_not_meet" and rows["II.C"].confirmed_by == site_admin
    assert rows["II.A"].history.count() == 2


def test_criteria_bad_status_is_refused_and_nothing_saved(sign_in, site_admin, group):
    data = _criteria(A="meets")
    data["criterion_II_B"] = "maybe"
    response = sign_in(site_admin).post(f"/directory/{group.slug}/criteria/", data)
    assert response.status_code == 400
    assert "Choose meets, does not meet or not confirmed." in response.text
    assert not group.criteria.exists()


# --- History -------------------------------------------------------------------------------------


def test_history_shows_what_changed_and_who(sign_in, site_admin, other_admin, group):
    anxiety = NeedFactory(slug="anxiety", name="Anxiety")
    contact = group.contacts.get()
    services.update_group(
        group=group,
        version=group.version,
        values={"name": "Depression Anonymous LA", "needs": [anxiety]},
        contacts=[services.RowEdit(pk=contact.pk, delete=True)],
        by=other_admin,
    )
    services.verify_group(group=group, by=site_admin, on=dt.date(2026, 3, 4))
    response = sign_in(site_admin).get(f"/directory/{group.slug}/history/")
    entries = response.context["entries"]
    changes = {(e.who, c.field, c.old, c.new) for e in entries for c in e.changes}
    assert ("Sam Second", "Name", "Depression Anonymous", "Depression Anonymous LA") in changes
    assert ("Sam Second", "Helps with", "Depression", "Anxiety") in changes
    admin_name = site_admin.get_full_name()
    assert (admin_name, "Last verified on", "—", "March 4, 2026") in changes
    assert any(
        e.action == "Removed" and e.subject == "Contact: (310) 305-8878" and e.who == "Sam Second"
        for e in entries
    )
    html = response.text
    assert "Depression Anonymous LA" in html and "Sam Second" in html


def test_history_is_paginated(sign_in, site_admin, group):
    for n in range(30):
        group = services.update_group(
            group=group, version=group.version, values={"fees_note": f"Fee {n}"}, by=site_admin
        )
    client = sign_in(site_admin)
    first = client.get(f"/directory/{group.slug}/history/")
    assert len(first.context["entries"]) == 25
    assert first.context["page"].paginator.count == 30 + 3  # the edits, and three creations
    last = client.get(f"/directory/{group.slug}/history/?page=2")
    assert len(last.context["entries"]) == 8
    assert last.context["entries"][-1].action == "Created"
    assert client.get(f"/directory/{group.slug}/history/?page=nonsense").status_code == 200


# --- Review flags --------------------------------------------------------------------------------


def test_raise_and_resolve_a_review_flag(sign_in, site_admin, other_admin, group):
    client = sign_in(site_admin)
    response = client.post(
        f"/directory/{group.slug}/flags/new/",
        {
            "summary": "Members said to stop medication",
            "detail": "From a client's feedback.",
            "concerns_medication": "on",
        },
    )
    assert response.status_code == 302
    flag = ReviewFlag.objects.get()
    assert flag.group == group and flag.source == ReviewFlag.Source.ADMIN
    assert flag.opened_by == site_admin and flag.concerns_medication and flag.is_open
    assert flag in client.get("/directory/manage/").context["work"].flags.object_list

    second = sign_in(other_admin)
    response = second.post(
        f"/directory/flags/{flag.pk}/resolve/",
        # VI.C: a medication concern is resolved with what was found.
        {"outcome": "unfounded", "resolution_note": "Called the group: not so."},
    )
    assert response.status_code == 302 and response["Location"] == "/directory/manage/"
    flag.refresh_from_db()
    assert flag.resolved_by == other_admin and flag.resolved_at is not None
    assert flag.resolution_note == "Called the group: not so." and flag.outcome == "unfounded"
    assert flag.history.first().history_user == other_admin
    assert not second.get("/directory/manage/").context["work"].flags.object_list

    # Resolving it again is refused, and says who resolved it.
    response = client.post(
        f"/directory/flags/{flag.pk}/resolve/",
        {"outcome": "unfounded", "resolution_note": "Me too."},
    )
    assert response.status_code == 409
    assert "Called the group: not so." in response.text and "Sam Second" in response.text
    flag.refresh_from_db()
    assert flag.resolution_note == "Called the group: not so."


def test_a_flag_on_a_resource(sign_in, site_admin, resource):
    client = sign_in(site_admin)
    response = client.post(
        f"/directory/resources/{resource.key}/flags/new/", {"summary": "Hours may have changed"}
    )
    assert response.status_code == 302
    flag = ReviewFlag.objects.get()
    assert flag.resource == resource and flag.group is None
    work = client.get("/directory/manage/").context["work"]
    assert list(work.flags.object_list) == [flag]
    assert "1 open flag" in client.get("/directory/resources/").text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"summary": ""}, "This field is required."),
        ({"summary": "x" * 301}, "at most 300 characters"),
    ],
)
def test_a_flag_needs_a_summary(sign_in, site_admin, group, data, message):
    response = sign_in(site_admin).post(f"/directory/{group.slug}/flags/new/", data)
    assert response.status_code == 400 and message in response.text
    assert not ReviewFlag.objects.exists()


def test_resolving_needs_a_note(sign_in, site_admin, flag):
    response = sign_in(site_admin).post(
        f"/directory/flags/{flag.pk}/resolve/", {"resolution_note": "   "}
    )
    assert response.status_code == 400
    assert "Say how the flag was resolved" in response.text
    flag.refresh_from_db()
    assert flag.is_open and flag.history.count() == 1


# --- Referral resources (VIII.D–E) ---------------------------------------------------------------


def test_edit_a_resource_and_its_phones(sign_in, site_admin, resource):
    client = sign_in(site_admin)
    data = form_data(client.get(f"/directory/resources/{resource.key}/edit/"), "resource-form")
    data.update(
        {
            "hours": ["Weekdays 9 a.m.–5 p.m."],
            "needs_confirmation": ["on"],
            "confirmation_note": ["Two numbers are printed; call both."],
            "phones-1-phone": ["(213) 637-2370"],
            "phones-1-label": ["Office"],
            "phones-1-source": ["VIII.E"],
        }
    )
    response = client.post(f"/directory/resources/{resource.key}/edit/", data)
    assert response.status_code == 302
    resource.refresh_from_db()
    assert resource.hours == "Weekdays 9 a.m.–5 p.m."
    assert resource.needs_confirmation and "call both" in resource.confirmation_note
    assert [str(p.phone) for p in resource.phones.all()] == ["+18777427349", "+12136372370"]
    assert resource.history.first().history_user == site_admin
    assert "Two numbers are printed" in client.get("/directory/resources/").text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"phones-0-phone": ["555-12"]}, "Enter a valid phone number"),
        ({"phones-0-extension": ["12a"]}, "Digits only"),
        ({"needs_confirmation": ["on"], "confirmation_note": [""]}, "Say what needs confirming"),
        ({"opens_at": ["18:00"], "closes_at": [""]}, "Give both the opening and the closing"),
        ({"opens_at": ["6 pm"]}, "Enter a valid time"),
    ],
)
def test_bad_resource_input(sign_in, site_admin, resource, change, message):
    client = sign_in(site_admin)
    data = form_data(client.get(f"/directory/resources/{resource.key}/edit/"), "resource-form")
    data.update(change)
    data["hours"] = ["Changed"]
    before = snapshot()
    response = client.post(f"/directory/resources/{resource.key}/edit/", data)
    assert response.status_code == 400
    assert message in response.text
    assert snapshot() == before


# --- Bad input: a clear message beside the field, a 400, nothing saved (item 7) -------------------


BAD_ROWS = [
    pytest.param("contacts-0-phone", "555-12", "Enter a valid phone number", id="malformed-phone"),
    pytest.param("contacts-0-phone", "call Bob", "Enter a valid phone number", id="words-phone"),
    pytest.param("contacts-0-extension", "22a", "Digits only", id="extension-with-letters"),
    pytest.param(
        "contacts-0-person_first_name",
        "Chris Jones",
        "First name only",
        id="two-word-first-name",  # VIII.C
    ),
    pytest.param("contacts-0-email", "someone@example.org", "put an email", id="email-on-phone"),
    pytest.param("meetings-0-end_time", "18:00", "must end after it starts", id="ends-first"),
    pytest.param("meetings-0-end_time", "19:00", "must end after it starts", id="ends-at-start"),
    pytest.param("meetings-0-start_time", "7pm", "Enter a valid time", id="malformed-time"),
    pytest.param("meetings-0-address", "", "Give an address, an online link", id="no-place"),
    pytest.param("meetings-0-type_codes", "O, XYZ", "Unknown meeting type code", id="bad-type"),
    pytest.param("meetings-0-online_url", "not a url", "Enter a valid URL", id="bad-link"),
    pytest.param("name", "", "This field is required", id="no-name"),
    pytest.param("categories", None, "Choose at least one heading", id="no-heading"),
    pytest.param("format", "III.Z", "Select a valid choice", id="bad-format"),
    pytest.param("contacts-TOTAL_FORMS", "x", "ManagementForm data is missing", id="tampered"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD_ROWS)
def test_bad_input_saves_nothing(sign_in, site_admin, group, name, value, message):
    """A valid change to the listing beside one bad field: the whole edit is refused."""
    client = sign_in(site_admin)
    data = form_data(client.get(f"/directory/{group.slug}/edit/"))
    data["description"] = ["A valid change that must not be saved either."]
    data["contacts-1-kind"] = [Contact.Kind.EMAIL]
    data["contacts-1-email"] = ["new@example.org"]
    if value is None:
        data.pop(name)
    else:
        data[name] = [value]
    before = snapshot()
    response = client.post(f"/directory/{group.slug}/edit/", data)
    assert response.status_code == 400
    assert message in response.text
    assert "Nothing was saved" in response.text or "ManagementForm" in message
    assert snapshot() == before
    # What was typed is still there to correct (a tampered formset has no rows to show).
    assert "A valid change that must not be saved either." in response.text
    if "ManagementForm" not in message:
        assert 'value="new@example.org"' in response.text


def test_the_message_is_beside_the_field(sign_in, site_admin, group):
    client = sign_in(site_admin)
    data = form_data(client.get(f"/directory/{group.slug}/edit/"))
    data["meetings-0-end_time"] = ["18:00"]
    html = client.post(f"/directory/{group.slug}/edit/", data).text
    # The error list is tied to the input for screen readers.
    assert 'id="id_meetings-0-end_time_error"' in html
    assert 'aria-describedby="id_meetings-0-end_time_error"' in html
    assert 'aria-invalid="true"' in html


def test_bad_input_on_a_new_listing_saves_nothing(sign_in, site_admin, db):
    category = CategoryFactory()
    need = NeedFactory()
    client = sign_in(site_admin)
    data = _filled_new_listing(form_data(client.get("/directory/new/")), category, need)
    data["meetings-0-type_codes"] = ["Q"]
    response = client.post("/directory/new/", data)
    assert response.status_code == 400 and "Unknown meeting type code" in response.text
    assert not Group.objects.exists() and not Contact.objects.exists()
    assert not Group.history.exists()


def test_the_database_refuses_a_meeting_that_ends_before_it_starts(group):
    from django.db import IntegrityError, transaction

    meeting = group.meetings.get()
    meeting.end_time = dt.time(18, 0)
    with pytest.raises(IntegrityError), transaction.atomic():
        meeting.save()


# --- Two admins editing one listing (design notes, section 5) ------------------------------------


@pytest.fixture
def second_browser(db):
    """Another person's browser: a second client, signed in with both factors."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def _sign_in(user):
        browser = Client()
        browser.force_login(user)
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="Authenticator app", defaults={"confirmed": True}
        )
        session = browser.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return browser

    return _sign_in


def test_the_second_save_is_refused_and_nothing_is_lost(
    sign_in, second_browser, site_admin, other_admin, group
):
    edit = f"/directory/{group.slug}/edit/"
    first, second = sign_in(site_admin), second_browser(other_admin)
    mine = form_data(first.get(edit))
    theirs = form_data(second.get(edit))

    mine["name"] = ["Depression Anonymous (Los Angeles)"]
    mine["contacts-0-extension"] = ["101"]
    assert first.post(edit, mine).status_code == 302

    theirs["description"] = ["Typed by the second admin."]
    theirs["etiquette_note"] = ["Arrive a few minutes early."]
    theirs["meetings-0-notes"] = ["Use the side door."]
    theirs["contacts-1-kind"] = [Contact.Kind.EMAIL]
    theirs["contacts-1-email"] = ["second@example.org"]
    response = second.post(edit, theirs)

    # Refused, with a clear message and what the first admin changed.
    assert response.status_code == 409
    html = response.text
    assert "Someone else saved this listing while you were editing it" in html
    assert "Nothing of yours was saved" in html
    conflict = response.context["conflict"]
    assert conflict.from_history
    assert [name for name, _ in conflict.editors] == [site_admin.get_full_name()]
    rows = {row.field: (row.theirs, row.yours) for row in conflict.rows}
    assert rows == {"Name": ("Depression Anonymous (Los Angeles)", "Depression Anonymous")}
    assert conflict.row_notes == ["Contact (310) 305-8878 ext. 101: changed"]

    # The first admin's change is kept; nothing of the second's was written.
    group.refresh_from_db()
    assert group.name == "Depression Anonymous (Los Angeles)" and group.version == 2
    assert group.description == "A twelve-step group for people with depression."
    assert group.contacts.get().extension == "101"
    assert group.meetings.get().notes == ""

    # The form comes back with everything the second admin typed, and the first admin's
    # changes where the second admin had typed nothing, at the current version.
    again = form_data(response)
    assert again["description"] == ["Typed by the second admin."]
    assert again["etiquette_note"] == ["Arrive a few minutes early."]
    assert again["meetings-0-notes"] == ["Use the side door."]
    assert "second@example.org" in again.values().__str__()
    assert again["name"] == ["Depression Anonymous (Los Angeles)"]
    assert again["contacts-0-extension"] == ["101"]
    assert again["version"] == ["2"]

    # Saving that form applies the second admin's changes on top of the first's.
    assert second.post(edit, again).status_code == 302
    group.refresh_from_db()
    assert group.name == "Depression Anonymous (Los Angeles)"
    assert group.description == "Typed by the second admin."
    assert group.contacts.get(kind=Contact.Kind.PHONE).extension == "101"
    assert group.contacts.filter(email="second@example.org").exists()
    assert group.meetings.get().notes == "Use the side door."
    assert group.version == 3
    users = [record.history_user for record in group.history.order_by("history_id")]
    assert users == [site_admin, site_admin, other_admin]


def test_both_changed_the_same_field(sign_in, second_browser, site_admin, other_admin, group):
    edit = f"/directory/{group.slug}/edit/"
    first, second = sign_in(site_admin), second_browser(other_admin)
    mine, theirs = form_data(first.get(edit)), form_data(second.get(edit))
    mine["fees_note"] = ["Free."]
    assert first.post(edit, mine).status_code == 302
    theirs["fees_note"] = ["A basket is passed."]
    response = second.post(edit, theirs)
    assert response.status_code == 409
    rows = {row.field: (row.theirs, row.yours) for row in response.context["conflict"].rows}
    assert rows == {"Dues and fees (II.G)": ("Free.", "A basket is passed.")}
    group.refresh_from_db()
    assert group.fees_note == "Free."
    again = form_data(response)
    assert again["fees_note"] == ["A basket is passed."]  # theirs, not lost
    assert second.post(edit, again).status_code == 302
    group.refresh_from_db()
    assert group.fees_note == "A basket is passed."


def test_a_row_removed_by_one_admin_and_changed_by_the_other(
    sign_in, second_browser, site_admin, other_admin, group
):
    edit = f"/directory/{group.slug}/edit/"
    first, second = sign_in(site_admin), second_browser(other_admin)
    mine, theirs = form_data(first.get(edit)), form_data(second.get(edit))
    mine["contacts-0-DELETE"] = ["on"]
    assert first.post(edit, mine).status_code == 302
    theirs["contacts-0-phone"] = ["(562) 436-8585"]
    response = second.post(edit, theirs)
    assert response.status_code == 409
    assert response.context["conflict"].row_notes == ["A contact you had loaded: removed"]
    assert not group.contacts.exists()
    again = form_data(response)
    # The number the second admin typed comes back as a new contact, not lost.
    assert again["contacts-INITIAL_FORMS"] == ["0"]
    assert again["contacts-0-phone"] == ["(562) 436-8585"]
    assert second.post(edit, again).status_code == 302
    assert [str(c.phone) for c in group.contacts.all()] == ["+15624368585"]


def test_conflict_without_history_compares_with_the_values_loaded(
    sign_in, second_browser, site_admin, other_admin, group
):
    """A listing loaded from the seed has no history of its first version."""
    Group.history.filter(id=group.pk).delete()
    edit = f"/directory/{group.slug}/edit/"
    first, second = sign_in(site_admin), second_browser(other_admin)
    mine, theirs = form_data(first.get(edit)), form_data(second.get(edit))
    mine["status"] = [Group.Status.TEMPORARILY_CLOSED]
    assert first.post(edit, mine).status_code == 302
    Group.history.filter(id=group.pk).delete()
    response = second.post(edit, theirs)
    assert response.status_code == 409
    conflict = response.context["conflict"]
    assert not conflict.from_history
    assert [(r.field, r.theirs, r.yours) for r in conflict.rows] == [
        ("Status", "Temporarily closed", "Active")
    ]


def test_the_service_refuses_a_stale_version(site_admin, other_admin, group):
    services.update_group(group=group, version=1, values={"name": "First"}, by=site_admin)
    with pytest.raises(services.EditConflict) as refused:
        services.update_group(
            group=group,
            version=1,
            values={"name": "Second"},
            contacts=[services.RowEdit(pk=None, values={"kind": "email", "email": "a@b.org"})],
            by=other_admin,
        )
    assert refused.value.current.name == "First"
    group.refresh_from_db()
    assert group.name == "First" and group.version == 2
    assert not group.contacts.filter(kind="email").exists()


def test_a_form_without_its_version_is_refused(sign_in, site_admin, group):
    client = sign_in(site_admin)
    data = form_data(client.get(f"/directory/{group.slug}/edit/"))
    data.pop("version")
    data["name"] = ["Changed"]
    response = client.post(f"/directory/{group.slug}/edit/", data)
    assert response.status_code == 400
    assert "without the version it was loaded at" in response.text
    group.refresh_from_db()
    assert group.name == "Depression Anonymous"


# --- Query counts that do not grow with the list -------------------------------------------------


@pytest.fixture
def many_listings(db, site_admin, group):
    """500 stale listings besides ``group``, 150 open flags, and a full taxonomy."""
    for n in range(40):
        NeedFactory(slug=f"need-{n}", name=f"Need {n}")
        ServiceAreaFactory(slug=f"area-{n}", name=f"Area {n}")
    Language.objects.get_or_create(code="es", defaults={"name": "Spanish"})
    listings = Group.objects.bulk_create(
        Group(
            slug=f"listing-{n}",
            name=f"Listing {n}",
            format=Format.OTHER_MH,
            last_verified_on=dt.date(2008, 11, 7),
        )
        for n in range(500)
    )
    ReviewFlag.objects.bulk_create(
        ReviewFlag(group=listing, source=ReviewFlag.Source.SEED, summary="A doubt")
        for listing in listings[:150]
    )
    Contact.objects.bulk_create(
        Contact(group=listing, kind=Contact.Kind.PHONE, phone="+13103058878")
        for listing in listings[:200]
    )
    return listings


@pytest.fixture
def busy_group(group, site_admin, other_admin):
    """``group`` with ten contacts, ten meetings, criteria, flags and eighty history records."""
    areas = list(ServiceArea.objects.all()[:3]) or [ServiceAreaFactory()]
    english, _ = Language.objects.get_or_create(code="en", defaults={"name": "English"})
    contacts = [
        services.RowEdit(
            pk=None,
            values={
                "kind": Contact.Kind.PHONE,
                "phone": f"+1310305{8800 + n}",
                "service_areas": areas,
            },
        )
        for n in range(9)
    ]
    meetings = [
        services.RowEdit(
            pk=None,
            values={
                "weekday": n % 7,
                "start_time": dt.time(9 + n, 0),
                "address": "1 Main St",
                "service_area": areas[0],
                "language": english,
            },
        )
        for n in range(9)
    ]
    group = services.update_group(
        group=group,
        version=group.version,
        values={},
        contacts=contacts,
        meetings=meetings,
        by=site_admin,
    )
    for n in range(40):
        group = services.update_group(
            group=group,
            version=group.version,
            values={"fees_note": f"Fee {n}", "needs": list(group.needs.all())},
            by=other_admin if n % 2 else site_admin,
        )
    services.set_criteria(group=group, statuses={"II.A": "meets", "II.B": "meets"}, by=site_admin)
    services.verify_group(group=group, by=site_admin)
    for n in range(5):
        flag = services.raise_flag(group=group, by=site_admin, summary=f"Doubt {n}")
        services.resolve_flag(flag=flag, note="Checked.", by=other_admin)
    return group


# The queries every signed-in page makes first: the session, the user and the two-factor device
# (the permission set is kept in the session: accounts/permission_cache.py).
BASELINE = 3


@pytest.mark.parametrize("page", [None, "2"])
def test_worklist_query_count(sign_in, site_admin, many_listings, page, count_queries):
    client = sign_in(site_admin)
    path = "/directory/manage/" + (f"?stale_page={page}&flags_page={page}" if page else "")
    # baseline, then for each of the three sections its count and its page (with the people
    # and listings it names joined in)
    assert count_queries(client, path) == BASELINE + 6
    work = client.get(path).context["work"]
    assert work.stale.paginator.count == 501
    assert work.flags.paginator.count == 150
    assert work.unreachable.paginator.count == 300
    assert len(work.stale.object_list) == 25


def test_edit_page_query_count(sign_in, site_admin, many_listings, busy_group, count_queries):
    client = sign_in(site_admin)
    # baseline; the listing with who verified it; its five many-to-many values (prefetched);
    # the options of those five fields; its contacts and their service areas; its meetings;
    # then once for all the rows: the contacts' service area options, and the meetings'
    # service area and language options.
    assert (
        count_queries(client, f"/directory/{busy_group.slug}/edit/")
        == BASELINE + 1 + 5 + 5 + 2 + 1 + 3
    )


# The most the history page can make: baseline; the listing; the timeline's count and page;
# for each of the five kinds of row, the page's records (with their people) and the records
# before them; the many-to-many values of the listing's records (five fields) and of the
# contacts' (one); the people, service areas and languages the records name.
HISTORY_MOST = BASELINE + 1 + 2 + 5 * 2 + 5 + 1 + 3


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        # flags (and the records before them), a verification, criteria (created, so no
        # record before them), and listing edits with their many-to-many values; the people
        # they name
        ("1", BASELINE + 1 + 2 + 2 + 2 + 1 + 5 + 1),
        # listing edits with their many-to-many values; contacts and meetings created (no
        # record before them), the contacts' service areas, and the meetings' area and language
        ("3", BASELINE + 1 + 2 + 2 + 5 + 1 + 1 + 1 + 2),
    ],
)
def test_history_page_query_count(
    sign_in, site_admin, many_listings, busy_group, page, expected, count_queries
):
    client = sign_in(site_admin)
    path = f"/directory/{busy_group.slug}/history/?page={page}"
    assert expected <= HISTORY_MOST
    assert count_queries(client, path) == expected
    response = client.get(path)
    assert response.context["page"].paginator.count == 75
    # A page holds 25 records; a save that changed no field shown is left out of it (which
    # ones fall on a page depends on the database's order of equal timestamps).
    entries = response.context["entries"]
    assert 20 <= len(entries) <= 25
    assert all(entry.changes or entry.action != "Changed" for entry in entries)


# --- The seeded list ------------------------------------------------------------------------------


@pytest.mark.parametrize("names", ["Chris", "Mary-Jane", "Jerry or Stephanie", "Ana, Luis"])
def test_first_names_only_are_accepted(sign_in, site_admin, group, names):
    """VIII.C: first names only; the appendix prints "(Jerry or Stephanie)" for one number."""
    client = sign_in(site_admin)
    data = form_data(client.get(f"/directory/{group.slug}/edit/"))
    data["contacts-0-person_first_name"] = [names]
    assert client.post(f"/directory/{group.slug}/edit/", data).status_code == 302
    assert group.contacts.get().person_first_name == names


def test_every_seeded_listing_can_be_saved_through_its_edit_page(sign_in, site_admin):
    """The seed's data passes the edit page's rules, so no listing is stuck uneditable."""
    from django.core.management import call_command

    call_command("seed_directory", verbosity=0)
    client = sign_in(site_admin)
    contact_history = Contact.history.count()
    refused = []
    for slug in Group.objects.values_list("slug", flat=True):
        data = form_data(client.get(f"/directory/{slug}/edit/"))
        response = client.post(f"/directory/{slug}/edit/", data)
        if response.status_code != 302:
            refused.append(slug)
    assert refused == []
    assert Contact.history.count() == contact_history  # unchanged rows were not rewritten
    for key in ReferralResource.objects.values_list("key", flat=True):
        path = f"/directory/resources/{key}/edit/"
        assert client.post(path, form_data(client.get(path), "resource-form")).status_code == 302


def test_the_group_page_shows_the_admin_actions_to_site_admins_only(
    sign_in, site_admin, clinician, group
):
    html = sign_in(site_admin).get(f"/directory/{group.slug}/").text
    assert "Mark verified today" in html
    assert f'href="/directory/{group.slug}/edit/"' in html
    assert f'action="/directory/{group.slug}/archive/"' in html
    html = sign_in(clinician).get(f"/directory/{group.slug}/").text
    assert "Mark verified today" not in html and "/edit/" not in html


def test_history_leaves_out_saves_that_changed_nothing(sign_in, site_admin, group):
    """A save of the listing that changed no field (its version moving on with a contact's
    edit, or "Save" pressed on an unchanged page) is no row of its own."""
    contact = group.contacts.get()
    group = services.update_group(
        group=group,
        version=group.version,
        values={},
        contacts=[services.RowEdit(pk=contact.pk, values={"area_label": "Long Beach"})],
        by=site_admin,
    )
    services.update_group(group=group, version=group.version, values={}, by=site_admin)
    response = sign_in(site_admin).get(f"/directory/{group.slug}/history/")
    entries = response.context["entries"]
    assert [e.action for e in entries if e.subject.startswith("Listing")] == ["Created"]
    assert any(c.new == "Long Beach" for e in entries for c in e.changes)
    assert "No field changed" not in response.text
