"""The referral as a FHIR R4 Bundle (``referrals.rules.fhir``), without a database.

The Gravity SDOHCC pattern for a referral the client carries out, VIII.B's approval as a
Consent, and 42 CFR Part 2: substance-use information (IV.D, substance-use groups) only with
the client's Part 2 consent in force. Every Bundle is validated strictly (tests/fhir_validation).
"""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from referrals.rules import fhir
from tests.fhir_validation import assert_valid_bundle, problems

NOW = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
TODAY = NOW.date()

DRA = fhir.ReferredGroupRecord(
    pk=1,
    slug="dual-recovery-anonymous",
    name="Dual Recovery Anonymous",
    description="A twelve-step fellowship for people with a dual diagnosis.",
    needs=frozenset({"co-occurring-substance-use", "depression"}),
    phones=("+13103058878", "+13237770130 ext. 223"),
    emails=("info@draonline.org",),
    urls=("http://www.draonline.org",),
)
EA = fhir.ReferredGroupRecord(
    pk=2,
    slug="emotions-anonymous",
    name="Emotions Anonymous",
    needs=frozenset({"emotional-health"}),
    phones=("+16516474270",),
)
REFERRAL = fhir.ReferralRecord(
    pk=42,
    status="referred",
    close_reason="",
    approval="approved",
    approval_recorded_at=datetime(2026, 12, 1, 17, 0, tzinfo=UTC),
    referred_at=datetime(2026, 12, 1, 17, 5, tzinfo=UTC),
    created_at=datetime(2026, 12, 1, 16, 0, tzinfo=UTC),
    client_pk=7,
    record_number="1234567",
    first_name="Ana",
    last_name="Reyes",
    language="es",
    language_label="Spanish",
    clinic_pk=3,
    clinic_name="Long Beach Mental Health",
    clinician_pk=11,
    clinician_first_name="Pat",
    clinician_last_name="Lee",
    clinician_username="plee",
    indications=("IV.A",),
    groups=(EA,),
)
CONSENT = fhir.Part2Consent(
    pk=5,
    recipient="The clinic's electronic health record",
    purpose="Treatment",
    signed_on=date(2026, 11, 30),
    expires_on=date(2027, 11, 30),
)


def resources(export: fhir.Export, kind: str) -> list[dict]:
    return [e["resource"] for e in export.bundle["entry"] if e["resource"]["resourceType"] == kind]


def one(export: fhir.Export, kind: str) -> dict:
    (resource,) = resources(export, kind)
    return resource


def test_the_bundle_is_valid_and_every_reference_resolves():
    export = fhir.export(REFERRAL, generated_at=NOW)
    assert_valid_bundle(export.bundle)
    kinds = sorted(e["resource"]["resourceType"] for e in export.bundle["entry"])
    assert kinds == [
        "Consent",
        "HealthcareService",
        "Organization",
        "Patient",
        "Practitioner",
        "PractitionerRole",
        "ServiceRequest",
        "Task",
    ]
    assert export.withheld == () and not export.part2


def test_the_validator_catches_what_it_should():
    bundle = fhir.export(REFERRAL, generated_at=NOW).bundle
    task = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Task")
    task["owner"] = {"reference": "urn:uuid:not-here"}
    task["status"] = "waiting"
    assert any("not-here is not in the Bundle" in p for p in problems(bundle))
    assert any("'waiting' is not allowed" in p for p in problems(bundle))
    task["ownerr"] = task.pop("owner")
    assert any("Extra inputs are not permitted" in p for p in problems(bundle))


def test_service_request_follows_sdohcc():
    export = fhir.export(REFERRAL, generated_at=NOW)
    request = one(export, "ServiceRequest")
    ids = {e["resource"]["resourceType"]: e["fullUrl"] for e in export.bundle["entry"]}
    assert request["meta"]["profile"] == [fhir.PROFILES["ServiceRequest"]]
    assert (request["status"], request["intent"]) == ("active", "order")
    assert request["category"][0]["coding"][0]["code"] == "social-connection"
    assert request["code"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "3457005",
        "display": "Patient referral",
    }
    assert request["subject"]["reference"] == ids["Patient"]
    assert request["requester"]["reference"] == ids["Practitioner"]
    assert request["authoredOn"] == "2026-12-01T17:05:00+00:00"
    assert request["performer"] == [
        {"reference": ids["HealthcareService"], "display": "Emotions Anonymous"}
    ]
    assert request["supportingInfo"] == [{"reference": ids["Consent"]}]
    assert request["reasonCode"][0]["text"].startswith("IV.A: ")


