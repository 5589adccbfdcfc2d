"""A referral as a FHIR R4 Bundle, for the clinic's electronic health record: pure Python.

The shape follows the Gravity Project's SDOH Clinical Care guide (SDOHCC) for a referral the
client carries out themselves: the clinic's ServiceRequest names the chosen groups as its
performers, and a Task for the patient (``make-contact``, owned by the patient) asks the
client to contact each group, with the group as the ``contact-entity`` input. The client's
approval of the referral (VIII.B) is an SDOHCC Consent (category IDSCL). Patient, Organization
(the clinic), Practitioner and PractitionerRole (the referring clinician) and a
HealthcareService per group complete it; every reference is a ``urn:uuid`` of an entry.

42 CFR Part 2: a referral made for co-occurring substance use (IV.D), or to a group that is
about substance use, discloses that the client has a substance-use disorder. That information
goes into the Bundle only with the client's Part 2 consent in force; without it the IV.D
reason and those groups (their HealthcareService and Task) are left out, and an
OperationOutcome entry says that something was withheld, and why, without saying what. When
it goes in, the Bundle is labelled restricted and 42 CFR Part 2, and the ServiceRequest
carries the redisclosure notice of 42 CFR 2.32.

The goals and cultural needs are the client's own words: free text that cannot be screened for
substance-use information, so they never leave the tool this way.

Ids are UUID 5 of the referral's id and the resource's own key: exporting twice gives the
same ids. Rules are pure: the selector reads the records, ``generated_at`` is passed in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from clients.rules import part2
from clients.rules.record_note import (
    CO_OCCURRING_USE,
    PART2_HEADING,
    PART2_STATEMENT,
    SUBSTANCE_USE_NEEDS,
)
from referrals.rules.clauses import INDICATIONS_BY_CODE

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://dmh.lacounty.gov/self-help-referral/fhir/")
# Identifier systems: this tool's own numbering, under the directory's namespace.
SYSTEM_BASE = "https://dmh.lacounty.gov/self-help-referral/"

SDOHCC = "http://hl7.org/fhir/us/sdoh-clinicalcare"
SDOHCC_CODES = f"{SDOHCC}/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
SNOMED = "http://snomed.info/sct"

# Profiles claimed in ``meta.profile``: only those whose required elements the data fill.
PROFILES = {
    "Patient": f"{US_CORE}/us-core-patient",
    "Organization": f"{US_CORE}/us-core-organization",
    "Practitioner": f"{US_CORE}/us-core-practitioner",
    "ServiceRequest": f"{SDOHCC}/StructureDefinition/SDOHCC-ServiceRequest",
    "Consent": f"{SDOHCC}/StructureDefinition/SDOHCC-Consent",
}

# Referral.Status (and CloseReason) → ServiceRequest.status, the patient's Task status.
REQUEST_STATUS = {
    "referred": "active",
    "attending": "active",
    "engaged": "active",
    "completed": "completed",
    "declined": "revoked",
    "lost-contact": "revoked",
    "not-eligible": "revoked",
}
TASK_STATUS = {
    # Which group the client went to is documented as attendance, not per task: while the
    # referral is open, attending or engaged, each group's task is in progress.
    "referred": "ready",
    "attending": "in-progress",
    "engaged": "in-progress",
    "completed": "completed",
    "declined": "cancelled",
    "lost-contact": "cancelled",
    "not-eligible": "cancelled",
}
CANCELLED_BECAUSE = {
    "declined": "The client declined the referral.",
    "lost-contact": "The clinic lost contact with the client.",
    "not-eligible": "The client was found not eligible for the referral.",
}


class NotExportable(Exception):
    """The referral has nothing to send yet (still preparing, or not approved): 409."""


@dataclass(frozen=True)
class ReferredGroupRecord:
    pk: int
    slug: str
    name: str
    description: str = ""
    available: bool = True  # active and not archived
    needs: frozenset[str] = frozenset()  # directory.Need slugs
    phones: tuple[str, ...] = ()  # E.164, with " ext. N" where there is one
    emails: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()

    @property
    def is_substance_use(self) -> bool:
        return bool(self.needs & SUBSTANCE_USE_NEEDS)


@dataclass(frozen=True)
class Part2Consent:
    """A 42 CFR Part 2 consent on file (clients.SubstanceUseConsent)."""

    pk: int
    recipient: str
    purpose: str
    signed_on: date
    expires_on: date | None = None
    expiry_event: str = ""
    revoked_on: date | None = None

    def in_force(self, today: date) -> bool:
        return part2.in_force(
            signed_on=self.signed_on,
            expires_on=self.expires_on,
            revoked_on=self.revoked_on,
            today=today,
        )


@dataclass(frozen=True)
class ReferralRecord:
    pk: int
    status: str  # Referral.Status value
    close_reason: str
    approval: str  # Referral.Approval value
    approval_recorded_at: datetime | None
    referred_at: datetime | None
    created_at: datetime
    client_pk: int
    record_number: str
    first_name: str
    last_name: str
    language: str  # BCP 47, or "other"
    language_label: str
    clinic_pk: int
    clinic_name: str
    clinician_pk: int
    clinician_first_name: str
    clinician_last_name: str
    clinician_username: str
    indications: tuple[str, ...] = ()  # the screening's IV codes
    groups: tuple[ReferredGroupRecord, ...] = ()
    part2_consents: tuple[Part2Consent, ...] = field(default=())


@dataclass(frozen=True)
class Export:
    bundle: dict
    # What was left out, as sentences for the response (empty: nothing withheld).
    withheld: tuple[str, ...] = ()
    part2: bool = False  # substance-use information is in the bundle, under a Part 2 consent


def rid(referral: int, *parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(part) for part in (referral, *parts))))


def ref(resource_id: str) -> dict:
    return {"reference": f"urn:uuid:{resource_id}"}


def _instant(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def consent_in_force(record: ReferralRecord, today: date) -> Part2Consent | None:
    """The latest-signed Part 2 consent in force today, if any."""
    live = [c for c in record.part2_consents if c.in_force(today)]
    return max(live, key=lambda c: (c.signed_on, c.pk), default=None)


def substance_use_in(record: ReferralRecord) -> bool:
    """Whether the referral discloses substance use: IV.D, or a substance-use group."""
    return CO_OCCURRING_USE in record.indications or any(
        group.is_substance_use for group in record.groups
    )


def export(record: ReferralRecord, *, generated_at: datetime) -> Export:
    """The Bundle for a referral, and what it left out (42 CFR Part 2)."""
    if record.status == "preparing":
        raise NotExportable(
            "This referral is still being prepared: record the client's input and approval "
            "(VIII.B) and choose the groups with them (VIII.C) before sending it."
        )
    if record.approval != "approved" or record.approval_recorded_at is None:
        raise NotExportable(
            "The client's approval of this referral (VIII.B) is not recorded, so it cannot be "
            "sent to the health record."
        )
    today = generated_at.date()
    consent = consent_in_force(record, today)
    disclosing = substance_use_in(record)
    part2 = disclosing and consent is not None
    groups = [g for g in record.groups if part2 or not g.is_substance_use]
    indications = [code for code in record.indications if part2 or code != CO_OCCURRING_USE]
    withheld = []
    if disclosing and not part2:
        left_out = len(record.groups) - len(groups)
        withheld.append(
            "Substance-use information was left out: the client has no 42 CFR Part 2 consent "
            "to disclose it in force"
            + (f" ({left_out} group{'s' if left_out != 1 else ''} not sent)." if left_out else ".")
        )

    n = record.pk
    ids = {
        "patient": rid(n, "patient", record.client_pk),
        "organization": rid(n, "organization", record.clinic_pk),
        "practitioner": rid(n, "practitioner", record.clinician_pk),
        "role": rid(n, "practitioner-role", record.clinician_pk, record.clinic_pk),
        "request": rid(n, "service-request"),
        "consent": rid(n, "consent", "approval"),
    }
    services = {g.pk: rid(n, "healthcare-service", g.slug) for g in groups}
    resources = [
        _patient(record, ids),
        _organization(record, ids),
        _practitioner(record, ids),
        _role(record, ids),
        _service_request(record, ids, groups, services, indications, consent if part2 else None),
        _approval(record, ids),
    ]
    if part2:
        resources.append(_part2_consent(record, ids, consent))
    closed_as = record.close_reason if record.status == "closed" else record.status
    for group in groups:
        resources.append(_healthcare_service(record, group, services[group.pk]))
        resources.append(_task(record, ids, group, services[group.pk], closed_as))
    if withheld:
        resources.append(_withheld_notice(n, withheld))

    bundle = {
        "resourceType": "Bundle",
        "id": rid(n, "bundle", _instant(generated_at)),
        "identifier": {"system": f"{SYSTEM_BASE}referral", "value": str(n)},
        "type": "collection",
        "timestamp": _instant(generated_at),
        "entry": [
            {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
            for resource in resources
        ],
    }
    if part2:
        bundle["meta"] = {"security": _part2_labels()}
    return Export(bundle=bundle, withheld=tuple(withheld), part2=part2)


def _meta(kind: str) -> dict:
    return {"meta": {"profile": [PROFILES[kind]]}} if kind in PROFILES else {}


def _part2_labels() -> list[dict]:
    """Restricted, under 42 CFR Part 2, no redisclosure without consent."""
    return [
        {"system": CONFIDENTIALITY, "code": "R", "display": "restricted"},
        {"system": ACT_CODE, "code": "42CFRPart2", "display": "42 CFR Part2"},
        {
            "system": ACT_CODE,
            "code": "NORDSCLCD",
            "display": "no redisclosure without consent directive",
        },
    ]


def _patient(record: ReferralRecord, ids: dict) -> dict:
    patient = {
        "resourceType": "Patient",
        "id": ids["patient"],
        **_meta("Patient"),
        "identifier": [
            {
                "use": "usual",
                "system": f"{SYSTEM_BASE}clinic/{record.clinic_pk}/record-number",
                "value": record.record_number,
            }
        ],
        "name": [{"family": record.last_name, "given": [record.first_name]}],
        # The tool does not record the client's gender; US Core asks for "unknown" then.
        "gender": "unknown",
        "managingOrganization": ref(ids["organization"]),
    }
    language = {"text": record.language_label}
    if record.language != "other":
        language["coding"] = [{"system": "urn:ietf:bcp:47", "code": record.language}]
    patient["communication"] = [{"language": language, "preferred": True}]
    return patient


def _organization(record: ReferralRecord, ids: dict) -> dict:
    return {
        "resourceType": "Organization",
        "id": ids["organization"],
        **_meta("Organization"),
        "identifier": [{"system": f"{SYSTEM_BASE}clinic", "value": str(record.clinic_pk)}],
        "active": True,
        "name": record.clinic_name,
    }


def _practitioner(record: ReferralRecord, ids: dict) -> dict:
    name = {"family": record.clinician_last_name or record.clinician_username}
    if record.clinician_first_name:
        name["given"] = [record.clinician_first_name]
    return {
        "resourceType": "Practitioner",
        "id": ids["practitioner"],
        **_meta("Practitioner"),
        "identifier": [{"system": f"{SYSTEM_BASE}staff", "value": str(record.clinician_pk)}],
        "name": [name],
    }


def _role(record: ReferralRecord, ids: dict) -> dict:
    return {
        "resourceType": "PractitionerRole",
        "id": ids["role"],
        "active": True,
        "practitioner": ref(ids["practitioner"]),
        "organization": ref(ids["organization"]),
        "code": [{"text": "Clinician"}],
    }


def _service_request(record, ids, groups, services, indications, consent) -> dict:
    request = {
        "resourceType": "ServiceRequest",
        "id": ids["request"],
        **_meta("ServiceRequest"),
        "identifier": [{"system": f"{SYSTEM_BASE}referral", "value": str(record.pk)}],
        "status": REQUEST_STATUS[
            record.close_reason if record.status == "closed" else record.status
        ],
        "intent": "order",
        "category": [
            {
                "coding": [
                    {
                        "system": SDOHCC_CODES,
                        "code": "social-connection",
                        "display": "Social Connection",
                    }
                ]
            }
        ],
        "code": {
            "coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}],
            "text": "Referral to a self-help group (DMH policy 04.9)",
        },
        "subject": ref(ids["patient"]),
        "authoredOn": _instant(record.referred_at or record.approval_recorded_at),
        "requester": ref(ids["practitioner"]),
        "performer": [{**ref(services[group.pk]), "display": group.name} for group in groups],
        "supportingInfo": [ref(ids["consent"])],
    }
    if indications:
        request["reasonCode"] = [
            {"text": f"{code}: {INDICATIONS_BY_CODE[code].title}"}
            for code in indications
            if code in INDICATIONS_BY_CODE
        ]
        if not request["reasonCode"]:
            del request["reasonCode"]
    if consent is not None:
        request["supportingInfo"].append(ref(rid(record.pk, "consent", "part2", consent.pk)))
        request["meta"]["security"] = _part2_labels()
        request["note"] = [{"text": "\n\n".join((PART2_HEADING, *PART2_STATEMENT))}]
    return request


def _approval(record: ReferralRecord, ids: dict) -> dict:
    """VIII.B: the client's approval of the referral, as an SDOHCC Consent."""
    recorded = _instant(record.approval_recorded_at)
    return {
        "resourceType": "Consent",
        "id": ids["consent"],
        **_meta("Consent"),
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [
            {"coding": [{"system": ACT_CODE, "code": "IDSCL", "display": "information disclosure"}]}
        ],
        "patient": ref(ids["patient"]),
        "dateTime": recorded,
        "performer": [ref(ids["patient"])],
        "organization": [ref(ids["organization"])],
        # No signed form: the approval is given in person and recorded by the clinician.
        "sourceAttachment": {
            "title": "The client's approval of the referral (DMH policy 04.9, VIII.B), given in "
            "person and recorded by the clinician in the self-help referral tool",
            "creation": recorded,
        },
        "policyRule": {"coding": [{"system": ACT_CODE, "code": "OPTIN", "display": "opt-in"}]},
        "provision": {
            "type": "permit",
            "period": {"start": recorded},
            "data": [{"meaning": "related", "reference": ref(ids["request"])}],
        },
    }


