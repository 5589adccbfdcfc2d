"""Reads for the screening and referral pages, each in a fixed number of queries.

Matching (``referrals/matching.py``) works on plain facts; ``matching_listings`` builds them
for every available listing with one query per relation, reading ``values_list`` rows rather
than model instances, so that 2,000 listings cost the same seven queries as twenty.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Exists, OuterRef, Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone

from clients import attendance_rules
from clients.models import Attendance, Client, PeerContact
from directory.models import (
    Contact,
    Group,
    GroupType,
    Language,
    Meeting,
    Need,
    ReferralResource,
    ResourcePhone,
    ReviewFlag,
    ServiceArea,
)
from referrals import attendance, eligibility, matching, procedure, schedule
from referrals.models import (
    FollowUp,
    ProcedureStep,
    Referral,
    ReferredGroup,
    Screening,
    ScreeningReason,
)


def client_for(user, pk: int) -> Client:
    """A client of the user's clinic, or 404 (another clinic's client is not found)."""
    return get_object_or_404(
        Client.objects.for_clinic(user.clinic_id).select_related("primary_clinician"), pk=pk
    )


def screening_for(user, pk: int) -> Screening:
    return get_object_or_404(
        Screening.objects.for_clinic(user.clinic_id)
        .select_related("client", "screened_by")
        .prefetch_related(
            Prefetch("reasons", queryset=ScreeningReason.objects.order_by("order", "id"))
        ),
        pk=pk,
    )


def referral_for(user, pk: int) -> Referral:
    return get_object_or_404(
        Referral.objects.for_clinic(user.clinic_id)
        .select_related(
            "client", "clinician", "screening", "preferred_area", "approval_recorded_by"
        )
        .prefetch_related(
            "goal_needs",
            Prefetch("groups", queryset=ReferredGroup.objects.select_related("group")),
            Prefetch("screening__reasons", queryset=ScreeningReason.objects.order_by("order")),
        ),
        pk=pk,
    )


def _open_medication_concern():
    return Exists(
        ReviewFlag.objects.filter(
            group=OuterRef("pk"), concerns_medication=True, resolved_at__isnull=True
        )
    )


def matching_listings() -> list[matching.Listing]:
    """Every available listing (active, not archived) as facts for matching: seven queries."""
    groups = list(
        Group.objects.current()
        .filter(status=Group.Status.ACTIVE)
        .annotate(open_medication_concern=_open_medication_concern())
        .values_list(
            "id",
            "name",
            "slug",
            "is_twelve_step",
            "medication_stance",
            "open_medication_concern",
            "last_verified_on",
        )
    )
    ids = [row[0] for row in groups]
    needs = _pairs(Group.needs.through.objects.filter(group_id__in=ids), "need__slug")
    types = _pairs(Group.types.through.objects.filter(group_id__in=ids), "grouptype__code")
    languages = _pairs(Group.languages.through.objects.filter(group_id__in=ids), "language__code")
    areas = _pairs(
        Group.service_areas.through.objects.filter(group_id__in=ids), "servicearea__slug"
    )
    # A listing is also where its contacts and meetings are (design notes, section 3).
    for group_id, slug in Contact.service_areas.through.objects.filter(
        contact__group_id__in=ids
    ).values_list("contact__group_id", "servicearea__slug"):
        areas[group_id].add(slug)
    for group_id, area_slug, language_code in Meeting.objects.filter(group_id__in=ids).values_list(
        "group_id", "service_area__slug", "language__code"
    ):
        if area_slug:
            areas[group_id].add(area_slug)
        if language_code:
            languages[group_id].add(language_code)
    return [
        matching.Listing(
            id=pk,
            name=name,
            slug=slug,
            need_slugs=frozenset(needs[pk]),
            group_type_codes=frozenset(types[pk]),
            language_codes=frozenset(languages[pk]),
            areas=frozenset(areas[pk]),
            is_twelve_step=twelve_step,
            medication_stance=matching.Stance(stance),
            open_medication_concern=concern,
            last_verified_on=verified,
        )
        for pk, name, slug, twelve_step, stance, concern, verified in groups
    ]


def _pairs(queryset, value_field: str) -> defaultdict[int, set]:
    result: defaultdict[int, set] = defaultdict(set)
    for group_id, value in queryset.values_list("group_id", value_field):
        result[group_id].add(value)
    return result


def vocabulary() -> matching.Vocabulary:
    """Names for the reasons matching gives: four small queries."""
    return matching.Vocabulary(
        needs=dict(Need.objects.values_list("slug", "name")),
        languages=dict(Language.objects.values_list("code", "name")),
        group_types=dict(GroupType.objects.values_list("code", "name")),
        areas={
            slug: matching.Area(slug=slug, name=name, kind=kind, spa_number=spa)
            for slug, name, kind, spa in ServiceArea.objects.values_list(
                "slug", "name", "kind", "spa_number"
            )
        },
    )


def client_profile(referral: Referral) -> matching.ClientProfile:
    """What matching needs to know about the client, from the screening and VIII.B."""
    answers = eligibility.ScreeningAnswers.from_dict(referral.screening.answers)
    outcome = eligibility.evaluate(answers)
    goal_needs = {need.slug for need in referral.goal_needs.all()}
    return matching.ClientProfile(
        need_slugs=frozenset(outcome.needs() | goal_needs),
        group_type_codes=frozenset(outcome.group_types()),
        language_code=referral.language or referral.client.preferred_language,
        area_slug=referral.preferred_area.slug if referral.preferred_area_id else None,
        # VI.C: either the screening or the client's current record saying so is enough.
        on_prescribed_medication=(
            referral.screening.on_prescribed_medication or referral.client.on_prescribed_medication
        ),
        twelve_step=matching.TwelveStep(referral.twelve_step),
    )


def share_resources() -> list[ReferralResource]:
    """SHARE! and the Friendship Line (VIII.D), shown when nothing fits."""
    return list(
        ReferralResource.objects.filter(key__in=["share", "friendship-line"])
        .order_by("name")
        .prefetch_related(
            Prefetch("phones", queryset=ResourcePhone.objects.order_by("order", "id"))
        )
    )


# --- the procedure ---------------------------------------------------------------------------


def procedure_facts(referral: Referral) -> procedure.ReferralFacts:
    """What the procedure's rules need to know about a referral: six small queries."""
    group_ids = list(referral.groups.values_list("group_id", flat=True))
    runs = attendance_runs_for(referral.client_id, group_ids)
    attended = Attendance.objects.filter(
        client_id=referral.client_id, group_id__in=group_ids, status=Attendance.Status.ATTENDED
    ).count()
    peers = (
        PeerContact.objects.filter(group_id__in=group_ids, status=PeerContact.Status.ACTIVE)
        .exclude(client_id=referral.client_id)
        .count()
    )
    return procedure.ReferralFacts(
        status=procedure.Status(referral.status),
        close_reason=referral.close_reason,
        approval=referral.approval,
        groups_chosen=len(group_ids),
        attended=attended,
        six_in_a_row=any(run.reached_six for run in runs.values()),
        steps={
            code: procedure.StepStatus(status)
            for code, status in ProcedureStep.objects.filter(referral=referral).values_list(
                "code", "status"
            )
        },
        active_peer_contacts=peers,
    )