def test_a_task_for_the_patient_to_contact_each_group():
    export = fhir.export(
        replace(REFERRAL, groups=(EA, replace(EA, pk=9, slug="x", name="X"))), generated_at=NOW
    )
    tasks = resources(export, "Task")
    patient = f"urn:uuid:{one(export, 'Patient')['id']}"
    services = {s["name"]: f"urn:uuid:{s['id']}" for s in resources(export, "HealthcareService")}
    assert len(tasks) == 2
    for task, name in zip(tasks, ["Emotions Anonymous", "X"], strict=True):
        assert task["code"]["coding"][0]["code"] == "make-contact"
        assert task["owner"]["reference"] == task["for"]["reference"] == patient
        (given,) = task["input"]
        assert given["type"]["coding"][0]["code"] == "contact-entity"
        assert given["valueReference"]["reference"] == services[name]
        assert name in task["description"]
        assert (task["intent"], task["priority"], task["status"]) == ("order", "routine", "ready")


@pytest.mark.parametrize(
    ("status", "close_reason", "request_status", "task_status"),
    [
        ("referred", "", "active", "ready"),
        ("attending", "", "active", "in-progress"),
        ("engaged", "", "active", "in-progress"),
        ("closed", "completed", "completed", "completed"),
        ("closed", "declined", "revoked", "cancelled"),
        ("closed", "lost-contact", "revoked", "cancelled"),
        ("closed", "not-eligible", "revoked", "cancelled"),
    ],
)
def test_statuses_map_to_fhir(status, close_reason, request_status, task_status):
    export = fhir.export(
        replace(REFERRAL, status=status, close_reason=close_reason), generated_at=NOW
    )
    assert_valid_bundle(export.bundle)
    assert one(export, "ServiceRequest")["status"] == request_status
    task = one(export, "Task")
    assert task["status"] == task_status
    # A cancelled patient task says why (SDOHCC Task for Patient).
    assert ("statusReason" in task) == (task_status == "cancelled")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "preparing"}, "still being prepared"),
        ({"approval": "pending", "approval_recorded_at": None}, "approval"),
        ({"approval": "declined"}, "approval"),
    ],
)
def test_nothing_to_send_before_the_client_approved(change, message):
    """VIII.B: a referral leaves the tool only with the client's approval recorded."""
    with pytest.raises(fhir.NotExportable, match=message):
        fhir.export(replace(REFERRAL, **change), generated_at=NOW)


def test_the_clients_approval_is_an_sdohcc_consent():
    """VIII.B "with client input and approval": SDOHCC Consent, category IDSCL."""
    export = fhir.export(REFERRAL, generated_at=NOW)
    consent = one(export, "Consent")
    assert consent["meta"]["profile"] == [fhir.PROFILES["Consent"]]
    assert consent["category"][0]["coding"][0]["code"] == "IDSCL"
    assert consent["scope"]["coding"][0]["code"] == "patient-privacy"
    assert consent["status"] == "active"
    assert consent["dateTime"] == "2026-12-01T17:00:00+00:00"
    assert consent["organization"][0]["reference"].endswith(one(export, "Organization")["id"])
    assert consent["provision"]["data"][0]["reference"]["reference"].endswith(
        one(export, "ServiceRequest")["id"]
    )


def test_patient_and_clinician():
    export = fhir.export(REFERRAL, generated_at=NOW)
    patient = one(export, "Patient")
    assert patient["name"] == [{"family": "Reyes", "given": ["Ana"]}]
    assert patient["identifier"][0]["value"] == "1234567"
    assert patient["gender"] == "unknown"  # not recorded by the tool
    assert patient["communication"][0]["language"]["coding"][0]["code"] == "es"
    other = fhir.export(
        replace(REFERRAL, language="other", language_label="Tigrinya"), generated_at=NOW
    )
    assert one(other, "Patient")["communication"][0]["language"] == {"text": "Tigrinya"}
    assert one(export, "Practitioner")["name"] == [{"family": "Lee", "given": ["Pat"]}]
    role = one(export, "PractitionerRole")
    assert role["practitioner"]["reference"].endswith(one(export, "Practitioner")["id"])
    assert role["organization"]["reference"].endswith(one(export, "Organization")["id"])
    assert one(export, "Organization")["name"] == "Long Beach Mental Health"


