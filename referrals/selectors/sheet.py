"""The client's sheet: what a client takes home after a referral (policy VII.A, VIII.C–G).

The sheet is handed to the client and may be seen by anyone they show it to, so it carries
nothing clinical: no indication, diagnosis, screening answer, record number, medication status
or goals (the client's own words stay in the record). It names the chosen groups with their
contacts for the client's area and their meeting times (VIII.C), SHARE! and the Friendship Line
with its hours (VIII.D), the Client Coalition (VIII.E), the group's etiquette and the general
customs (VIII.F), the six-meetings encouragement (VIII.G), and the clinician and clinic. Peers
appear by first name only (VIII.C anonymity).

Everything is read here, in a fixed number of queries whatever the number of groups, contacts
and meetings: the referral (one), the chosen groups (one), their contacts for the area (one),
their meetings (one), the referral resources and their phones (two), the peer introductions
(one). The template only lays it out.

VI.C holds at the moment of printing: a chosen group that VI.C now rules out for the client
(``selectors/medication_safety.py``, from current facts) is left off, and a reprint shows the
remaining groups with SHARE! and the other resources. A referral whose every group was removed
after such an alert still prints, with the resources alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Case, IntegerField, Prefetch, Q, Value, When
from django.utils.dates import WEEKDAYS
from django.utils.translation import get_language_info

from clients.models import OTHER_LANGUAGE, Client, PeerContact
from directory.models import Contact, Group, Language, Meeting, ReferralResource, ResourcePhone
from directory.selectors.browse import areas_covering, contacts_for_area
from referrals.models import MedicationSafetyDecision, ProcedureStep, Referral, ReferredGroup
from referrals.selectors import medication_safety

# The languages the sheet is written in; any other preferred language gets the English sheet
# and a line saying a translation can be requested.
SHEET_LANGUAGES = ("en", "es")
# A group with many meetings would fill pages: the sheet shows the nearest ones and says how
# many more there are (the group's contacts and SHARE! know them all).
MEETINGS_SHOWN = 8
# VIII.D–E: the directory's referral resources, by key. Their numbers and hours are data, never
# template text, so that a site admin's correction reaches the next printed sheet.
RESOURCE_KEYS = ("share", "friendship-line", "client-coalition")


class SheetNotReady(Exception):
    """The referral has no sheet yet (still preparing, or no group chosen): answer 409."""


@dataclass(frozen=True)
class SheetGroup:
    """One chosen group as the sheet shows it: listing data stay as entered."""

    group: Group
    contacts: list[Contact]
    meetings: list[Meeting]  # the client's area first, then wider areas and online, then others
    more_meetings: int  # meetings not shown (MEETINGS_SHOWN)
    peer_first_names: list[str]  # VIII.C: the peers the client was introduced to, first names


@dataclass(frozen=True)
class Sheet:
    groups: list[SheetGroup]  # VI.C: those it rules out now are not here
    # VIII.D–E: SHARE!, the Friendship Line, the Client Coalition, in that order (those recorded).
    resources: list[ReferralResource]
    clinician_name: str
    clinic_name: str
    area_name: str
    printed_on: date
    language: str  # "en" or "es": the language the sheet is printed in
    # For a client whose language is neither: the language a translation can be requested in
    # ("" for "other" with no language named).
    translation_requested_in: str | None
    # IX / VIII.B linguistic needs: the client's language (not English) when none of the chosen
    # groups records it, for the sheet to say so and point to SHARE!; "" otherwise.
    language_not_spoken: str = ""


def sheet_referrals():
    """Referrals with what the sheet's header needs (one query for one referral)."""
    return Referral.objects.select_related("client", "clinician", "clinic", "preferred_area")


def sheet_language(client: Client) -> tuple[str, str | None]:
    """The sheet's language by the client's preferred language, and, when it is neither English
    nor Spanish, the language a translation can be requested in."""
    if client.preferred_language in SHEET_LANGUAGES:
        return client.preferred_language, None
    if client.preferred_language == OTHER_LANGUAGE:
        return "en", client.preferred_language_other.strip()
    return "en", client.get_preferred_language_display()


