"""Every form of the directory: keeping the annotated referral list current (policy VII.D),
and the uploads and confirmations of its imports.

Forms validate and normalise; they write nothing (``directory.services`` does). Every field of
the listing, contact and meeting forms carries its value as loaded in a hidden ``initial-``
input, so that after someone else's save the page can tell what this editor changed from what
they merely left as it was (see ``rebase_group_data`` and ``rebase_formset_data``).
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.forms.boundfield import BoundField
from django.forms.models import BaseInlineFormSet, inlineformset_factory, model_to_dict
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from core import widgets as core_widgets
from directory.models import (
    Contact,
    Criterion,
    CriterionConfirmation,
    Group,
    Language,
    Meeting,
    ReferralResource,
    ResourcePhone,
    ReviewFlag,
    VerificationCall,
)
from directory.rules.currency import (
    APPLIED_FIELDS,
    CHANGE_FIELDS,
    MAX_MESSAGE,
    MEDICATION_FIELDS,
    QUESTION_ENCOURAGE_STOP,
    QUESTION_FULL_MEMBERS,
    REPORT_CHOICES,
    looks_like_html,
    plain_text_problem,
)
from directory.rules.listings import (
    CONTACT_FIELDS,
    GROUP_FIELDS,
    GROUP_M2M,
    MEETING_FIELDS,
    RESOURCE_FIELDS,
    RESOURCE_PHONE_FIELDS,
    RowEdit,
)
from directory.rules.meeting_types import MEETING_TYPES, UnknownTypeCodes, parse_type_codes
from directory.rules.uploads import MAX_BYTES, describe_size

EXTENSION_MESSAGE = "Digits only, for example 223 (leave out “ext.”)."
FIRST_NAME_MESSAGE = (
    "First name only: one word, no surname or initial, to keep members anonymous (policy "
    "VIII.C). Two people may be given as “Jerry or Stephanie”."
)


class ManageBoundField(BoundField):
    """A field whose checkbox list also writes its "as loaded" input.

    The templates render fields with crispy-forms, which writes every other control with
    ``str(field)`` (the hidden ``initial-`` input included) but a checkbox list option by
    option: for those, the template adds ``{{ field.loaded_input }}``.
    """

    @property
    def loaded_input(self):
        if self.field.show_hidden_initial and isinstance(
            self.field.widget, forms.CheckboxSelectMultiple
        ):
            return self.as_hidden(only_initial=True)
        return ""


def _style(form: forms.BaseForm) -> None:
    """Bootstrap classes on the widgets (crispy-forms writes checkbox lists' own)."""
    form.bound_field_class = ManageBoundField
    for form_field in form.fields.values():
        widget = form_field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple) or widget.is_hidden:
            continue
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs.setdefault("class", css)


