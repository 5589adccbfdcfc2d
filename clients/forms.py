"""Forms for client records: they validate and normalise, and write nothing.

The clinic is never a field: it is the signed-in user's clinic, passed in by the view, so a
tampered form cannot file a client under another clinic or pick another clinic's clinician.
``clients.services`` does the writing.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q

from accounts.models import Role
from clients.models import (
    OTHER_LANGUAGE,
    RECORD_NUMBER_RE,
    Client,
    normalise_record_number,
    validate_record_number,
)
from clients.services.clients import CLIENT_FIELDS

MEDICATION_HELP = (
    "Policy 04.9, VI.C: for a client taking appropriately prescribed psychiatric medication, "
    "no referral is made to a group whose members encourage stopping medication against "
    "physician advice, or that does not treat members on medication as full members. Ticking "
    "this keeps such groups out of the client's suggestions."
)
DUPLICATE_MESSAGE = "A client with this clinical record number is already recorded at your clinic."
OTHER_LANGUAGE_MESSAGE = "Name the language, since “Other language” is chosen."
SEARCH_BLANK_MESSAGE = (
    "Type part of the client's first or last name, or their clinical record number."
)
SEARCH_MAX_LENGTH = 100
RECORD_NUMBER_MESSAGE = (
    "A clinical record number is 6 to 10 digits (spaces and hyphens are ignored)."
)


def clinic_clinicians(clinic_id: int | None, *, also_pk: int | None = None):
    """Who can be a client's primary clinician: the clinic's active staff in the Clinician role.

    ``also_pk`` keeps a client's current primary clinician choosable after they stopped being
    one, so that editing anything else about the client does not fail on that field.
    """
    users = get_user_model().objects
    if clinic_id is None:
        return users.none()
    eligible = Q(pk__in=users.filter(is_active=True, groups__name=Role.CLINICIAN).values("pk"))
    if also_pk is not None:
        eligible |= Q(pk=also_pk)
    # Always the clinic's own staff, whatever else: another clinic's people are never choices.
    return users.filter(eligible, clinic_id=clinic_id).order_by(
        "last_name", "first_name", "username"
    )


class ClinicianChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class ClientForm(forms.ModelForm):
    """A new client, or the details of one (``ClientEditForm`` adds the version it loaded)."""

    # Longer than the stored 10 digits: staff type spaces and hyphens from printed forms, and
    # those are dropped before the number is checked and saved.
    record_number = forms.CharField(
        label="Clinical record number",
        max_length=30,
        help_text="6 to 10 digits, unique within your clinic. Spaces and hyphens are ignored.",
    )
    primary_clinician = ClinicianChoiceField(
        queryset=None,
        required=False,
        empty_label="No primary clinician",
        help_text="A clinician at your clinic.",
    )

    class Meta:
        model = Client
        fields = CLIENT_FIELDS
        labels = {
            "first_name": "First name",
            "last_name": "Last name",
            "preferred_language": "Preferred language",
            "preferred_language_other": "Other language",
            "needs_interpreter": "Needs an interpreter",
            "on_prescribed_medication": "On appropriately prescribed psychiatric medication",
        }
        help_texts = {
            "preferred_language_other": "Only when “Other language” is chosen above.",
            "on_prescribed_medication": MEDICATION_HELP,
        }

    def __init__(self, *args, clinic_id: int | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinic_id = clinic_id
        current = self.instance.primary_clinician_id if self.instance.pk else None
        self.fields["primary_clinician"].queryset = clinic_clinicians(clinic_id, also_pk=current)
        self.fields["first_name"].widget.attrs["autocomplete"] = "off"
        self.fields["last_name"].widget.attrs["autocomplete"] = "off"
        self.fields["record_number"].widget.attrs.update(
            {"autocomplete": "off", "inputmode": "numeric"}
        )
        # Set after a refused save, for the page to link to the client already holding the number.
        self.duplicate: Client | None = None

    def clean_record_number(self):
        value = normalise_record_number(self.cleaned_data["record_number"])
        if not value.isascii():
            # Python's \d also matches other scripts' digits (١٢٣...); the county's are 0-9.
            raise ValidationError(RECORD_NUMBER_MESSAGE, code="invalid_record_number")
        validate_record_number(value)
        # Within this clinic only: another clinic may use the same number for its own client.
        same = Client.objects.for_clinic(self.clinic_id).filter(record_number=value)
        if self.instance.pk:
            same = same.exclude(pk=self.instance.pk)
        self.duplicate = same.first()
        if self.duplicate is not None:
            raise ValidationError(DUPLICATE_MESSAGE, code="duplicate_record_number")
        return value

    def clean_first_name(self):
        return self.cleaned_data["first_name"].strip()

    def clean_last_name(self):
        return self.cleaned_data["last_name"].strip()

    def clean(self):
        cleaned = super().clean()
        language = cleaned.get("preferred_language")
        other = (cleaned.get("preferred_language_other") or "").strip()
        if language == OTHER_LANGUAGE:
            if not other:
                self.add_error("preferred_language_other", OTHER_LANGUAGE_MESSAGE)
            else:
                cleaned["preferred_language_other"] = other
        elif language is not None:
            # A listed language needs no other text; any left over from before is dropped.
            cleaned["preferred_language_other"] = ""
        return cleaned

    def values(self) -> dict:
        """The cleaned values the service writes (the clinic and version are not among them)."""
        return {name: self.cleaned_data[name] for name in CLIENT_FIELDS}


class ClientEditForm(ClientForm):
    """A client's details, with the version the editor loaded (optimistic locking)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    class Meta(ClientForm.Meta):
        fields = (*CLIENT_FIELDS, "version")


class FindClientForm(forms.Form):
    """Find a client by part of a name or by record number (sent by POST: no PHI in URLs)."""

    q = forms.CharField(
        label="Name or clinical record number",
        max_length=SEARCH_MAX_LENGTH,
        required=False,  # a blank search gets its own message (clean_q), not "required"
        help_text="Part of a first or last name, or the whole record number.",
        widget=forms.SearchInput(attrs={"autocomplete": "off"}),
    )

    def clean_q(self):
        text = " ".join(self.cleaned_data["q"].split())
        if not text:
            raise ValidationError(SEARCH_BLANK_MESSAGE, code="blank")
        number = normalise_record_number(text)
        # Digits (with spaces or hyphens) are a record number: it must be a whole one.
        if number.isdigit() and not (number.isascii() and RECORD_NUMBER_RE.fullmatch(number)):
            raise ValidationError(
                f"{RECORD_NUMBER_MESSAGE} To find by name, type part of the name.",
                code="invalid_record_number",
            )
        return text

    @property
    def record_number(self) -> str | None:
        """The record number searched for, or None for a search by name."""
        number = normalise_record_number(self.cleaned_data["q"])
        return number if number.isdigit() else None

    @property
    def name_terms(self) -> list[str]:
        return self.cleaned_data["q"].split()
