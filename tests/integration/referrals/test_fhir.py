"""A referral as a FHIR R4 Bundle through real requests (``GET /referrals/<id>/fhir/``): the
Bundle validated strictly, 42 CFR Part 2 with and without the client's consent on file, who may
take it (a clinician of the clinic only), the access log, and a fixed number of queries."""

import json

import pytest
from django.utils import timezone

from accounts.models import AccessEvent
from directory.models import Contact
from referrals.models import Referral
from tests.factories.clients import ClientFactory, SubstanceUseConsentFactory
from tests.factories.directory import ContactFactory, GroupFactory, NeedFactory
from tests.factories.referrals import ReferralFactory, ReferredGroupFactory, ScreeningFactory
from tests.fhir_validation import assert_valid_bundle

RECORD_NUMBER = "90817263"
SCREENING = {"indications": [{"code": "IV.A", "detail": ""}, {"code": "IV.D", "detail": ""}]}


def url(referral) -> str:
    return f"/referrals/{referral.pk}/fhir/"


def make_referral(
    clinic, clinician, groups, *, answers=None, record_number=RECORD_NUMBER, **fields
) -> Referral:
    client = ClientFactory(clinic=clinic, record_number=record_number, created_by=clinician)
    screening = ScreeningFactory(client=client, screened_by=clinician, answers=answers or {})
    now = timezone.now()
    referral = ReferralFactory(
        screening=screening,
        **{
            "status": Referral.Status.REFERRED,
            "approval": Referral.Approval.APPROVED,
            "approval_recorded_at": now,
            "approval_recorded_by": clinician,
            "referred_at": now,
            **fields,
        },
    )
    for rank, group in enumerate(groups):
        ReferredGroupFactory(referral=referral, group=group, suggested_rank=rank)
    return referral


@pytest.fixture
def groups(db):
    friends = GroupFactory(slug="sunrise-friends", name="Sunrise Friends Circle")
    ContactFactory(group=friends, phone="+13105550111", extension="12")
    ContactFactory(group=friends, kind=Contact.Kind.EMAIL, phone="", email="hi@sunrise.example")
    sober = GroupFactory(slug="sober-steps", name="Sober Steps Fellowship")
    sober.needs.add(NeedFactory(slug="alcohol", name="Alcohol"))
    ContactFactory(group=sober, phone="+13105550122")
    return {"friends": friends, "sober": sober}


@pytest.fixture
def referral(clinic, clinician, groups):
    return make_referral(clinic, clinician, [groups["friends"]])


def bundle_of(response) -> dict:
    assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
    return json.loads(response.content)


def kinds(bundle) -> list[str]:
    return [entry["resource"]["resourceType"] for entry in bundle["entry"]]


def test_the_bundle_is_valid_fhir_and_names_the_chosen_group(sign_in, clinician, referral):
    response = sign_in(clinician).get(url(referral))
    assert response.status_code == 200
    bundle = bundle_of(response)
    assert_valid_bundle(bundle)
    assert sorted(kinds(bundle)) == [
        "Consent",
        "HealthcareService",
        "Organization",
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "ServiceRequest",
        "Task",
    ]
    by_kind = {entry["resource"]["resourceType"]: entry["resource"] for entry in bundle["entry"]}
    service = by_kind["HealthcareService"]
    assert service["name"] == "Sunrise Friends Circle"
    assert [t["value"] for t in service["telecom"]] == [
        "+13105550111 ext. 12",
        "hi@sunrise.example",
    ]
    assert by_kind["Patient"]["identifier"][0]["value"] == RECORD_NUMBER
    assert by_kind["Organization"]["name"] == "Hollywood Mental Health Center"
    assert "Content-Withheld" not in response
    assert response["Cache-Control"].startswith("no-store")


def test_substance_use_is_left_out_without_a_part2_consent(sign_in, clinic, clinician, groups):
    """42 CFR Part 2: IV.D and a substance-use group leave only with the client's consent."""
    referral = make_referral(
        clinic, clinician, [groups["friends"], groups["sober"]], answers=SCREENING
    )
    response = sign_in(clinician).get(url(referral))
    bundle = bundle_of(response)
    assert_valid_bundle(bundle)
    text = response.content.decode()
    assert "Sober Steps" not in text and "IV.D" not in text
    assert "Sunrise Friends Circle" in text and "IV.A" in text
    assert response["Content-Withheld"] == "substance-use information (42 CFR Part 2)"
    assert "OperationOutcome" in kinds(bundle)


def test_with_the_clients_part2_consent_it_goes_in_labelled(sign_in, clinic, clinician, groups):
    referral = make_referral(
        clinic, clinician, [groups["friends"], groups["sober"]], answers=SCREENING
    )
    SubstanceUseConsentFactory(client=referral.client, recorded_by=clinician)
    response = sign_in(clinician).get(url(referral))
    bundle = bundle_of(response)
    assert_valid_bundle(bundle)
    text = response.content.decode()
    assert "Sober Steps Fellowship" in text and "IV.D" in text
    assert "42 CFR PART 2 NOTICE" in text
    assert {label["code"] for label in bundle["meta"]["security"]} >= {"R", "42CFRPart2"}
    assert "Content-Withheld" not in response
    assert kinds(bundle).count("Task") == 2