def build(referral: Referral, *, today: date) -> Sheet:
    """The sheet's content for a referral loaded from ``sheet_referrals``.

    Raises ``SheetNotReady`` for a referral still preparing (VIII.B not finished) or one with no
    group chosen (VIII.C): there is nothing to hand the client yet.
    """
    if referral.status == Referral.Status.PREPARING:
        raise SheetNotReady(
            "This referral is still being prepared: record the client's input and approval "
            "(VIII.B) and choose the groups with them (VIII.C) before printing the client's sheet."
        )
    area = referral.preferred_area
    chosen = list(
        ReferredGroup.objects.filter(referral=referral)
        .select_related("group")
        .order_by("suggested_rank", "id")
        .prefetch_related(
            Prefetch("group__contacts", queryset=contacts_for_area(area), to_attr="sheet_contacts"),
            Prefetch("group__meetings", queryset=_meetings_near(area), to_attr="sheet_meetings"),
            Prefetch(
                "group__languages",
                queryset=Language.objects.only("code"),
                to_attr="sheet_languages",
            ),
        )
    )
    if not chosen and not MedicationSafetyDecision.objects.filter(referral=referral).exists():
        raise SheetNotReady(
            "No group has been chosen for this referral, so there is nothing to print on the "
            "client's sheet. Choose the groups with the client (VIII.C) first."
        )
    # VI.C now: groups it rules out are not offered to the client.
    withheld = medication_safety.withheld_group_ids(referral) if chosen else set()
    chosen = [row for row in chosen if row.group_id not in withheld]
    peers = _introduced_peers(referral)
    language, requested_in = sheet_language(referral.client)
    clinician = referral.clinician
    return Sheet(
        groups=[_sheet_group(row.group, peers) for row in chosen],
        resources=_resources(),
        clinician_name=clinician.get_full_name() or clinician.get_username(),
        clinic_name=referral.clinic.name,
        area_name=area.name if area is not None else "",
        printed_on=today,
        language=language,
        translation_requested_in=requested_in,
        language_not_spoken=_language_not_spoken(referral, [row.group for row in chosen]),
    )


def _language_not_spoken(referral: Referral, groups: list[Group]) -> str:
    """The client's language, named in the sheet's language when rendered, when it is not
    English and no chosen group records it (the group's own languages or a meeting's); ""
    when one does, or when the client reads English."""
    code = referral.language or referral.client.preferred_language
    if not code or code == "en" or code == OTHER_LANGUAGE:
        return ""
    for group in groups:
        codes = {language.code for language in group.sheet_languages}
        codes |= {m.language.code for m in group.sheet_meetings if m.language is not None}
        if code in codes:
            return ""
    try:
        return get_language_info(code)["name_translated"]
    except KeyError:
        return referral.client.get_preferred_language_display()


def _meetings_near(area) -> object:
    """Meetings with a rank: 0 in the client's area, 1 in a wider area that serves it or online
    only, 2 elsewhere; by rank, then weekday and time."""
    online_only = Q(address="", location_name="") & (~Q(online_url="") | ~Q(dial_in=""))
    if area is None:
        rank = Case(When(online_only, then=Value(1)), default=Value(0), output_field=IntegerField())
    else:
        rank = Case(
            When(service_area_id=area.pk, then=Value(0)),
            When(Q(service_area_id__in=areas_covering(area)) | online_only, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    return (
        Meeting.objects.select_related("service_area", "language")
        .annotate(area_rank=rank)
        .order_by("area_rank", "weekday", "start_time", "id")
    )


def _sheet_group(group: Group, peers: dict[int, list[str]]) -> SheetGroup:
    meetings = group.sheet_meetings
    shown = meetings[:MEETINGS_SHOWN]
    for meeting in shown:
        # Meeting Guide numbers days from Sunday = 0, Python (and Django's WEEKDAYS, which are
        # translated) from Monday = 0. Lazy: rendered in the sheet's language.
        meeting.weekday_name = WEEKDAYS[(meeting.weekday + 6) % 7]
        meeting.language_name = _language_name(meeting.language)
        meeting.in_client_area = meeting.area_rank == 0
    return SheetGroup(
        group=group,
        contacts=group.sheet_contacts,
        meetings=shown,
        more_meetings=len(meetings) - len(shown),
        peer_first_names=peers.get(group.pk, []),
    )


def _language_name(language) -> str:
    """A meeting's language in the sheet's language where Django knows the name, else as
    entered (Cantonese, Mandarin and "other" are not in Django's list)."""
    if language is None:
        return ""
    try:
        return get_language_info(language.code)["name_translated"]
    except KeyError:
        return language.name


def _introduced_peers(referral: Referral) -> dict[int, list[str]]:
    """VIII.C: the peers the client was introduced to by phone, by group, first names only.

    Only a recorded introduction (step C done) with a peer who has not withdrawn: withdrawing
    takes effect at once, on sheets printed later too. Nothing but the first name is read.
    """
    rows = (
        ProcedureStep.objects.filter(
            referral=referral,
            code=ProcedureStep.Code.C,
            status=ProcedureStep.Status.DONE,
            peer_contact__status=PeerContact.Status.ACTIVE,
        )
        .order_by("peer_contact__first_name")
        .values_list("peer_contact__group_id", "peer_contact__first_name")
    )
    peers: dict[int, list[str]] = {}
    for group_id, first_name in rows:
        peers.setdefault(group_id, []).append(first_name)
    return peers


def _resources() -> list[ReferralResource]:
    """SHARE!, the Friendship Line, the Client Coalition (VIII.D–E) with their phones."""
    resources = ReferralResource.objects.filter(key__in=RESOURCE_KEYS).prefetch_related(
        Prefetch("phones", queryset=ResourcePhone.objects.order_by("order", "id"))
    )
    return sorted(resources, key=lambda resource: RESOURCE_KEYS.index(resource.key))
