"""What a referral's FHIR Bundle reads (``referrals.rules.fhir``), in a fixed number of queries.

The referral with its client, clinic, clinician and screening (one, through ``core.access
.fetch``), then the chosen groups (one), their contacts (one), their needs (one) and the
client's 42 CFR Part 2 consents (one), whatever the number of groups.
"""

from __future__ import annotations

from collections import defaultdict

from clients.models import SubstanceUseConsent
from directory.models import Contact, Group
from referrals.models import Referral, ReferredGroup
from referrals.rules import fhir


def fhir_referrals():
    return Referral.objects.select_related("client", "clinic", "clinician", "screening")


def record(referral: Referral) -> fhir.ReferralRecord:
    chosen = list(
        ReferredGroup.objects.filter(referral=referral)
        .select_related("group")
        .order_by("suggested_rank", "id")
    )
    group_ids = [row.group_id for row in chosen]
    contacts: defaultdict[int, list] = defaultdict(list)
    for group_id, kind, phone, extension, email, url in (
        Contact.objects.filter(group_id__in=group_ids)
        .order_by("order", "id")
        .values_list("group_id", "kind", "phone", "extension", "email", "url")
    ):
        contacts[group_id].append((kind, phone, extension, email, url))
    needs: defaultdict[int, set] = defaultdict(set)
    for group_id, slug in Group.needs.through.objects.filter(group_id__in=group_ids).values_list(
        "group_id", "need__slug"
    ):
        needs[group_id].add(slug)
    consents = tuple(
        fhir.Part2Consent(
            pk=c.pk,
            recipient=c.recipient,
            purpose=c.purpose,
            signed_on=c.signed_on,
            expires_on=c.expires_on,
            expiry_event=c.expiry_event,
            revoked_on=c.revoked_on,
        )
        for c in SubstanceUseConsent.objects.filter(client_id=referral.client_id)
    )
    client, clinician = referral.client, referral.clinician
    return fhir.ReferralRecord(
        pk=referral.pk,
        status=referral.status,
        close_reason=referral.close_reason,
        approval=referral.approval,
        approval_recorded_at=referral.approval_recorded_at,
        referred_at=referral.referred_at,
        created_at=referral.created_at,
        client_pk=client.pk,
        record_number=client.record_number,
        first_name=client.first_name,
        last_name=client.last_name,
        language=client.preferred_language,
        language_label=client.language_label,
        clinic_pk=referral.clinic_id,
        clinic_name=referral.clinic.name,
        clinician_pk=clinician.pk,
        clinician_first_name=clinician.first_name,
        clinician_last_name=clinician.last_name,
        clinician_username=clinician.get_username(),
        indications=_indications(referral.screening.answers),
        groups=tuple(
            _group(row.group, contacts[row.group_id], needs[row.group_id]) for row in chosen
        ),
        part2_consents=consents,
    )


def _group(group: Group, contacts, needs) -> fhir.ReferredGroupRecord:
    phones, emails, urls = [], [], []
    for kind, phone, extension, email, url in contacts:
        if kind == Contact.Kind.PHONE and phone:
            phones.append(f"{phone.as_e164} ext. {extension}" if extension else phone.as_e164)
        elif kind == Contact.Kind.EMAIL and email:
            emails.append(email)
        elif kind == Contact.Kind.WEB and url:
            urls.append(url)
    return fhir.ReferredGroupRecord(
        pk=group.pk,
        slug=group.slug,
        name=group.name,
        description=group.description,
        available=group.status == Group.Status.ACTIVE and group.archived_at is None,
        needs=frozenset(needs),
        phones=tuple(phones),
        emails=tuple(emails),
        urls=tuple(urls),
    )


def _indications(answers) -> tuple[str, ...]:
    found = answers.get("indications") if isinstance(answers, dict) else None
    if not isinstance(found, list):
        return ()
    return tuple(str(i.get("code", "")) for i in found if isinstance(i, dict))
