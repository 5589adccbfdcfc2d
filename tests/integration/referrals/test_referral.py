"""Screening (IV–VI), the client's input and approval (VIII.B) and choosing groups (VIII.C–D),
through real requests: roles, tenancy, the access log, bad input, and query counts."""

import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AccessEvent
from clients.models import Client
from directory.models import (
    Contact,
    Group,
    Language,
    Meeting,
    Need,
    ReviewFlag,
    ServiceArea,
)
from referrals.models import Referral, ReferredGroup, Screening, ScreeningReason
from tests.factories.clients import ClientFactory
from tests.factories.directory import GroupFactory, ReferralResourceFactory, ReviewFlagFactory
from tests.factories.referrals import ReferralFactory, ScreeningFactory

REFER_ANSWERS = {
    "indications": ["IV.H"],
    "detail_iv_h": "depression",
    "selection_criterion": "met",
    "violence": "no",
    "explanation_given": "on",
    "disinterest": "no",
    "on_medication": "no",
}
REFER_SCREENING = {
    "indications": [{"code": "IV.H", "detail": "depression"}],
    "no_indication_found": False,
    "selection_criterion": "met",
    "violence_without_impulse_control": "no",
    "expressed_disinterest": "no",
    "explanation_given": True,
    "on_prescribed_medication": "no",
}


@pytest.fixture
def taxonomy(db):
    needs = {
        slug: Need.objects.create(slug=slug, name=name)
        for slug, name in [
            ("depression", "Depression"),
            ("anxiety", "Anxiety"),
            ("alcohol", "Alcohol"),
            ("emotional-health", "Emotional health"),
        ]
    }
    areas = {
        spa: ServiceArea.objects.create(
            slug=slug, name=name, kind=ServiceArea.Kind.SPA, spa_number=spa
        )
        for spa, slug, name in [(3, "san-gabriel", "San Gabriel"), (7, "east", "East")]
    }
    areas["countywide"] = ServiceArea.objects.create(
        slug="countywide", name="Los Angeles County", kind=ServiceArea.Kind.COUNTYWIDE
    )
    languages = {
        code: Language.objects.create(code=code, name=name)
        for code, name in [("en", "English"), ("es", "Spanish")]
    }
    return {"needs": needs, "areas": areas, "languages": languages}


@pytest.fixture
def client_record(clinic, clinician):
    return ClientFactory(clinic=clinic, created_by=clinician, first_name="Ana", last_name="Reyes")


@pytest.fixture
def other_client(other_clinic, outsider):
    return ClientFactory(clinic=other_clinic, created_by=outsider)


def _group(name, *, needs=(), areas=(), languages=("en",), taxonomy, **fields):
    group = GroupFactory(name=name, slug=name.lower().replace(" ", "-"), **fields)
    group.needs.add(*(taxonomy["needs"][slug] for slug in needs))
    group.service_areas.add(*(taxonomy["areas"][key] for key in areas))
    group.languages.add(*(taxonomy["languages"][code] for code in languages))
    return group


@pytest.fixture
def approved_referral(client_record, clinician, taxonomy):
    screening = ScreeningFactory(
        client=client_record, screened_by=clinician, answers=REFER_SCREENING
    )
    referral = ReferralFactory(
        screening=screening,
        approval=Referral.Approval.APPROVED,
        preferred_area=taxonomy["areas"][7],
        language="es",
    )
    return referral


def events(**filters):
    return list(AccessEvent.objects.filter(**filters).order_by("id"))


# --- roles and tenancy -------------------------------------------------------------------------

PEOPLE = ["clinician", "supervisor", "site_admin", "no_role_user", "outsider", "superuser"]
# Who gets what, per page. Outsider and superuser hold the permission but no (or another) clinic:
# the record is "not found" for them.
EXPECTED = {
    "screen": {"clinician": 200, "supervisor": 403, "site_admin": 403, "no_role_user": 403,
               "outsider": 404, "superuser": 404},
    "screening": {"clinician": 200, "supervisor": 200, "site_admin": 403, "no_role_user": 403,
                  "outsider": 404, "superuser": 404},
    "detail": {"clinician": 200, "supervisor": 200, "site_admin": 403, "no_role_user": 403,
               "outsider": 404, "superuser": 404},
    "client-input": {"clinician": 200, "supervisor": 403, "site_admin": 403, "no_role_user": 403,
                     "outsider": 404, "superuser": 404},
    "groups": {"clinician": 200, "supervisor": 403, "site_admin": 403, "no_role_user": 403,
               "outsider": 404, "superuser": 404},
}  # fmt: skip