def _part2_consent(record: ReferralRecord, ids: dict, consent: Part2Consent) -> dict:
    """The 42 CFR Part 2 consent under which substance-use information is in the Bundle."""
    period = {"start": consent.signed_on.isoformat()}
    if consent.expires_on:
        period["end"] = consent.expires_on.isoformat()
    title = f"42 CFR Part 2 consent. Recipient: {consent.recipient}. Purpose: {consent.purpose}."
    if consent.expiry_event:
        title += f" Ends: {consent.expiry_event}."
    return {
        "resourceType": "Consent",
        "id": rid(record.pk, "consent", "part2", consent.pk),
        **_meta("Consent"),
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [
            {"coding": [{"system": ACT_CODE, "code": "IDSCL", "display": "information disclosure"}]}
        ],
        "patient": ref(ids["patient"]),
        "dateTime": consent.signed_on.isoformat(),
        "performer": [ref(ids["patient"])],
        "organization": [ref(ids["organization"])],
        "sourceAttachment": {"title": title},
        "policyRule": {
            "coding": [{"system": ACT_CODE, "code": "42CFRPart2", "display": "42 CFR Part2"}]
        },
        "provision": {"type": "permit", "period": period},
    }


def _healthcare_service(record: ReferralRecord, group: ReferredGroupRecord, sid: str) -> dict:
    telecom = [{"system": "phone", "value": number} for number in group.phones]
    telecom += [{"system": "email", "value": email} for email in group.emails]
    telecom += [{"system": "url", "value": url} for url in group.urls]
    service = {
        "resourceType": "HealthcareService",
        "id": sid,
        "identifier": [{"system": f"{SYSTEM_BASE}group", "value": group.slug}],
        "active": group.available,
        "name": group.name,
        # Self-help groups take no appointment: the client goes to a meeting or calls.
        "appointmentRequired": False,
    }
    if group.description:
        service["comment"] = group.description
    if telecom:
        service["telecom"] = telecom
    return service