class LinesField(forms.CharField):
    """A list of short texts, one a line (a listing's other names)."""

    widget = forms.Textarea(attrs={"rows": 2})

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value

    def to_python(self, value):
        if isinstance(value, list | tuple):
            return list(value)
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class TypeCodesField(forms.CharField):
    """Meeting Guide type codes typed as "O, BE, X"; only the spec's codes are accepted."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def to_python(self, value):
        if isinstance(value, list | tuple):
            return list(value)
        text = super().to_python(value) or ""
        try:
            return parse_type_codes(text)
        except UnknownTypeCodes as unknown:
            names = ", ".join(f"“{code}”" for code in unknown.codes)
            plural = "s" if len(unknown.codes) > 1 else ""
            raise forms.ValidationError(
                f"Unknown meeting type code{plural}: {names}. Use the Meeting Guide codes "
                "listed on this page, for example O (open), C (closed), BE (newcomer), "
                "X (wheelchair access).",
                code="unknown_type_code",
            ) from None


# "Jerry or Stephanie", "Ana, Luis", "Pat & Sam": several people, each by first name only.
_FIRST_NAMES_SEPARATOR = re.compile(r"\s*(?:,|/|&|\bor\b|\band\b|\by\b)\s*", re.IGNORECASE)


def validate_first_name(value: str) -> None:
    """VIII.C: anonymity during referral; a contact person is known by first name only.

    Several people may be named ("Jerry or Stephanie", as the appendix prints one), each by a
    single word; "Chris Jones" or "Bob D." is refused.
    """
    names = _FIRST_NAMES_SEPARATOR.split(value.strip())
    if any(not name or len(name.split()) > 1 for name in names):
        raise forms.ValidationError(FIRST_NAME_MESSAGE, code="not_first_name_only")


def _keep_loaded_values(form: forms.BaseForm) -> None:
    """Render each field's value as loaded in a hidden input beside it (see the module's doc)."""
    for form_field in form.fields.values():
        form_field.show_hidden_initial = True


class GroupForm(forms.ModelForm):
    """A listing's own fields (the contacts and meetings are formsets beside it)."""

    aliases = LinesField(
        required=False,
        label="Other names",
        help_text="One a line, e.g. a former name or what its meetings are called.",
    )

    class Meta:
        model = Group
        fields = [*GROUP_FIELDS[:5], *GROUP_M2M, *GROUP_FIELDS[5:]]
        labels = {
            "is_twelve_step": "A twelve-step group",
            "format": "Format (section III)",
            "types": "Types (section II, A–E)",
            "needs": "Helps with",
            "service_areas": "Service areas",
            "medication_stance": "Members on prescribed psychiatric medication (VI.C)",
            "etiquette_note": "Etiquette (VIII.F)",
            "evidence_note": "Evidence of effectiveness (I.F)",
            "fees_note": "Dues and fees (II.G)",
        }
        help_texts = {
            "categories": "The appendix's headings; at least one.",
            "medication_stance": (
                "A listing that discourages or excludes members on medication is never "
                "offered to a client who takes it."
            ),
            "etiquette_note": "What to expect and the group's customs, to discuss with the client.",
            "evidence_note": "What is known of the group's effectiveness.",
            "fees_note": "Dues and fees, if any; nominal ones only (II.G).",
        }
        widgets = {
            "categories": forms.CheckboxSelectMultiple,
            "types": forms.CheckboxSelectMultiple,
            "needs": forms.CheckboxSelectMultiple,
            "languages": forms.CheckboxSelectMultiple,
            "service_areas": forms.CheckboxSelectMultiple,
            "description": forms.Textarea(attrs={"rows": 4}),
            "etiquette_note": forms.Textarea(attrs={"rows": 3}),
            "evidence_note": forms.Textarea(attrs={"rows": 2}),
            "fees_note": forms.Textarea(attrs={"rows": 2}),
        }

    duplicate: Group | None = None

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = Group.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).first()
        if clash is not None:
            self.duplicate = clash
            archived = " (archived)" if clash.archived_at else ""
            raise forms.ValidationError(
                f"A listing named “{clash.name}”{archived} exists already. Edit that one, or "
                "give this one a name that tells them apart, such as its area.",
                code="duplicate",
            )
        return name

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["categories"].error_messages["required"] = (
            "Choose at least one heading: every listing appears under one in the printed list."
        )
        _keep_loaded_values(self)
        _style(self)


