"""Every factory makes a row its model accepts: valid fields, and its foreign keys in one clinic."""

import pytest

from tests.factories import accounts, clients, directory, referrals

FACTORIES = [
    getattr(module, name)
    for module in (accounts, directory, clients, referrals)
    for name in dir(module)
    if name.endswith("Factory") and getattr(module, name).__module__ == module.__name__
]


@pytest.mark.django_db
@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_factory_builds_a_valid_row(factory):
    first, second = factory(), factory()
    # A screening's answers ({}: no question answered) and a hand-chosen group's reasons ([]:
    # none from matching) are empty JSON, which a form would call blank.
    first.full_clean(validate_unique=False, exclude=["answers", "reasons"])
    assert first.pk is not None
    assert type(first).objects.filter(pk=first.pk).exists()
    # Sequences keep unique fields apart, except for rows looked up by design (one per key).
    assert first.pk != second.pk or factory._meta.django_get_or_create
    clinic_ids = {first.clinic_id} if getattr(first, "clinic_id", None) else set()
    for link in ("client", "referral", "screening"):
        related = getattr(first, link, None)
        if related is not None and getattr(related, "clinic_id", None):
            clinic_ids.add(related.clinic_id)
    assert len(clinic_ids) <= 1


def test_every_model_of_the_four_apps_has_a_factory():
    from django.apps import apps

    covered = {f._meta.model for f in FACTORIES}
    for label in ("accounts", "directory", "clients", "referrals"):
        for model in apps.get_app_config(label).get_models():
            if model.__name__.startswith("Historical"):
                continue
            assert model in covered, f"no factory for {label}.{model.__name__}"
