"""Factories for the directory: listings, their meetings and contacts, the catalogues they draw
on (categories, types, needs, languages, areas), criteria, resources and review flags."""

import datetime

import factory
from django.utils import timezone

from directory.models import (
    CatalogueVersion,
    Category,
    ChangeRequest,
    Contact,
    Criterion,
    CriterionConfirmation,
    Format,
    Group,
    GroupType,
    Language,
    Meeting,
    Need,
    ReferralResource,
    ResourcePhone,
    ReviewFlag,
    ServiceArea,
    VerificationCall,
    VerificationLink,
)
from tests.factories.accounts import UserFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")


class GroupTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GroupType
        django_get_or_create = ("code",)

    code = "A"
    name = "Support"


class NeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Need
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"need-{n}")
    name = factory.Sequence(lambda n: f"Need {n}")


class LanguageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Language
        django_get_or_create = ("code",)

    code = "en"
    name = "English"


class ServiceAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceArea
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"area-{n}")
    name = factory.Sequence(lambda n: f"Area {n}")
    kind = ServiceArea.Kind.SPA


class GroupFactory(factory.django.DjangoModelFactory):
    """An active twelve-step mental-health listing in the "twelve-step-mh" category."""

    class Meta:
        model = Group
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Example Anonymous {n}")
    slug = factory.Sequence(lambda n: f"example-anonymous-{n}")
    description = "A peer-led group."
    format = Format.TWELVE_STEP_MH
    is_twelve_step = True

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        self.categories.add(
            *(extracted or [CategoryFactory(slug="twelve-step-mh", name="Twelve-step")])
        )

    @factory.post_generation
    def needs(self, create, extracted, **kwargs):
        if extracted:
            self.needs.add(*extracted)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    group = factory.SubFactory(GroupFactory)
    kind = Contact.Kind.PHONE
    phone = "+13103058878"


class MeetingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meeting

    group = factory.SubFactory(GroupFactory)
    weekday = Meeting.Weekday.MONDAY
    start_time = "19:00"
    end_time = "20:30"
    address = "123 Main St, Los Angeles, CA 90012"


class CriterionConfirmationFactory(factory.django.DjangoModelFactory):
    """An unconfirmed row for one criterion of II.A–H (one row per listing and criterion)."""

    class Meta:
        model = CriterionConfirmation
        django_get_or_create = ("group", "criterion")

    group = factory.SubFactory(GroupFactory)
    criterion = Criterion.A
    status = CriterionConfirmation.Status.NOT_CONFIRMED


class ReferralResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferralResource
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"resource-{n}")
    name = factory.Sequence(lambda n: f"Resource {n}")


class ResourcePhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResourcePhone

    resource = factory.SubFactory(ReferralResourceFactory)
    phone = "+13103058878"


class ReviewFlagFactory(factory.django.DjangoModelFactory):
    """An open flag a site admin raised about a listing."""

    class Meta:
        model = ReviewFlag

    group = factory.SubFactory(GroupFactory)
    resource = None
    source = ReviewFlag.Source.ADMIN
    summary = factory.Sequence(lambda n: f"Meeting time to confirm ({n})")


class VerificationCallFactory(factory.django.DjangoModelFactory):
    """A call attempt that found nobody (VII.D)."""

    class Meta:
        model = VerificationCall

    group = factory.SubFactory(GroupFactory)
    called_on = factory.LazyFunction(datetime.date.today)
    called_by = factory.SubFactory(UserFactory)
    outcome = VerificationCall.Outcome.NO_ANSWER


class VerificationLinkFactory(factory.django.DjangoModelFactory):
    """An unused e-mailed link, valid for two weeks."""

    class Meta:
        model = VerificationLink

    group = factory.SubFactory(GroupFactory)
    email = "secretary@example.org"
    nonce = factory.Sequence(lambda n: f"nonce{n:027d}")
    sent_by = factory.SubFactory(UserFactory)
    expires_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=14))


class ChangeRequestFactory(factory.django.DjangoModelFactory):
    """An open suggestion from the public form proposing a new phone number."""

    class Meta:
        model = ChangeRequest

    group = factory.SubFactory(GroupFactory)
    source = ChangeRequest.Source.PUBLIC_FORM
    proposed = factory.LazyFunction(lambda: {"phone": "(213) 555-0134"})


class CatalogueVersionFactory(factory.django.DjangoModelFactory):
    """The catalogue's one version row (the triggers keep it; tests rarely need to)."""

    class Meta:
        model = CatalogueVersion
        django_get_or_create = ("id",)

    id = 1
    version = 1
