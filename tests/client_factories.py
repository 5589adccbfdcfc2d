import factory
from django.utils import timezone

from clients.models import Client
from referrals.models import Referral, Screening
from tests.factories import ClinicFactory, UserFactory


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    clinic = factory.SubFactory(ClinicFactory)
    record_number = factory.Sequence(lambda n: f"{100000 + n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    preferred_language = "en"
    created_by = factory.SubFactory(UserFactory, clinic=factory.SelfAttribute("..clinic"))
    primary_clinician = factory.SelfAttribute("created_by")


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