def _url(page, referral):
    if page == "screen":
        return f"/referrals/screen/{referral.client_id}/"
    if page == "screening":
        return f"/referrals/screenings/{referral.screening_id}/"
    if page == "detail":
        return f"/referrals/{referral.pk}/"
    return f"/referrals/{referral.pk}/{page}/"


@pytest.mark.parametrize("page", EXPECTED)
@pytest.mark.parametrize("person", PEOPLE)
def test_permission_per_role_and_clinic(request, sign_in, approved_referral, page, person):
    user = request.getfixturevalue(person)
    response = sign_in(user).get(_url(page, approved_referral))
    assert response.status_code == EXPECTED[page][person]
    if response.status_code == 404:
        # The probe of another clinic's record is in the log, with the id asked for.
        event = AccessEvent.objects.get(user=user, outcome=AccessEvent.Outcome.NOT_FOUND)
        assert event.object_id in {
            str(approved_referral.pk),
            str(approved_referral.client_id),
            str(approved_referral.screening_id),
        }


@pytest.mark.parametrize("page", EXPECTED)
def test_anonymous_is_sent_to_sign_in(client, approved_referral, page):
    response = client.get(_url(page, approved_referral))
    assert response.status_code == 302 and "/account/sign-in/" in response["Location"]


def test_outsider_cannot_screen_or_refer_this_clinics_client(sign_in, outsider, approved_referral):
    client = sign_in(outsider)
    assert client.post(_url("screen", approved_referral), REFER_ANSWERS).status_code == 404
    assert (
        client.post(f"/referrals/screenings/{approved_referral.screening_id}/refer/").status_code
        == 404
    )
    assert client.post(_url("groups", approved_referral), {"groups": [1]}).status_code == 404
    assert Screening.objects.count() == 1 and not ReferredGroup.objects.exists()


# --- screening (IV, V, VI) ----------------------------------------------------------------------


def test_screening_page_shows_each_question_beside_its_clause(sign_in, clinician, client_record):
    html = sign_in(clinician).get(f"/referrals/screen/{client_record.pk}/").content.decode()
    for clause in ["IV.A", "IV.D", "IV.G", "IV.H", ">V<", "VI.A", "VI.B", "VI.C"]:
        assert clause in html
    # The policy's words, not a paraphrase.
    assert "able to be with a group of people for at least 20 minutes" in html
    assert "Violence with lack of impulse control." in html
    assert "hx-post=" in html and 'hx-target="#decision"' in html


def test_screening_radio_groups_are_named_for_screen_readers_and_drawn_in_a_row(
    sign_in, clinician, client_record
):
    """V and VI's radios (crispy-forms): a fieldset each, its legend the field's label, hidden
    from sight only (the question is written out beside it); the answers side by side."""
    html = sign_in(clinician).get(f"/referrals/screen/{client_record.pk}/").content.decode()
    for name, label in [
        ("selection_criterion", "V. Selection criterion"),
        ("violence", "VI.A Violence with lack of impulse control"),
        ("disinterest", "VI.B Expressed disinterest in self-help options after adequate"),
        ("on_medication", "VI.C Taking appropriately prescribed psychiatric medication"),
    ]:
        group = html[html.index(f'id="div_id_{name}"') :]
        group = group[: group.index("</fieldset>")]
        legend = re.search(r"<legend[^>]*>(.*?)</legend>", group, re.S)
        assert "visually-hidden" in legend.group(0) and label in legend.group(1)
        for index in range(3):
            assert f'id="id_{name}_{index}"' in group
        assert group.count('class="form-check form-check-inline"') == 3
    assert re.search(r'value="not-assessed"\s+id="id_violence_0"[^>]*\bchecked', html)


def test_live_decision_changes_as_the_answers_change(sign_in, clinician, client_record):
    """IV, V, VI.A: the htmx partial gives the rules' decision with clause-coded reasons."""
    client = sign_in(clinician)
    url = f"/referrals/screen/{client_record.pk}/decision/"
    html = client.post(
        url, {**REFER_ANSWERS, "selection_criterion": "not-assessed"}
    ).content.decode()
    assert "Screening incomplete" in html
    html = client.post(url, REFER_ANSWERS).content.decode()
    assert "<strong>Refer.</strong>" in html and "IV.H" in html
    html = client.post(
        url, {**REFER_ANSWERS, "violence": "yes", "selection_criterion": "not-met"}
    ).content.decode()
    assert "Do not refer now" in html
    assert "VI.A" in html and ">V<" in html  # both failures, not only the first
    assert not Screening.objects.exists()  # the live decision saves nothing