class GroupEditForm(GroupForm):
    """The edit carries the version it was loaded at: the optimistic lock (section 5)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].show_hidden_initial = False
        if not self.is_bound:
            self.initial["version"] = self.instance.version
        self.fields["version"].error_messages["required"] = (
            "The page was sent without the version it was loaded at. Reload the listing and "
            "make the change again."
        )


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = [*CONTACT_FIELDS[:6], "service_areas", *CONTACT_FIELDS[6:]]
        labels = {
            "kind": "Kind",
            "url": "Web address",
            "area_label": "Area",
            "service_areas": "Service areas it serves",
            "person_first_name": "Contact person (first name only)",
        }
        help_texts = {
            "phone": "E.g. (310) 305-8878; stored in international form.",
            "extension": "Digits only.",
            "area_label": "As printed, e.g. “Long Beach”.",
        }
        widgets = {"service_areas": forms.CheckboxSelectMultiple, "phone": core_widgets.PhoneInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["extension"].validators.append(
            RegexValidator(r"^\d+\Z", EXTENSION_MESSAGE, code="extension")
        )
        self.fields["person_first_name"].validators.append(validate_first_name)
        _keep_loaded_values(self)
        _style(self)

    # Which field holds the contact itself, for each kind.
    VALUE_FIELD = {
        Contact.Kind.PHONE: "phone",
        Contact.Kind.EMAIL: "email",
        Contact.Kind.WEB: "url",
    }
    NOUN = {"phone": "a phone number", "email": "an email address", "url": "a web address"}

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if not kind:
            return data
        wanted = self.VALUE_FIELD[kind]
        if not data.get(wanted) and wanted not in self.errors:
            label = Contact.Kind(kind).label.lower()
            self.add_error(wanted, f"A {label} contact needs {self.NOUN[wanted]}.")
        for other in set(self.VALUE_FIELD.values()) - {wanted}:
            if data.get(other) and other not in self.errors:
                self.add_error(
                    other,
                    f"This contact is a {Contact.Kind(kind).label.lower()}: put "
                    f"{self.NOUN[other]} in a contact of its own.",
                )
        if data.get("extension") and kind != Contact.Kind.PHONE:
            self.add_error("extension", "Only a phone number has an extension.")
        return data


class MeetingForm(forms.ModelForm):
    type_codes = TypeCodesField(
        required=False,
        label="Meeting types",
        help_text="Meeting Guide codes separated by commas, e.g. O, BE, X.",
    )

    class Meta:
        model = Meeting
        fields = list(MEETING_FIELDS)
        labels = {
            "name": "Meeting name",
            "start_time": "Starts at",
            "end_time": "Ends at",
            "location_name": "Place name",
            "online_url": "Online link",
            "dial_in": "Dial-in number",
        }
        widgets = {
            "start_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "end_time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _keep_loaded_values(self)
        _style(self)

    def clean(self):
        data = super().clean()
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and end <= start:
            self.add_error(
                "end_time",
                "A meeting must end after it starts. Leave the end empty if it runs past midnight.",
            )
        places = ("address", "online_url", "dial_in")
        if not any(data.get(name) for name in places) and not any(
            name in self.errors for name in places
        ):
            self.add_error(
                "address", "Give an address, an online link or a dial-in number (at least one)."
            )
        return data


# New rows one save may add to a listing's contacts or meetings, or a resource's phones. The
# page adds them one at a time; a posted TOTAL_FORMS beyond the saved rows plus this is refused
# (400, "Please submit at most N forms") and no more forms than that are built. Django's own
# limit is 1,000 forms per formset: 99,999 posted took a minute and a 20 MB page
# (tests/security/test_fuzz_forms.py).
MAX_NEW_ROWS = 20


class SharedChoicesFormSet(BaseInlineFormSet):
    """An inline formset whose forms share their select options: one query per select field
    for the whole formset rather than one per form."""

    shared_choice_fields: Sequence[str] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound:
            # The rows saved now (the query the formset runs anyway, cached) plus new ones.
            self.max_num = self.absolute_max = len(self.get_queryset()) + MAX_NEW_ROWS

    def _share_choices(self, form):
        cache = self.__dict__.setdefault("_choices_cache", {})
        for name in self.shared_choice_fields:
            if name not in cache:
                # iter() first: list() alone would ask a model field's choices for their
                # length, a COUNT query of its own.
                cache[name] = list(iter(form.fields[name].choices))
            form.fields[name].choices = cache[name]
        return form

    def _construct_form(self, i, **kwargs):
        return self._share_choices(super()._construct_form(i, **kwargs))

    @property
    def empty_form(self):
        return self._share_choices(super().empty_form)

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = "Remove"
            form.fields["DELETE"].widget.attrs.setdefault("class", "form-check-input")


class ContactFormSet(SharedChoicesFormSet):
    shared_choice_fields = ("kind", "service_areas")


class MeetingFormSet(SharedChoicesFormSet):
    shared_choice_fields = ("weekday", "service_area", "language")


ContactFormSetFactory = inlineformset_factory(
    Group,
    Contact,
    form=ContactForm,
    formset=ContactFormSet,
    extra=1,
    can_delete=True,
    can_delete_extra=False,
)
MeetingFormSetFactory = inlineformset_factory(
    Group,
    Meeting,
    form=MeetingForm,
    formset=MeetingFormSet,
    extra=1,
    can_delete=True,
    can_delete_extra=False,
)


def row_edits(formset) -> list[RowEdit]:
    """The rows the editor added, changed or removed, for ``directory.services``."""
    edits = []
    for i, form in enumerate(formset.forms):
        pk = form.instance.pk if i < formset.initial_form_count() else None
        if formset.can_delete and formset._should_delete_form(form):
            if pk is not None:
                edits.append(RowEdit(pk=pk, delete=True))
            continue
        if form.has_changed():
            values = {name: form.cleaned_data[name] for name in form._meta.fields}
            edits.append(RowEdit(pk=pk, values=values))
    return edits


# --- After someone else's save: the editor's changes on top of the listing as it is now ------


def _raw(widget: forms.Widget, value) -> list[str]:
    """``value`` as a browser would send it from ``widget``."""
    if isinstance(widget, forms.CheckboxInput):
        return ["on"] if value else []
    formatted = widget.format_value(value)
    if isinstance(formatted, list | tuple):
        return [str(item) for item in formatted]
    return [] if formatted is None else [str(formatted)]


def _loaded_differs(form: forms.BaseForm, name: str, now) -> bool:
    """Whether the value as this editor loaded it (the hidden input) differs from ``now``."""
    form_field = form.fields[name]
    loaded = form._widget_data_value(form_field.hidden_widget(), form[name].html_initial_name)
    return form_field.has_changed(now, loaded)


def _rebase_fields(form, current: Mapping[str, Any] | None, out: dict, html_prefix: str) -> None:
    """One form's fields, named with ``html_prefix``, into ``out`` (raw data, as posted).

    A field this editor changed keeps what they typed; any other shows its value now. Each
    field's hidden "as loaded" value becomes its value now, so that saving again writes
    exactly this editor's own changes on top of the other editor's. With no ``current`` (a
    row that does not exist now) everything typed is kept as a new row.
    """
    changed = set(form.changed_data) if form.is_bound else set()
    for name, form_field in form.fields.items():
        if not form_field.show_hidden_initial:
            continue
        html_name = f"{html_prefix}{name}"
        now = form_field.prepare_value(current.get(name) if current is not None else None)
        if current is None or name in changed:
            out[html_name] = form.data.getlist(form.add_prefix(name)) if form.is_bound else []
        else:
            out[html_name] = _raw(form_field.widget, now)
        out[f"initial-{html_name}"] = _raw(form_field.hidden_widget(), now)


def rebase_group_data(form: GroupEditForm, current: Group) -> tuple[dict, list[str]]:
    """The listing form's data rebased on ``current``, and the fields changed since loading."""
    out: dict[str, list[str]] = {}
    values = model_to_dict(current)
    _rebase_fields(form, values, out, "")
    out["version"] = [str(current.version)]
    moved = [
        name
        for name, form_field in form.fields.items()
        if form_field.show_hidden_initial and _loaded_differs(form, name, values.get(name))
    ]
    return out, moved


