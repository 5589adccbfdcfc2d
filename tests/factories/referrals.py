"""Factories for referrals: screenings and their reasons, referrals with their eleven procedure
steps, the groups chosen, follow-ups, the clinic's follow-up schedule, reminder digests and the
clinician's VI.C decisions."""

import datetime

import factory
from django.utils import timezone

from referrals.models import (
    FollowUp,
    FollowUpSchedule,
    MedicationSafetyDecision,
    ProcedureStep,
    Referral,
    ReferredGroup,
    ReminderDigest,
    Screening,
    ScreeningReason,
)
from tests.factories.accounts import ClinicFactory, UserFactory
from tests.factories.clients import ClientFactory
from tests.factories.directory import GroupFactory


class ScreeningFactory(factory.django.DjangoModelFactory):
    """A screening whose decision was "refer" (answers as eligibility.ScreeningAnswers)."""

    class Meta:
        model = Screening

    client = factory.SubFactory(ClientFactory)
    clinic = factory.SelfAttribute("client.clinic")
    screened_by = factory.SelfAttribute("client.created_by")
    screened_at = factory.LazyFunction(timezone.now)
    answers = factory.LazyFunction(dict)
    decision = Screening.Decision.REFER
    on_prescribed_medication = factory.SelfAttribute("client.on_prescribed_medication")


class ScreeningReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScreeningReason

    screening = factory.SubFactory(ScreeningFactory)
    clause = "IV.H"
    code = "wants-peer-support"
    kind = ScreeningReason.Kind.SUPPORTS
    message = "The client wants the support of peers."


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral
        skip_postgeneration_save = True

    screening = factory.SubFactory(ScreeningFactory)
    client = factory.SelfAttribute("screening.client")
    clinic = factory.SelfAttribute("screening.clinic")
    clinician = factory.SelfAttribute("screening.screened_by")

    @factory.post_generation
    def steps(self, create, extracted, **kwargs):
        """Every referral has its eleven procedure steps, as services.start_referral makes."""
        if create:
            from referrals.services.procedure import create_steps

            create_steps(referral=self, screening=self.screening)


class ProcedureStepFactory(factory.django.DjangoModelFactory):
    """One step of a referral; the referral already has all eleven, so this fetches the row of
    that code (and creates one only for a referral made without its steps)."""

    class Meta:
        model = ProcedureStep
        django_get_or_create = ("referral", "code")

    referral = factory.SubFactory(ReferralFactory)
    code = ProcedureStep.Code.A
    status = ProcedureStep.Status.PENDING


class ReferredGroupFactory(factory.django.DjangoModelFactory):
    """A group its clinician chose for a referral by hand: no matching reasons, no rank (pass
    them for a group chosen from matching's suggestions)."""

    class Meta:
        model = ReferredGroup

    referral = factory.SubFactory(ReferralFactory)
    group = factory.SubFactory(GroupFactory)
    reasons = factory.LazyFunction(list)
    suggested_rank = None
    chosen_at = factory.LazyFunction(timezone.now)
    chosen_by = factory.SelfAttribute("referral.clinician")


class FollowUpScheduleFactory(factory.django.DjangoModelFactory):
    """A clinic's follow-up weeks (VIII.J); one per clinic."""

    class Meta:
        model = FollowUpSchedule
        django_get_or_create = ("clinic",)

    clinic = factory.SubFactory(ClinicFactory)
    weeks = factory.LazyFunction(lambda: list(FollowUpSchedule.DEFAULT_WEEKS))


class FollowUpFactory(factory.django.DjangoModelFactory):
    """An open follow-up of a referral, due in a week."""

    class Meta:
        model = FollowUp

    referral = factory.SubFactory(ReferralFactory)
    clinic = factory.SelfAttribute("referral.clinic")
    clinician = factory.SelfAttribute("referral.clinician")
    due_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(weeks=1))


class ReminderDigestFactory(factory.django.DjangoModelFactory):
    """Today's reminder email to a clinician (one a day)."""

    class Meta:
        model = ReminderDigest

    clinician = factory.SubFactory(UserFactory)
    sent_on = factory.LazyFunction(timezone.localdate)


class MedicationSafetyDecisionFactory(factory.django.DjangoModelFactory):
    """A clinician's decision about a chosen group VI.C ruled out after the referral: removed."""

    class Meta:
        model = MedicationSafetyDecision

    referral = factory.SubFactory(ReferralFactory)
    group = factory.SubFactory(GroupFactory)
    kind = MedicationSafetyDecision.Kind.REMOVED
    causes = factory.LazyFunction(lambda: ["stance"])
    decided_at = factory.LazyFunction(timezone.now)
    decided_by = factory.SelfAttribute("referral.clinician")