def _task(record, ids, group: ReferredGroupRecord, sid: str, closed_as: str) -> dict:
    """The client's own task: contact the group (SDOHCC Task for Patient, make-contact)."""
    status = TASK_STATUS[closed_as]
    task = {
        "resourceType": "Task",
        "id": rid(record.pk, "task", group.slug),
        "basedOn": [ref(ids["request"])],
        "status": status,
        "intent": "order",
        "priority": "routine",
        "code": {
            "coding": [{"system": SDOHCC_CODES, "code": "make-contact", "display": "Make Contact"}]
        },
        "description": f"Contact {group.name} and go to a meeting: the client chose this "
        "self-help group with their clinician.",
        "for": ref(ids["patient"]),
        "authoredOn": _instant(record.referred_at or record.approval_recorded_at),
        "requester": ref(ids["role"]),
        "owner": ref(ids["patient"]),
        "input": [
            {
                "type": {
                    "coding": [
                        {
                            "system": SDOHCC_CODES,
                            "code": "contact-entity",
                            "display": "Contact Entity",
                        }
                    ]
                },
                "valueReference": {**ref(sid), "display": group.name},
            }
        ],
    }
    if status == "cancelled":
        task["statusReason"] = {"text": CANCELLED_BECAUSE[closed_as]}
    return task


def _withheld_notice(referral: int, withheld: list[str]) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "id": rid(referral, "withheld"),
        "issue": [
            {"severity": "information", "code": "suppressed", "diagnostics": sentence}
            for sentence in withheld
        ],
    }