def test_ids_are_stable_and_the_group_keeps_its_contacts():
    first = fhir.export(replace(REFERRAL, groups=(EA,)), generated_at=NOW)
    again = fhir.export(replace(REFERRAL, groups=(EA,)), generated_at=NOW)
    assert first.bundle == again.bundle
    service = one(
        fhir.export(
            replace(REFERRAL, indications=(), groups=(DRA,), part2_consents=(CONSENT,)),
            generated_at=NOW,
        ),
        "HealthcareService",
    )
    assert [t["value"] for t in service["telecom"]] == [
        "+13103058878",
        "+13237770130 ext. 223",
        "info@draonline.org",
        "http://www.draonline.org",
    ]
    assert service["appointmentRequired"] is False and service["active"] is True
    closed = one(
        fhir.export(replace(REFERRAL, groups=(replace(EA, available=False),)), generated_at=NOW),
        "HealthcareService",
    )
    assert closed["active"] is False


# --- 42 CFR Part 2 -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indications", "groups"),
    [
        (("IV.A", "IV.D"), (EA,)),  # IV.D: co-occurring substance use
        (("IV.A",), (EA, DRA)),  # a substance-use group
        (("IV.D",), (DRA,)),  # both
    ],
)
def test_without_a_part2_consent_substance_use_is_left_out_and_said(indications, groups):
    record = replace(REFERRAL, indications=indications, groups=groups)
    export = fhir.export(record, generated_at=NOW)
    assert_valid_bundle(export.bundle)
    text = str(export.bundle)
    assert "IV.D" not in text and "Co-occurring" not in text
    assert "Dual Recovery" not in text and "draonline" not in text
    assert not export.part2 and export.withheld
    (outcome,) = resources(export, "OperationOutcome")
    assert outcome["issue"][0]["code"] == "suppressed"
    assert "42 CFR Part 2" in outcome["issue"][0]["diagnostics"]
    assert "meta" not in export.bundle  # no Part 2 label: nothing under Part 2 is in it
    # The groups that remain are still there, with their tasks.
    assert len(resources(export, "Task")) == sum(not g.is_substance_use for g in groups)


def test_with_a_part2_consent_in_force_it_goes_in_labelled_with_the_notice():
    record = replace(REFERRAL, indications=("IV.D",), groups=(DRA, EA), part2_consents=(CONSENT,))
    export = fhir.export(record, generated_at=NOW)
    assert_valid_bundle(export.bundle)
    assert export.part2 and export.withheld == ()
    assert not resources(export, "OperationOutcome")
    labels = {label["code"] for label in export.bundle["meta"]["security"]}
    assert {"R", "42CFRPart2", "NORDSCLCD"} <= labels
    request = one(export, "ServiceRequest")
    assert "IV.D: Co-occurring" in request["reasonCode"][-1]["text"]
    assert "42 CFR PART 2 NOTICE" in request["note"][0]["text"]
    assert [p["display"] for p in request["performer"]] == [
        "Dual Recovery Anonymous",
        "Emotions Anonymous",
    ]
    part2 = [
        c
        for c in resources(export, "Consent")
        if c["policyRule"]["coding"][0]["code"] == "42CFRPart2"
    ]
    assert len(part2) == 1
    assert part2[0]["provision"]["period"] == {"start": "2026-11-30", "end": "2027-11-30"}
    assert {"reference": f"urn:uuid:{part2[0]['id']}"} in request["supportingInfo"]


@pytest.mark.parametrize(
    ("consent", "in_force"),
    [
        (CONSENT, True),
        (replace(CONSENT, signed_on=date(2026, 12, 8)), False),  # not signed yet
        (replace(CONSENT, expires_on=date(2026, 12, 6)), False),  # expired
        (replace(CONSENT, expires_on=TODAY), True),  # its last day
        (replace(CONSENT, expires_on=None, expiry_event="End of treatment"), True),
        (replace(CONSENT, revoked_on=date(2026, 12, 7)), False),  # revoked today
        (replace(CONSENT, revoked_on=date(2026, 12, 20)), True),  # revocation dated later
    ],
)
def test_a_part2_consent_counts_only_while_in_force(consent, in_force):
    record = replace(REFERRAL, indications=("IV.D",), groups=(DRA,), part2_consents=(consent,))
    export = fhir.export(record, generated_at=NOW)
    assert export.part2 is in_force
    assert ("Dual Recovery Anonymous" in str(export.bundle)) is in_force


def test_a_referral_without_substance_use_needs_no_part2_consent():
    export = fhir.export(REFERRAL, generated_at=NOW)
    assert not export.part2 and not export.withheld and "meta" not in export.bundle