def test_another_clients_consent_does_not_count(sign_in, clinic, clinician, groups):
    referral = make_referral(clinic, clinician, [groups["sober"]])
    SubstanceUseConsentFactory(client=ClientFactory(clinic=clinic), recorded_by=clinician)
    response = sign_in(clinician).get(url(referral))
    assert "Sober Steps" not in response.content.decode()
    assert response["Content-Withheld"]


def test_each_export_is_access_logged_with_the_id_only(sign_in, clinician, referral):
    sign_in(clinician).get(url(referral))
    (row,) = AccessEvent.objects.filter(action=AccessEvent.Action.EXPORT)
    assert row.user == clinician and row.outcome == AccessEvent.Outcome.SUCCESS
    assert row.object_type == "referral" and row.object_id == str(referral.pk)
    assert RECORD_NUMBER not in f"{row.reason} {row.object_id} {row.username}"


# --- roles and tenancy ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ("clinician", 200),
        ("supervisor", 403),  # supervisors read referrals; sending one is the clinician's
        ("site_admin", 403),
        ("no_role_user", 403),
        ("outsider", 404),  # a clinician of another clinic
    ],
)
def test_who_may_take_the_bundle(request, sign_in, referral, person, expected):
    user = request.getfixturevalue(person)
    response = sign_in(user).get(url(referral))
    assert response.status_code == expected
    assert "Sunrise Friends Circle" not in response.content.decode() or expected == 200
    if expected == 404:
        event = AccessEvent.objects.get(user=user, action=AccessEvent.Action.EXPORT)
        assert event.outcome == AccessEvent.Outcome.NOT_FOUND
        assert event.object_id == str(referral.pk)
    if expected == 403:
        assert AccessEvent.objects.filter(user=user, outcome=AccessEvent.Outcome.DENIED).exists()


def test_anonymous_is_sent_to_sign_in(client, referral):
    response = client.get(url(referral))
    assert response.status_code == 302 and "/account/sign-in/" in response["Location"]
    assert not AccessEvent.objects.filter(action=AccessEvent.Action.EXPORT).exists()


def test_the_bundle_is_read_only(sign_in, clinician, referral):
    assert sign_in(clinician).post(url(referral)).status_code == 405


@pytest.mark.parametrize(
    "fields",
    [
        {"status": Referral.Status.PREPARING},
        {"approval": Referral.Approval.PENDING, "approval_recorded_at": None},
    ],
)
def test_nothing_to_send_before_approval_is_a_409(sign_in, clinic, clinician, groups, fields):
    """VIII.B: the referral leaves the tool only once the client approved it."""
    referral = make_referral(clinic, clinician, [groups["friends"]], **fields)

    response = sign_in(clinician).get(url(referral))
    assert response.status_code == 409
    outcome = json.loads(response.content)
    assert outcome["resourceType"] == "OperationOutcome"
    assert "VIII.B" in outcome["issue"][0]["diagnostics"]


# --- a fixed number of queries ----------------------------------------------------------------


def test_queries_do_not_grow_with_groups(sign_in, clinic, clinician, count_queries):
    few = make_referral(clinic, clinician, [GroupFactory()], record_number="1000001")
    many_groups = []
    for n in range(30):
        group = GroupFactory(slug=f"many-{n}")
        group.needs.add(NeedFactory(slug=f"need-many-{n}"))
        ContactFactory(group=group)
        ContactFactory(group=group, kind=Contact.Kind.WEB, phone="", url=f"https://g{n}.example")
        many_groups.append(group)
    many = make_referral(clinic, clinician, many_groups)
    SubstanceUseConsentFactory(client=many.client, recorded_by=clinician)
    client = sign_in(clinician)
    client.get(url(few))  # the session's first request
    counted = count_queries(client, url(many))
    assert count_queries(client, url(few)) == counted
    # The session's own (the permission set is the session's), the referral, its groups, their
    # contacts and needs, the client's Part 2 consents, and the access log's row.
    assert counted == 9
    # Six resources for the referral, and a service and a task for each group.
    assert len(bundle_of(counted.response)["entry"]) == 6 + 2 * 30


def test_the_referral_page_links_to_the_bundle_for_clinicians_only(
    sign_in, clinician, supervisor, referral
):
    link = f'href="/referrals/{referral.pk}/fhir/"'
    assert link in sign_in(clinician).get(f"/referrals/{referral.pk}/").content.decode()
    assert link not in sign_in(supervisor).get(f"/referrals/{referral.pk}/").content.decode()