def _same_row(form, values: Mapping[str, Any]) -> bool:
    """Whether what was typed into ``form`` is ``values`` (a row as saved)."""
    for name, form_field in form.fields.items():
        if form_field.show_hidden_initial:
            typed = form._widget_data_value(form_field.widget, form.add_prefix(name))
            if form_field.has_changed(values.get(name), typed):
                return False
    return True


def _submitted_pk(formset, form):
    raw = form.data.get(form.add_prefix(formset.model._meta.pk.name))
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def rebase_formset_data(formset, parent, describe) -> tuple[dict, list[str]]:
    """A contacts or meetings formset's data rebased on the rows as they are now.

    Rows now in the database come first (a formset's existing rows must): each with what this
    editor typed into it, if anything. Rows this editor changed that someone else removed come
    back as new rows, so nothing typed is lost, as do the rows they added. Returns the data and
    notes of what the other editor did to the rows (``describe(row)`` names a row).
    """
    prefix = formset.prefix
    initial_count = formset.initial_form_count()
    submitted, new_forms = {}, []
    for i, form in enumerate(formset.forms):
        if i < initial_count:
            pk = _submitted_pk(formset, form)
            if pk is not None:
                submitted[pk] = form
        elif form.has_changed():
            new_forms.append(form)

    out: dict[str, list[str]] = {}
    notes: list[str] = []
    index = 0
    for row in formset.model.objects.filter(**{formset.fk.name: parent}):
        values = model_to_dict(row)
        form = submitted.pop(row.pk, None)
        if form is None:
            # A row added meanwhile that this editor typed too (a double-clicked save, most
            # often) is one row, not two.
            same = next((f for f in new_forms if _same_row(f, values)), None)
            if same is not None:
                new_forms.remove(same)
            else:
                notes.append(f"{describe(row)}: added")
            form = formset.empty_form
        elif any(
            _loaded_differs(form, name, values.get(name))
            for name, form_field in form.fields.items()
            if form_field.show_hidden_initial
        ):
            notes.append(f"{describe(row)}: changed")
        row_prefix = f"{prefix}-{index}-"
        _rebase_fields(form, values, out, row_prefix)
        out[f"{row_prefix}id"] = [str(row.pk)]
        out[f"{row_prefix}{formset.fk.name}"] = [str(parent.pk)]
        if form.is_bound and form.data.get(form.add_prefix("DELETE")):
            out[f"{row_prefix}DELETE"] = ["on"]
        index += 1
    existing_count = index
    for form in submitted.values():
        notes.append(f"{describe(None)}: removed")
        deleting = form.data.get(form.add_prefix("DELETE"))
        if form.has_changed() and not deleting:
            new_forms.insert(0, form)
    for form in new_forms:
        row_prefix = f"{prefix}-{index}-"
        _rebase_fields(form, None, out, row_prefix)
        out[f"{row_prefix}{formset.fk.name}"] = [str(parent.pk)]
        index += 1
    out[f"{prefix}-TOTAL_FORMS"] = [str(index)]
    out[f"{prefix}-INITIAL_FORMS"] = [str(existing_count)]
    out[f"{prefix}-MIN_NUM_FORMS"] = ["0"]
    out[f"{prefix}-MAX_NUM_FORMS"] = ["1000"]
    return out, notes


