"""Factories for accounts: clinics, staff (with their roles), sessions and access-log rows."""

import datetime

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import (
    AccessEvent,
    Clinic,
    EnrolmentCode,
    PermissionsVersion,
    Role,
    ServicePlanningArea,
    SignInLock,
    StaffSession,
    User,
)

PASSWORD = "correct horse battery staple 42"


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Clinic {n}")
    service_planning_area = ServicePlanningArea.METRO


class UserFactory(factory.django.DjangoModelFactory):
    """A staff member of a clinic; `roles=[Role.CLINICIAN, ...]` puts them in those groups."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    clinic = factory.SubFactory(ClinicFactory)
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or []:
            self.groups.add(Group.objects.get(name=Role(role).value))


class StaffSessionFactory(factory.django.DjangoModelFactory):
    """A stored session of a user (with no data), valid for a day."""

    class Meta:
        model = StaffSession

    session_key = factory.Sequence(lambda n: f"session{n:032d}")
    session_data = factory.LazyFunction(lambda: StaffSession.get_session_store_class()().encode({}))
    expire_date = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=1))
    user = factory.SubFactory(UserFactory)


class AccessEventFactory(factory.django.DjangoModelFactory):
    """One access-log row: a user of a clinic viewed something (rows are insert-only)."""

    class Meta:
        model = AccessEvent

    user = factory.SubFactory(UserFactory)
    username = factory.SelfAttribute("user.username")
    clinic = factory.SelfAttribute("user.clinic")
    action = AccessEvent.Action.VIEW
    outcome = AccessEvent.Outcome.SUCCESS
    ip_address = "127.0.0.1"


class SignInLockFactory(factory.django.DjangoModelFactory):
    """Failed sign-ins of one username, not yet locked."""

    class Meta:
        model = SignInLock

    username = factory.Sequence(lambda n: f"someone-{n}")
    failures = 1
    last_failure_at = factory.LazyFunction(timezone.now)


class EnrolmentCodeFactory(factory.django.DjangoModelFactory):
    """An unused enrolment code issued today, valid 72 hours (only its hash is stored)."""

    class Meta:
        model = EnrolmentCode

    user = factory.SubFactory(UserFactory)
    code_hash = factory.Sequence(lambda n: f"{n:064x}")
    issued_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.issued_at + datetime.timedelta(hours=72))


class PermissionsVersionFactory(factory.django.DjangoModelFactory):
    """The one version row of roles and permissions (the triggers keep it)."""

    class Meta:
        model = PermissionsVersion
        django_get_or_create = ("id",)

    id = 1
    version = 1
