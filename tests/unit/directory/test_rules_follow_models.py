"""The directory's pure rules repeat a few facts of its models (choice values, field lengths)
because rules import no model; these tests keep the two in step."""

from django.apps import apps

from directory.models import Contact, Format, Group, Meeting, ReviewFlag, ServiceArea
from directory.rules import csv_rows, hsds, meeting_guide, records, seed


def test_meeting_statuses_are_the_groups_that_meet():
    assert records.MEETING_STATUSES == (Group.Status.ACTIVE, Group.Status.TEMPORARILY_CLOSED)


def test_a_listings_defaults_are_choices_of_the_model():
    listing = records.Listing(slug="x", name="X")
    assert listing.status == Group.Status.ACTIVE
    assert listing.medication_stance == Group.MedicationStance.NOT_KNOWN


def test_hsds_has_a_status_for_every_group_status():
    assert set(hsds.STATUS) == set(Group.Status.values)


def test_meeting_guide_limits_are_the_meeting_fields_lengths():
    field = Meeting._meta.get_field
    assert field("name").max_length == meeting_guide.MODEL_NAME_MAX
    assert field("location_name").max_length == meeting_guide.LOCATION_MAX
    assert field("address").max_length == meeting_guide.ADDRESS_MAX
    assert field("online_url").max_length == meeting_guide.URL_MAX


def test_csv_area_limit_is_the_contacts_area_length():
    assert Contact._meta.get_field("area_label").max_length == csv_rows.AREA_MAX


def test_the_seeds_choices_are_the_models():
    assert tuple(ServiceArea.Kind.values) == seed.SERVICE_AREA_KINDS
    assert seed.SPA == ServiceArea.Kind.SPA
    assert tuple(Format.values) == seed.FORMATS
    assert tuple(Group.MedicationStance.values) == seed.MEDICATION_STANCES
    assert seed.ACTIVE == Group.Status.ACTIVE
    assert seed.SEED_SOURCE == ReviewFlag.Source.SEED


def test_the_seeds_lengths_are_the_models():
    for model_name, lengths in seed.MAX_LENGTHS.items():
        model = apps.get_model("directory", model_name)
        for field, length in lengths.items():
            assert model._meta.get_field(field).max_length == length, (model_name, field)


def test_the_currency_rules_choices_are_the_models():
    from directory.models import CriterionConfirmation, VerificationCall
    from directory.rules import currency

    assert {o.value for o in currency.Outcome} == set(VerificationCall.Outcome.values)
    assert {s.value for s in currency.Stance} == set(Group.MedicationStance.values)
    assert set(CriterionConfirmation.Status.values) >= {"meets", "does_not_meet", "not_confirmed"}