@pytest.mark.parametrize("code", ["IV.G", "IV.H"])
def test_iv_g_or_h_without_its_detail_is_saved_as_refer(sign_in, clinician, client_record, code):
    """IV "any of following": IV.G or IV.H ticked with no crisis or diagnosis named is enough;
    the page says naming it helps matching, and the screening is a referral."""
    answers = {**REFER_ANSWERS, "indications": [code], "detail_iv_h": ""}
    client = sign_in(clinician)
    html = client.post(f"/referrals/screen/{client_record.pk}/decision/", answers).content.decode()
    assert "<strong>Refer.</strong>" in html and "helps matching" in html
    assert "Screening incomplete" not in html
    response = client.post(f"/referrals/screen/{client_record.pk}/", answers)
    assert response.status_code == 302
    screening = Screening.objects.get()
    assert screening.decision == "refer"
    assert not screening.reasons.filter(kind="missing").exists()


def test_saving_a_screening_records_who_when_and_every_reason(sign_in, clinician, client_record):
    response = sign_in(clinician).post(
        f"/referrals/screen/{client_record.pk}/", {**REFER_ANSWERS, "on_medication": "yes"}
    )
    screening = Screening.objects.get()
    # "Refer": saving goes straight on to the referral's page, the client's one draft started.
    referral = Referral.objects.get(screening=screening)
    assert response.status_code == 302
    assert response["Location"] == f"/referrals/{referral.pk}/"
    assert referral.status == "preparing" and referral.client == client_record
    assert screening.screened_by == clinician and screening.decision == "refer"
    assert screening.on_prescribed_medication is True
    assert set(screening.reasons.values_list("clause", "kind")) >= {
        ("IV.H", "supports"),
        ("VI.C", "restricts"),
    }
    # VI.C confirmed in the screening is now on the client's record too.
    client_record.refresh_from_db()
    assert client_record.on_prescribed_medication is True


