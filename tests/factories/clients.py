"""Factories for clients: the register (clients, peer contacts) and the IX documentation
(attendance, feedback, the supervisor's sign-off)."""

import datetime

import factory
from django.utils import timezone

from clients.models import (
    Attendance,
    Client,
    DocumentationSignOff,
    Feedback,
    PeerContact,
    SubstanceUseConsent,
)
from tests.factories.accounts import ClinicFactory, UserFactory
from tests.factories.directory import GroupFactory


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


class PeerContactFactory(factory.django.DjangoModelFactory):
    """An active peer contact: a client who agreed to be introduced for a group they attend."""

    class Meta:
        model = PeerContact

    client = factory.SubFactory(ClientFactory)
    clinic = factory.SelfAttribute("client.clinic")
    group = factory.SubFactory(GroupFactory)
    first_name = factory.SelfAttribute("client.first_name")
    phone = "+13105550100"
    consented_on = factory.LazyFunction(timezone.localdate)
    recorded_by = factory.SelfAttribute("client.created_by")


class AttendanceFactory(factory.django.DjangoModelFactory):
    """A meeting of a group the client attended today, as the client reported it."""

    class Meta:
        model = Attendance

    client = factory.SubFactory(ClientFactory)
    clinic = factory.SelfAttribute("client.clinic")
    group = factory.SubFactory(GroupFactory)
    meeting = None
    on_date = factory.LazyFunction(timezone.localdate)
    status = Attendance.Status.ATTENDED
    recorded_by = factory.SelfAttribute("client.created_by")


class FeedbackFactory(factory.django.DjangoModelFactory):
    """The client's feedback on a group, with no concern."""

    class Meta:
        model = Feedback

    client = factory.SubFactory(ClientFactory)
    clinic = factory.SelfAttribute("client.clinic")
    group = factory.SubFactory(GroupFactory)
    given_on = factory.LazyFunction(timezone.localdate)
    frequency = Feedback.Frequency.WEEKLY_OR_MORE
    recorded_by = factory.SelfAttribute("client.created_by")


class DocumentationSignOffFactory(factory.django.DjangoModelFactory):
    """A supervisor's sign-off of a clinician's documentation for the last 30 days."""

    class Meta:
        model = DocumentationSignOff

    clinician = factory.SubFactory(UserFactory)
    clinic = factory.SelfAttribute("clinician.clinic")
    period_end = factory.LazyFunction(timezone.localdate)
    period_start = factory.LazyAttribute(lambda o: o.period_end - datetime.timedelta(days=30))
    signed_by = factory.SubFactory(UserFactory, clinic=factory.SelfAttribute("..clinic"))


class SubstanceUseConsentFactory(factory.django.DjangoModelFactory):
    """A 42 CFR Part 2 consent signed today to disclose to the clinic's health record, for a
    year."""

    class Meta:
        model = SubstanceUseConsent

    client = factory.SubFactory(ClientFactory)
    clinic = factory.SelfAttribute("client.clinic")
    recipient = "The clinic's electronic health record"
    purpose = "Treatment: the record of the referral to self-help groups"
    signed_on = factory.LazyFunction(timezone.localdate)
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=365))
    recorded_by = factory.SelfAttribute("client.created_by")