def as_query_dict(*parts: Mapping[str, list[str]]) -> QueryDict:
    data = QueryDict(mutable=True)
    for part in parts:
        for key, values in part.items():
            data.setlist(key, values)
    return data


# --- Criteria, verification, flags, resources -------------------------------------------------


def criterion_field_name(criterion: str) -> str:
    return "criterion_" + criterion.replace(".", "_")


class CriteriaForm(forms.Form):
    """II.A–H: per criterion, whether the listing meets it, does not, or is not confirmed."""

    def __init__(self, *args, statuses: Mapping[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        statuses = statuses or {}
        for criterion in Criterion:
            self.fields[criterion_field_name(criterion.value)] = forms.ChoiceField(
                choices=CriterionConfirmation.Status.choices,
                widget=forms.RadioSelect,
                initial=statuses.get(criterion.value, CriterionConfirmation.Status.NOT_CONFIRMED),
                label=f"{criterion.value} {criterion.label}",
                error_messages={
                    "required": "Choose meets, does not meet or not confirmed.",
                    "invalid_choice": "Choose meets, does not meet or not confirmed.",
                },
            )
        _style(self)

    def statuses(self) -> dict[str, str]:
        return {c.value: self.cleaned_data[criterion_field_name(c.value)] for c in Criterion}


class ReviewFlagForm(forms.ModelForm):
    class Meta:
        model = ReviewFlag
        fields = ["summary", "detail", "concerns_medication"]
        labels = {
            "summary": "What is in doubt",
            "detail": "Details",
            "concerns_medication": (
                "It is about whether a client on prescribed medication is safe there (VI.C)"
            ),
        }
        widgets = {"detail": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)


class ResolveFlagForm(forms.Form):
    # VI.C: asked only for a medication concern about a listing (the view drops it otherwise).
    outcome = forms.ChoiceField(
        label="What was found (VI.C)",
        choices=ReviewFlag.Outcome.choices,
        widget=forms.RadioSelect,
        help_text=(
            "Unfounded clears the clinicians' alerts; stance changed records that members "
            "encourage stopping psychiatric medication against physician advice or do not treat "
            "members on medication as full members; group removed archives the listing."
        ),
        error_messages={
            "required": "Say what was found: unfounded, stance changed, or group removed.",
            "invalid_choice": "Say what was found: unfounded, stance changed, or group removed.",
        },
    )
    resolution_note = forms.CharField(
        label="How it was resolved",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What was checked or changed, and with whom. Kept with the flag.",
        error_messages={"required": "Say how the flag was resolved: the note is kept with it."},
    )

    def __init__(self, *args, medication: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not medication:
            del self.fields["outcome"]
        _style(self)


class ResourceForm(forms.ModelForm):
    """SHARE!, the Friendship Line, the Client Coalition (VIII.D–E): data an admin corrects."""

    class Meta:
        model = ReferralResource
        fields = list(RESOURCE_FIELDS)
        labels = {
            "url": "Web address",
            "opens_at": "Opens at",
            "closes_at": "Closes at",
            "needs_confirmation": "Needs confirmation",
            "confirmation_note": "What needs confirming",
        }
        help_texts = {
            "hours": "As it should be told to a client, e.g. “6:00–10:00 p.m. daily”.",
            "needs_confirmation": "Shown to clinicians until someone has confirmed the details.",
        }
        widgets = {
            "opens_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "closes_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "description": forms.Textarea(attrs={"rows": 3}),
            "confirmation_note": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)

    def clean(self):
        data = super().clean()
        if data.get("needs_confirmation") and not data.get("confirmation_note", "").strip():
            self.add_error("confirmation_note", "Say what needs confirming.")
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if (opens is None) != (closes is None) and not {"opens_at", "closes_at"} & set(self.errors):
            self.add_error("closes_at", "Give both the opening and the closing time, or neither.")
        return data


class ResourcePhoneForm(forms.ModelForm):
    class Meta:
        model = ResourcePhone
        fields = list(RESOURCE_PHONE_FIELDS)
        labels = {"label": "What it is for", "source": "Where it was printed"}
        help_texts = {"phone": "E.g. (888) 448-9777.", "extension": "Digits only."}
        widgets = {"phone": core_widgets.PhoneInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["extension"].validators.append(
            RegexValidator(r"^\d+\Z", EXTENSION_MESSAGE, code="extension")
        )
        _style(self)


ResourcePhoneFormSetFactory = inlineformset_factory(
    ReferralResource,
    ResourcePhone,
    form=ResourcePhoneForm,
    formset=SharedChoicesFormSet,
    extra=1,
    can_delete=True,
    can_delete_extra=False,
)


MEETING_TYPE_CHOICES = sorted(MEETING_TYPES.items())


# --- The imports: an upload, then its confirmation ----------------------------------------


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=(
            f"UTF-8 text (Excel: “CSV UTF-8”), at most {describe_size(MAX_BYTES)}, with the "
            "export's columns."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {describe_size(upload.size)}; the limit is "
                f"{describe_size(MAX_BYTES)}."
            )
        return upload


class MeetingUploadForm(UploadForm):
    # Every current listing (2,000 in the county): only the two columns the options show, and
    # written out without a template per option (core/widgets.py).
    listing = forms.ModelChoiceField(
        queryset=Group.objects.current().order_by("name").only("pk", "name"),
        widget=core_widgets.Select,
        required=False,
        label="Listing the meetings belong to",
        empty_label="Each meeting's “group” names its listing",
        help_text=(
            "Choose a listing when the whole file is one group's schedule; otherwise each "
            "meeting's group field must be the name of a current listing."
        ),
    )

    by_name = forms.BooleanField(
        required=False,
        label="A published feed: match each meeting to a listing by name",
        help_text=(
            "For a local intergroup's feed, where most meetings are of groups not in the "
            "directory: each meeting is matched by its group's or its own name, you check or "
            "change the match row by row in the preview, and the others are skipped."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].label = "Meeting Guide JSON file"
        self.fields["file"].help_text = (
            f"A JSON array of meetings (code4recovery's Meeting Guide format), UTF-8, at most "
            f"{describe_size(MAX_BYTES)}."
        )
        self.fields["file"].widget.attrs["accept"] = ".json,application/json"


class ConfirmForm(forms.Form):
    """All the confirmation carries: which kept upload, and the hash of its text."""

    token = forms.CharField(max_length=64, widget=forms.HiddenInput)
    sha256 = forms.RegexField(regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)


# --- The verification call (VII.D) ------------------------------------------------------------

ANSWER_CHOICES = [
    ("yes", "Yes"),
    ("no", "No"),
    ("not-asked", "Not asked or no clear answer"),
]


class CallForm(forms.Form):
    """One attempt to reach a group; the answers count only when it was reached."""

    outcome = forms.ChoiceField(
        label="What happened",
        choices=VerificationCall.Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what happened on the call."},
    )
    number_called = forms.CharField(label="Number called", max_length=40, required=False)
    spoke_with = forms.CharField(
        label="Who answered",
        max_length=100,
        required=False,
        help_text="As they put it: “a member”, “the secretary”, a first name. No surnames.",
    )
    encourages_stopping = forms.ChoiceField(
        label=QUESTION_ENCOURAGE_STOP,
        choices=ANSWER_CHOICES,
        initial="not-asked",
        widget=forms.RadioSelect,
    )
    full_members = forms.ChoiceField(
        label=QUESTION_FULL_MEMBERS,
        choices=ANSWER_CHOICES,
        initial="not-asked",
        widget=forms.RadioSelect,
    )
    fees_note = forms.CharField(
        label="Dues and fees", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    languages = forms.ModelMultipleChoiceField(
        label="Languages the meetings are held in",
        queryset=Language.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label="Note on the call", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, group: Group, statuses: Mapping[str, str], languages, **kwargs):
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("fees_note", group.fees_note)
        initial.setdefault("languages", [language.pk for language in group.languages.all()])
        super().__init__(*args, **kwargs)
        self.fields["languages"].queryset = languages
        for criterion in Criterion:
            self.fields[criterion_field_name(criterion.value)] = forms.ChoiceField(
                label=f"{criterion.value} {criterion.label}",
                choices=CriterionConfirmation.Status.choices,
                initial=statuses.get(criterion.value, CriterionConfirmation.Status.NOT_CONFIRMED),
                widget=forms.RadioSelect,
            )
        _style(self)

    def criteria_fields(self):
        return [self[criterion_field_name(c.value)] for c in Criterion]

    def statuses(self) -> dict[str, str]:
        return {c.value: self.cleaned_data[criterion_field_name(c.value)] for c in Criterion}

    def reached(self) -> bool:
        return self.cleaned_data.get("outcome") == VerificationCall.Outcome.REACHED


class ReportForm(forms.Form):
    """A clinician's one-click report about a listing."""

    kind = forms.ChoiceField(
        label="What is wrong",
        choices=list(REPORT_CHOICES.items()),
        error_messages={"required": "Choose what is wrong with the listing."},
    )
    note = forms.CharField(label="Note (optional)", max_length=500, required=False)


class SendLinkForm(forms.Form):
    email = forms.EmailField(
        label="The group's e-mail address",
        help_text="A link to confirm or correct the listing is sent there; it works once.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)


def _plain(limit: int):
    # The rule decides; the words are the reader's language (the public pages are EN/ES).
    def validate(value):
        value = value or ""
        if not plain_text_problem(value, limit):
            return
        if looks_like_html(value):
            raise forms.ValidationError(_("Plain text only, please: no HTML."))
        raise forms.ValidationError(_("At most %(limit)s characters, please.") % {"limit": limit})

    return validate


class ChangeRequestForm(forms.Form):
    """What a group, or anyone, proposes for a listing: plain text, each field limited, and a
    field that people never see and spam robots fill in (``website_url``)."""

    sender_name = forms.CharField(
        label=_("Your name"), max_length=100, required=False, validators=[_plain(100)]
    )
    sender_email = forms.EmailField(
        label=_("Your e-mail address"),
        required=False,
        help_text=_("Only if you would like us to write back."),
    )
    message = forms.CharField(
        label=_("What should change?"),
        max_length=MAX_MESSAGE,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        validators=[_plain(MAX_MESSAGE)],
    )
    # The honeypot: hidden from people by the page (and from screen readers), filled by robots.
    website_url = forms.CharField(required=False, label=_("Leave this empty"))

    def __init__(self, *args, group: Group, with_confirm: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.with_confirm = with_confirm
        labels = {
            "name": _("Name of the group"),
            "description": _("What the group does"),
            "phone": _("Phone number"),
            "email": _("E-mail address"),
            "website": _("Web address"),
            "fees_note": _("Dues and fees"),
            "meetings": _("Meetings: days, times, places, online links"),
            "languages": _("Languages"),
        }
        for name, label in labels.items():
            limit = CHANGE_FIELDS[name][1]
            widget = (
                forms.Textarea(attrs={"rows": 3})
                if name in ("description", "meetings", "fees_note")
                else forms.TextInput()
            )
            self.fields[name] = forms.CharField(
                label=label,
                required=False,
                max_length=limit,
                widget=widget,
                validators=[_plain(limit)],
            )
        answers = [
            ("yes", _("Yes")),
            ("no", _("No")),
            ("", _("I would rather not say")),
        ]
        self.fields["encourages_stopping"] = forms.ChoiceField(
            label=_("Do members ever encourage others to stop psychiatric medication?"),
            choices=answers,
            required=False,
            widget=forms.RadioSelect,
        )
        self.fields["full_members"] = forms.ChoiceField(
            label=_("Are people who take prescribed psychiatric medication full members?"),
            choices=answers,
            required=False,
            widget=forms.RadioSelect,
        )
        if with_confirm:
            self.fields["confirms_all"] = forms.BooleanField(
                label=_("Everything shown about our group is correct"), required=False
            )
        _style(self)

    def is_robot(self) -> bool:
        return bool(self.data.get("website_url"))

    def proposed(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[name].strip()
            for name in CHANGE_FIELDS
            if (self.cleaned_data.get(name) or "").strip()
        }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        nothing = not self.proposed() and not (data.get("message") or "").strip()
        if nothing and not data.get("confirms_all"):
            raise forms.ValidationError(
                _("Tell us what should change, or confirm that everything is correct.")
            )
        return data


class ReviewChangeForm(forms.Form):
    """The site admin's decision on each field of a change request: accept (as proposed or as
    edited here) or reject."""

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        for name, value in request.proposed.items():
            if name not in CHANGE_FIELDS:
                continue
            label = CHANGE_FIELDS[name][0]
            self.fields[f"decide_{name}"] = forms.ChoiceField(
                label=f"{label}: decision",
                choices=[("accept", "Accept"), ("reject", "Reject")],
                initial="accept" if name in APPLIED_FIELDS + MEDICATION_FIELDS else "reject",
                widget=forms.RadioSelect,
            )
            if name in APPLIED_FIELDS:
                self.fields[f"value_{name}"] = forms.CharField(
                    label=f"{label}: value to write",
                    initial=value,
                    required=False,
                    max_length=CHANGE_FIELDS[name][1],
                    widget=forms.Textarea(attrs={"rows": 2})
                    if len(value) > 80
                    else forms.TextInput(),
                )
        _style(self)

    def rows(self):
        for name, value in self.request.proposed.items():
            if f"decide_{name}" in self.fields:
                yield {
                    "name": name,
                    "label": CHANGE_FIELDS[name][0],
                    "proposed": value,
                    "decide": self[f"decide_{name}"],
                    "value": self[f"value_{name}"] if f"value_{name}" in self.fields else None,
                    "applied": name in APPLIED_FIELDS or name in MEDICATION_FIELDS,
                }

    def decisions(self) -> dict[str, str | None]:
        """Field -> the value to write (accepted, maybe edited), or None when rejected."""
        out = {}
        for name in self.request.proposed:
            decide = self.cleaned_data.get(f"decide_{name}")
            if decide is None:
                continue
            if decide == "reject":
                out[name] = None
            else:
                out[name] = self.cleaned_data.get(f"value_{name}", self.request.proposed[name])
        return out