def test_screening_again_keeps_the_earlier_screening(sign_in, clinician, client_record):
    client = sign_in(clinician)
    url = f"/referrals/screen/{client_record.pk}/"
    client.post(url, {**REFER_ANSWERS, "violence": "yes"})
    client.post(url, REFER_ANSWERS)
    decisions = list(
        Screening.objects.order_by("screened_at", "id").values_list("decision", flat=True)
    )
    assert decisions == ["not-now", "refer"]
    page = client.get(f"/clients/{client_record.pk}/").content.decode()
    assert page.count("/referrals/screenings/") >= 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"indications": ["IV.Z"]}, "IV.Z"),  # an unknown clause code
        ({"indications": ["IV.H"], "no_indication_found": "on"}, "ndication"),  # contradictory
        ({"detail_iv_h": "not-a-diagnosis"}, "not-a-diagnosis"),
        ({"violence": "maybe"}, "maybe"),
        ({"selection_criterion": ""}, "required"),
    ],
)
def test_bad_screening_answers_get_a_clear_message_and_nothing_is_saved(
    sign_in, clinician, client_record, change, message
):
    client = sign_in(clinician)
    data = {**REFER_ANSWERS, **change}
    response = client.post(f"/referrals/screen/{client_record.pk}/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    live = client.post(f"/referrals/screen/{client_record.pk}/decision/", data)
    assert live.status_code == 422 and message in live.content.decode()
    assert not Screening.objects.exists() and not ScreeningReason.objects.exists()


def test_a_screening_that_does_not_refer_cannot_start_a_referral(sign_in, clinician, client_record):
    client = sign_in(clinician)
    client.post(f"/referrals/screen/{client_record.pk}/", {**REFER_ANSWERS, "violence": "yes"})
    screening = Screening.objects.get()
    page = client.get(f"/referrals/screenings/{screening.pk}/").content.decode()
    assert "Go on" not in page
    response = client.post(f"/referrals/screenings/{screening.pk}/refer/")
    assert response.status_code == 302 and not Referral.objects.exists()


def test_starting_a_referral_twice_makes_one(sign_in, clinician, client_record):
    client = sign_in(clinician)
    client.post(f"/referrals/screen/{client_record.pk}/", REFER_ANSWERS)
    screening = Screening.objects.get()
    first = client.post(f"/referrals/screenings/{screening.pk}/refer/")
    second = client.post(f"/referrals/screenings/{screening.pk}/refer/")
    referral = Referral.objects.get()
    assert first["Location"] == second["Location"] == f"/referrals/{referral.pk}/client-input/"
    assert referral.language == client_record.preferred_language


# --- the client's input and approval (VIII.B) ---------------------------------------------------


@pytest.fixture
def preparing_referral(client_record, clinician, taxonomy):
    screening = ScreeningFactory(
        client=client_record, screened_by=clinician, answers=REFER_SCREENING
    )
    return ReferralFactory(screening=screening)


def _input(referral, **changes):
    data = {
        "goals": "Meet people who understand depression",
        "goal_needs": [],
        "preferred_area": "",
        "location_text": "",
        "language": "es",
        "cultural_needs": "",
        "twelve_step": "no-preference",
        "approval": "approved",
        "declined_reason": "",
        "counselled": "on",
        "version": referral.version,
    }
    data.update(changes)
    return data


def test_client_input_with_a_zip_code_records_approval_and_the_area(
    sign_in, clinician, preparing_referral, taxonomy
):
    response = sign_in(clinician).post(
        f"/referrals/{preparing_referral.pk}/client-input/",
        _input(
            preparing_referral, location_text="91101", goal_needs=[taxonomy["needs"]["anxiety"].pk]
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == f"/referrals/{preparing_referral.pk}/groups/"
    preparing_referral.refresh_from_db()
    assert preparing_referral.approval == "approved" and preparing_referral.approval_recorded_at
    assert preparing_referral.preferred_area == taxonomy["areas"][3]  # Pasadena is SPA 3
    assert list(preparing_referral.goal_needs.values_list("slug", flat=True)) == ["anxiety"]
    assert preparing_referral.history.first().history_user == clinician


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"location_text": "92614"}, "outside Los Angeles County"),
        ({"location_text": ""}, "most convenient location"),
        ({"location_text": "Atlantis"}, "Atlantis"),
        ({"approval": "declined", "location_text": "91101"}, "reason for declining"),
        ({"approval": "", "location_text": "91101"}, "required"),
        ({"language": "xx", "location_text": "91101"}, "xx"),
    ],
)
def test_bad_client_input_gets_a_clear_message_and_nothing_is_saved(
    sign_in, clinician, preparing_referral, changes, message
):
    response = sign_in(clinician).post(
        f"/referrals/{preparing_referral.pk}/client-input/", _input(preparing_referral, **changes)
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    preparing_referral.refresh_from_db()
    assert preparing_referral.approval == "pending" and preparing_referral.goals == ""


def test_approval_needs_the_counselling_first(sign_in, clinician, client_record, taxonomy):
    """VIII.A before VIII.B: when the screening did not record the explanation, the client's
    approval is taken only with the counselling confirmed, which marks VIII.A done."""
    screening = ScreeningFactory(
        client=client_record,
        screened_by=clinician,
        answers={**REFER_SCREENING, "explanation_given": False},
    )
    referral = ReferralFactory(screening=screening)
    url = f"/referrals/{referral.pk}/client-input/"
    client = sign_in(clinician)
    assert "VIII.A" in client.get(url).content.decode()
    refused = client.post(url, _input(referral, counselled="", location_text="91101"))
    assert refused.status_code == 400
    assert "Counsel the client on the benefits first" in refused.content.decode()
    assert referral.steps.get(code="VIII.A").status == "pending"
    accepted = client.post(url, _input(referral, location_text="91101"))
    assert accepted.status_code == 302
    steps = dict(referral.steps.values_list("code", "status"))
    assert steps["VIII.A"] == steps["VIII.B"] == "done"


def test_declining_closes_the_referral_with_the_reason(sign_in, clinician, preparing_referral):
    """VII.E: encouraged, not required; the decision and its reason are recorded."""
    response = sign_in(clinician).post(
        f"/referrals/{preparing_referral.pk}/client-input/",
        _input(preparing_referral, approval="declined", declined_reason="Not ready for groups"),
    )
    assert response.status_code == 302
    preparing_referral.refresh_from_db()
    assert preparing_referral.status == "closed" and preparing_referral.close_reason == "declined"
    assert preparing_referral.declined_reason == "Not ready for groups"


def test_client_input_from_an_old_version_is_a_conflict(sign_in, clinician, preparing_referral):
    client = sign_in(clinician)
    stale = _input(preparing_referral, location_text="91101")
    client.post(f"/referrals/{preparing_referral.pk}/client-input/", {**stale, "goals": "first"})
    response = client.post(
        f"/referrals/{preparing_referral.pk}/client-input/", {**stale, "goals": "second"}
    )
    assert response.status_code == 409
    assert "second" in response.content.decode()  # what was typed is kept on the page
    preparing_referral.refresh_from_db()
    assert preparing_referral.goals == "first"


def test_groups_need_the_clients_approval_first(sign_in, clinician, preparing_referral):
    response = sign_in(clinician).get(f"/referrals/{preparing_referral.pk}/groups/")
    assert response.status_code == 302
    assert response["Location"] == f"/referrals/{preparing_referral.pk}/client-input/"


# --- matching and choosing (VI.C, VIII.C, VIII.D) -----------------------------------------------


@pytest.fixture
def listings(taxonomy):
    def make(name, needs=("depression",), areas=(7,), **fields):
        return _group(name, needs=needs, areas=areas, taxonomy=taxonomy, **fields)

    return {
        "spanish": make("Grupo Depresion", languages=["es"], last_verified_on=date(2026, 10, 1)),
        "english": make("Depression Circle", areas=["countywide"]),
        "discourages": make(
            "Pill Free Peers",
            languages=["es"],
            medication_stance=Group.MedicationStance.DISCOURAGES,
        ),
        "flagged": make("Flagged Friends"),
        "unrelated": make("Gamblers Table", needs=["alcohol"], areas=[3]),
        "archived": make("Old Depression Group"),
    }


@pytest.fixture
def flagged(listings):
    ReviewFlagFactory(
        group=listings["flagged"],
        source=ReviewFlag.Source.FEEDBACK,
        summary="Members told a client to stop medication",
        concerns_medication=True,
    )
    Group.objects.filter(pk=listings["archived"].pk).update(archived_at="2026-01-01T00:00Z")


def _names(response):
    return [s.listing.name for s in response.context["result"].suggestions]


def test_suggestions_say_why_and_rank_the_best_first(
    sign_in, clinician, approved_referral, listings, flagged
):
    response = sign_in(clinician).get(f"/referrals/{approved_referral.pk}/groups/")
    assert response.status_code == 200
    names = _names(response)
    assert names[0] == "Grupo Depresion"  # need, Spanish, SPA 7, verified recently
    assert "Gamblers Table" not in names and "Old Depression Group" not in names
    html = response.content.decode()
    assert "Spanish" in html and "East" in html and "verified October 2026" in html


def test_a_medicated_client_is_never_offered_an_unsafe_group(
    sign_in, clinician, approved_referral, listings, flagged
):
    """VI.C: excluded, not ranked low, and listed apart with the reason."""
    Client.objects.filter(pk=approved_referral.client_id).update(on_prescribed_medication=True)
    client = sign_in(clinician)
    response = client.get(f"/referrals/{approved_referral.pk}/groups/")
    names = _names(response)
    assert "Pill Free Peers" not in names and "Flagged Friends" not in names
    unsuitable = {item.listing.name for item in response.context["result"].not_suitable}
    assert unsuitable == {"Pill Free Peers", "Flagged Friends"}
    assert "Not suitable under VI.C" in response.content.decode()
    # A tampered form naming the unsafe group is refused and nothing is recorded.
    tampered = client.post(
        f"/referrals/{approved_referral.pk}/groups/", {"groups": [listings["discourages"].pk]}
    )
    assert tampered.status_code == 400
    assert "is not among this client" in tampered.content.decode()
    assert not ReferredGroup.objects.exists()
    approved_referral.refresh_from_db()
    assert approved_referral.status == "preparing"


def test_a_client_not_on_medication_may_see_those_groups(
    sign_in, clinician, approved_referral, listings, flagged
):
    names = _names(sign_in(clinician).get(f"/referrals/{approved_referral.pk}/groups/"))
    assert "Pill Free Peers" in names and "Flagged Friends" in names


def test_no_suggestion_in_the_clients_language_is_said_with_the_listings_that_do(
    sign_in, clinician, approved_referral, listings, flagged, taxonomy
):
    """VIII.B linguistic needs: a Spanish-speaking client whose suggestions are all in English
    is told so, with the listings that do record Spanish (other needs) and SHARE!; VI.C still
    keeps an unsafe Spanish listing off that list for a medicated client."""
    Client.objects.filter(pk=approved_referral.client_id).update(on_prescribed_medication=True)
    listings["spanish"].languages.clear()
    _group("Grupo Alcohol", needs=["alcohol"], areas=[3], languages=["es"], taxonomy=taxonomy)
    ReferralResourceFactory(key="share", name="SHARE! the Self-Help And Recovery Exchange")
    response = sign_in(clinician).get(f"/referrals/{approved_referral.pk}/groups/")
    assert response.context["result"].suggestions  # groups fit the need, none in Spanish
    assert response.context["language_unmet"] == "Spanish"
    offered = [group.name for group in response.context["in_language"]]
    assert offered == ["Grupo Alcohol"]  # not "Pill Free Peers": it discourages medication
    html = response.content.decode()
    assert "No suggested group records Spanish" in html and "Grupo Alcohol" in html
    assert "SHARE! the Self-Help And Recovery Exchange" in html


def test_a_suggestion_in_the_clients_language_needs_no_such_notice(
    sign_in, clinician, approved_referral, listings
):
    response = sign_in(clinician).get(f"/referrals/{approved_referral.pk}/groups/")
    assert response.context["language_unmet"] == ""
    assert "No suggested group records" not in response.content.decode()


def test_choosing_groups_saves_them_with_their_reasons_once(
    sign_in, clinician, approved_referral, listings
):
    client = sign_in(clinician)
    chosen = [listings["spanish"].pk, listings["english"].pk]
    first = client.post(f"/referrals/{approved_referral.pk}/groups/", {"groups": chosen})
    second = client.post(f"/referrals/{approved_referral.pk}/groups/", {"groups": chosen})
    assert first.status_code == second.status_code == 302
    rows = list(ReferredGroup.objects.order_by("suggested_rank"))
    assert [row.group_id for row in rows] == chosen  # one set, despite the double submit
    assert any("Spanish" in reason for reason in rows[0].reasons)
    assert rows[0].chosen_by == clinician
    approved_referral.refresh_from_db()
    assert approved_referral.status == "referred" and approved_referral.referred_at
    page = client.get(f"/referrals/{approved_referral.pk}/").content.decode()
    assert "Grupo Depresion" in page and "Spanish" in page


@pytest.mark.parametrize("data", [{}, {"groups": ["abc"]}, {"groups": ["999999"]}])
def test_bad_choices_get_a_400(sign_in, clinician, approved_referral, listings, data):
    response = sign_in(clinician).post(f"/referrals/{approved_referral.pk}/groups/", data)
    assert response.status_code == 400
    assert not ReferredGroup.objects.exists()


def test_when_nothing_fits_share_is_the_suggestion(sign_in, clinician, approved_referral, taxonomy):
    """VIII.D: no listing matches, so SHARE! and the Friendship Line are shown."""
    share = ReferralResourceFactory(key="share", name="SHARE!", hours="")
    share.phones.create(phone="+18777427349", as_printed="1-877-SHARE-49")
    ReferralResourceFactory(
        key="friendship-line", name="Friendship Line", hours="6:00 p.m.–10:00 p.m."
    )
    _group("Gamblers Table", needs=["alcohol"], areas=[3], taxonomy=taxonomy)
    response = sign_in(clinician).get(f"/referrals/{approved_referral.pk}/groups/")
    html = response.content.decode()
    assert response.context["result"].share_fallback
    assert "SHARE!" in html and "1-877-SHARE-49" in html and "6:00 p.m.–10:00 p.m." in html


# --- the access log -----------------------------------------------------------------------------


def test_each_page_writes_one_access_log_row(sign_in, clinician, approved_referral, listings):
    client = sign_in(clinician)
    # Opening a form shows the record and changes nothing: a "view" (the POST that sends it
    # is the "create" or "edit": tests/security/test_access_log_coverage.py).
    for page, action in [
        ("screen", "view"),
        ("screening", "view"),
        ("detail", "view"),
        ("client-input", "view"),
        ("groups", "view"),
    ]:
        before = AccessEvent.objects.count()
        client.get(_url(page, approved_referral))
        new = list(AccessEvent.objects.order_by("id")[before:])
        assert len(new) == 1, page
        assert new[0].action == action and new[0].outcome == "success"
        assert new[0].clinic_id == approved_referral.clinic_id


# --- query counts -------------------------------------------------------------------------------


def _many_listings(taxonomy, count, meetings_each=10):
    """``count`` listings for the client's need, each with a contact and ``meetings_each``
    meetings in its area and language: 2,000 of them is the county's directory (20,000
    meetings)."""
    groups = Group.objects.bulk_create(
        Group(name=f"Listing {n}", slug=f"listing-{n}", format="D") for n in range(count)
    )
    Group.needs.through.objects.bulk_create(
        Group.needs.through(group_id=g.pk, need_id=taxonomy["needs"]["depression"].pk)
        for g in groups
    )
    Group.service_areas.through.objects.bulk_create(
        Group.service_areas.through(group_id=g.pk, servicearea_id=taxonomy["areas"][7].pk)
        for g in groups
    )
    Group.languages.through.objects.bulk_create(
        Group.languages.through(group_id=g.pk, language_id=taxonomy["languages"]["en"].pk)
        for g in groups
    )
    contacts = Contact.objects.bulk_create(
        Contact(group_id=g.pk, kind=Contact.Kind.PHONE, phone="+13103058878") for g in groups
    )
    Contact.service_areas.through.objects.bulk_create(
        Contact.service_areas.through(contact_id=c.pk, servicearea_id=taxonomy["areas"][3].pk)
        for c in contacts
    )
    Meeting.objects.bulk_create(
        Meeting(
            group_id=g.pk,
            weekday=n % 7,
            start_time="19:00",
            service_area_id=taxonomy["areas"][7 if n % 2 else 3].pk,
            language_id=taxonomy["languages"]["es" if n % 3 else "en"].pk,
        )
        for g in groups
        for n in range(meetings_each)
    )


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_matching_over_2000_listings_takes_a_fixed_number_of_queries(
    sign_in, clinician, approved_referral, taxonomy
):
    """The county's directory (2,000 listings, 20,000 meetings) costs the queries of twenty."""
    client = sign_in(clinician)
    url = f"/referrals/{approved_referral.pk}/groups/"
    _many_listings(taxonomy, 20, meetings_each=2)
    few = _count(client, url)
    Group.objects.all().delete()
    _many_listings(taxonomy, 2000)
    many = _count(client, url)
    assert Group.objects.count() == 2000 and Meeting.objects.count() == 20_000
    # Session, user, OTP device (permissions: the session's), the referral and its
    # prefetches (2: goal needs, chosen groups with their meetings); matching
    # (referrals/selectors/matching.py): the vocabulary, the listings that can appear, their
    # II.A–H criteria, their facts; the cards' facts (2: the listings with their languages,
    # areas and meetings, then their phones); the access-log write.
    assert few == many == 13


def test_screening_page_query_count_does_not_grow(sign_in, clinician, client_record):
    client = sign_in(clinician)
    url = f"/referrals/screen/{client_record.pk}/"
    first = _count(client, url)
    for _ in range(30):
        ScreeningFactory(client=client_record, screened_by=clinician)
    assert _count(client, url) == first


def test_the_client_page_prompts_for_a_report_back_once_referred(
    sign_in, clinician, approved_referral, listings
):
    """VIII.I: clients report on their experience at regular appointments; the page says so."""
    client = sign_in(clinician)
    page = f"/clients/{approved_referral.client_id}/"
    assert "At this appointment (VIII.I" not in client.get(page).content.decode()
    client.post(f"/referrals/{approved_referral.pk}/groups/", {"groups": [listings["spanish"].pk]})
    assert client.get(page).content.decode().count("At this appointment (VIII.I") == 1


def test_a_zip_code_outside_the_county_gets_one_message(sign_in, clinician, preparing_referral):
    response = sign_in(clinician).post(
        f"/referrals/{preparing_referral.pk}/client-input/",
        _input(preparing_referral, location_text="92614"),
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == ["location_text"]
    assert "outside Los Angeles County" in form.errors["location_text"][0]
    assert "Give the most convenient location" not in response.content.decode()


def test_indication_details_are_not_labelled_required_before_they_are_ticked(
    sign_in, clinician, client_record
):
    """IV: any one indication is enough; the detail of one is asked to help matching, never
    required."""
    html = sign_in(clinician).get(f"/referrals/screen/{client_record.pk}/").content.decode()
    assert ", required<" not in html and ", required" not in html
    assert "it helps matching" in html


# --- one draft per client ------------------------------------------------------------------


def test_screening_again_carries_the_draft_on_instead_of_starting_a_second(
    sign_in, clinician, client_record, taxonomy
):
    web = sign_in(clinician)
    web.post(f"/referrals/screen/{client_record.pk}/", REFER_ANSWERS)
    first = Screening.objects.get()
    web.post(f"/referrals/screenings/{first.pk}/refer/")
    draft = Referral.objects.get()
    web.post(f"/referrals/screen/{client_record.pk}/", {**REFER_ANSWERS, "submission_id": ""})
    second = Screening.objects.exclude(pk=first.pk).get()
    response = web.post(f"/referrals/screenings/{second.pk}/refer/")
    assert response.status_code == 302
    assert response["Location"] == f"/referrals/{draft.pk}/client-input/"
    assert Referral.objects.count() == 1
    draft.refresh_from_db()
    assert draft.screening_id == second.pk and draft.status == "preparing"
    assert draft.steps.count() == 11


def test_the_database_holds_one_draft_per_client(client_record, clinician):
    from django.db import IntegrityError, transaction

    ReferralFactory(screening=ScreeningFactory(client=client_record, screened_by=clinician))
    with pytest.raises(IntegrityError), transaction.atomic():
        ReferralFactory(screening=ScreeningFactory(client=client_record, screened_by=clinician))


def test_a_draft_is_discarded_as_opened_in_error_and_logged(sign_in, clinician, preparing_referral):
    web = sign_in(clinician)
    page = web.get(f"/referrals/{preparing_referral.pk}/").content.decode()
    assert "Discard this draft (opened in error)" in page
    response = web.post(
        f"/referrals/{preparing_referral.pk}/close/",
        {"reason": "in-error", "note": "Draft discarded"},
    )
    assert response.status_code == 302
    preparing_referral.refresh_from_db()
    assert (preparing_referral.status, preparing_referral.close_reason) == ("closed", "in-error")
    assert preparing_referral.get_close_reason_display() == "Opened in error"
    row = AccessEvent.objects.order_by("-id").first()
    assert (row.action, row.object_type, row.object_id, row.outcome) == (
        "edit",
        "referral",
        str(preparing_referral.pk),
        "success",
    )
    # The client can be referred again: a new screening starts a new draft.
    screening = ScreeningFactory(client=preparing_referral.client, screened_by=clinician)
    web.post(f"/referrals/screenings/{screening.pk}/refer/")
    assert Referral.objects.filter(status="preparing").count() == 1


def test_each_suggestion_carries_what_is_needed_to_act_on_it(
    sign_in, clinician, approved_referral, listings
):
    """VIII.C: the phone to call (a tel: link), when the group meets and next, its languages,
    area and when it was last verified, on the card itself: no other page to open."""
    spanish = listings["spanish"]
    Contact.objects.filter(group=spanish).delete()
    Contact.objects.create(group=spanish, kind=Contact.Kind.PHONE, phone="+13235550142")
    Meeting.objects.create(group=spanish, weekday=Meeting.Weekday.TUESDAY, start_time="19:00")
    html = sign_in(clinician).get(f"/referrals/{approved_referral.pk}/groups/").content.decode()
    card = html.split('id="group-' + str(spanish.pk) + '"', 1)[1].split("</li>", 1)[0]
    assert '<a href="tel:+13235550142">(323) 555-0142</a>' in card
    assert "Tuesday 7:00 p.m." in card and "next Tue" in card
    assert "Spanish" in card and "East" in card
    assert "1 October 2026" in card


# The referral's working page while the client approved and groups are to be chosen: the
# checklist's reads (tests/integration/referrals/test_procedure.py, PINNED_PAGE_QUERIES), the
# VIII.B form (VIII.A done?, the needs, the areas) and the group choice: the same matching and
# cards as the groups page (above), read once. The same number whatever the size of the directory.
PINNED_WORKING_PAGE_QUERIES = 21


def test_the_working_pages_group_choice_takes_a_fixed_number_of_queries(
    sign_in, clinician, approved_referral, taxonomy
):
    client = sign_in(clinician)
    url = f"/referrals/{approved_referral.pk}/"
    _many_listings(taxonomy, 20, meetings_each=2)
    few = _count(client, url)
    Group.objects.all().delete()
    _many_listings(taxonomy, 2000)
    many = _count(client, url)
    assert few == many == PINNED_WORKING_PAGE_QUERIES


# --- From the clients list, in one click -----------------------------------------------------


def test_a_new_client_goes_on_to_the_screening_in_one_click(sign_in, clinician):
    """ "Add the client and screen": the client saved, then straight to their screening."""
    answer = sign_in(clinician).post(
        "/clients/new/",
        {
            "record_number": "55120034",
            "first_name": "Dana",
            "last_name": "Okafor",
            "preferred_language": "en",
            "primary_clinician": clinician.pk,
            "then": "screen",
        },
    )
    client = Client.objects.get(record_number="55120034")
    assert answer.status_code == 302
    assert answer["Location"] == f"/referrals/screen/{client.pk}/"


def test_a_screening_that_does_not_refer_shows_the_saved_screening(
    sign_in, clinician, client_record
):
    answer = sign_in(clinician).post(
        f"/referrals/screen/{client_record.pk}/", {**REFER_ANSWERS, "violence": "yes"}
    )
    screening = Screening.objects.get()
    assert screening.decision == "not-now"
    assert answer["Location"] == f"/referrals/screenings/{screening.pk}/"
    assert not Referral.objects.exists()


def test_the_clients_list_links_a_draft_referral(
    sign_in, clinician, supervisor, preparing_referral
):
    """A client screened "refer" is one click from their referral's page; a supervisor (who
    cannot change it) sees no link."""
    link = f'href="/referrals/{preparing_referral.pk}/"'
    assert link in sign_in(clinician).get("/clients/?show=all").content.decode()
    assert link not in sign_in(supervisor).get("/clients/?show=all").content.decode()