def attendance_runs_for(
    client_id: int, group_ids, *, schedules=None
) -> dict[int, attendance_rules.Run]:
    """VIII.G: six in a row per group, by the group's schedule (``clients/attendance_rules``)."""
    return attendance.runs_for(client_id, group_ids, schedules=schedules)


def peers_for(referral: Referral):
    """VIII.C: consenting peer contacts for the groups chosen, never the client themself.
    Withdrawn contacts are never offered (VIII.K: withdrawal takes effect at once)."""
    return (
        PeerContact.objects.filter(
            group_id__in=referral.groups.values("group_id"), status=PeerContact.Status.ACTIVE
        )
        .exclude(client_id=referral.client_id)
        .select_related("group")
        .order_by("group__name", "first_name", "id")
    )


def referral_page(referral: Referral, *, today) -> dict:
    """Everything the referral's checklist shows, in a fixed number of queries."""
    steps = {
        step.code: step
        for step in ProcedureStep.objects.filter(referral=referral).select_related(
            "completed_by", "peer_contact"
        )
    }
    chosen = list(referral.groups.all())
    group_ids = [c.group_id for c in chosen]
    meetings = list(
        Meeting.objects.filter(group_id__in=group_ids).only("group_id", "weekday", "start_time")
    )
    planned = {
        c.group_id: schedule.next_meetings(
            [
                schedule.WeeklyMeeting(m.weekday, m.start_time)
                for m in meetings
                if m.group_id == c.group_id
            ],
            after=(timezone.localdate(referral.referred_at) if referral.referred_at else today),
        )
        for c in chosen
    }
    runs = attendance_runs_for(
        referral.client_id,
        group_ids,
        schedules={gid: [m.weekday for m in meetings if m.group_id == gid] for gid in group_ids},
    )
    resources = {
        r.key: r
        for r in ReferralResource.objects.filter(
            key__in=["share", "friendship-line", "client-coalition"]
        ).prefetch_related(
            Prefetch("phones", queryset=ResourcePhone.objects.order_by("order", "id"))
        )
    }
    facts = procedure_facts(referral)
    waiting = set(procedure.waiting_steps(facts))
    rows = []
    for definition in procedure.STEPS:
        code = definition.step.value
        rows.append(
            {
                "definition": definition,
                "letter": code[-1].lower(),
                "step": steps.get(code),
                "effective": procedure.effective_status(definition.step, facts).value,
                "waiting": definition.step in waiting,
            }
        )
    done, total = procedure.progress(facts)
    return {
        "steps": rows,
        "facts": facts,
        "progress_done": done,
        "progress_total": total,
        "chosen": chosen,
        "planned": planned,
        "runs": runs,
        "six_progress": max((run.progress for run in runs.values()), default=0),
        "peers": list(peers_for(referral)),
        "resources": resources,
        "followups": list(
            FollowUp.objects.filter(referral=referral)
            .select_related("done_by")
            .order_by("due_on", "id")
        ),
    }
