"""Every referral form: screening, client input, groups, the procedure and the follow-ups.

Screening (IV–VI), the client's input and approval (VIII.B), choosing groups (VIII.C), the
procedure's steps and follow-ups (VIII.A–K) and the clinic's follow-up schedule (VIII.J).

Forms validate and normalise; they never write. The screening form turns what was posted into
``eligibility.ScreeningAnswers`` and lets the rules' own ``validate`` find contradictions, so
that the page and the rules can never disagree about what is acceptable.
"""

from __future__ import annotations

import uuid

from crispy_forms.helper import FormHelper
from django import forms
from phonenumber_field.formfields import PhoneNumberField

from clients.models import LANGUAGE_CHOICES, PeerContact
from directory.models import Group, Need, ServiceArea
from directory.rules import places
from referrals.models import FollowUp, MedicationSafetyDecision, Referral
from referrals.rules import clauses, eligibility, medication_safety, schedule

ANSWER_CHOICES = [
    (eligibility.Answer.NOT_ASSESSED.value, "Not assessed yet"),
    (eligibility.Answer.NO.value, "No"),
    (eligibility.Answer.YES.value, "Yes"),
]
CRITERION_CHOICES = [
    (eligibility.Criterion.NOT_ASSESSED.value, "Not assessed yet"),
    (eligibility.Criterion.MET.value, "Met: can be with a group for 20 minutes"),
    (eligibility.Criterion.NOT_MET.value, "Not met"),
]


def detail_field_name(code: str) -> str:
    """``IV.H`` → ``detail_iv_h``: a field name that needs no escaping anywhere."""
    return "detail_" + code.lower().replace(".", "_")


class ScreeningForm(forms.Form):
    """One screening: IV.A–H (with details), V, VI.A, VI.B (with the explanation), VI.C."""

    indications = forms.MultipleChoiceField(
        choices=[(i.code, f"{i.code} {i.title}") for i in clauses.INDICATIONS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    no_indication_found = forms.BooleanField(
        required=False, label="None of the indications IV.A–H applies"
    )
    selection_criterion = forms.ChoiceField(
        choices=CRITERION_CHOICES,
        initial=eligibility.Criterion.NOT_ASSESSED.value,
        widget=forms.RadioSelect,
        label="V. Selection criterion",
    )
    violence = forms.ChoiceField(
        choices=ANSWER_CHOICES,
        initial=eligibility.Answer.NOT_ASSESSED.value,
        widget=forms.RadioSelect,
        label="VI.A Violence with lack of impulse control",
    )
    explanation_given = forms.BooleanField(
        required=False,
        label="Self-help options were explained adequately (VIII.A counselling)",
    )
    disinterest = forms.ChoiceField(
        choices=ANSWER_CHOICES,
        initial=eligibility.Answer.NOT_ASSESSED.value,
        widget=forms.RadioSelect,
        label="VI.B Expressed disinterest in self-help options after adequate explanation",
    )
    on_medication = forms.ChoiceField(
        choices=ANSWER_CHOICES,
        initial=eligibility.Answer.NOT_ASSESSED.value,
        widget=forms.RadioSelect,
        label="VI.C Taking appropriately prescribed psychiatric medication",
    )
    # A one-time token made when the form is shown (``initial_for``): the same form sent twice
    # saves one screening (``services.record_screening``). Anything but a UUID is dropped: the
    # form is then saved as a new screening, never refused for it.
    submission_id = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    # Each radio group starts with an answer chosen ("Not assessed yet"), so "required" on every
    # radio would only be read out, never help; the page posts with ``novalidate`` anyway.
    use_required_attribute = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The page draws V and VI's radios with ``|as_crispy_field``: in a row, each group a
        # fieldset whose legend (the field's label) is for screen readers only, the question
        # being written out beside it; its required asterisk is not read out either (app.css).
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.field_template = "bootstrap5/layout/radioselect_inline.html"
        self.helper.inline_class = "inline"  # what crispy's own InlineRadios sets
        self.helper.label_class = "visually-hidden"
        for indication in clauses.INDICATIONS:
            self.fields[detail_field_name(indication.code)] = forms.ChoiceField(
                choices=[("", "—")] + [(d.code, d.label) for d in indication.details],
                required=False,
                # Needed only once the indication is ticked: "required" beside an unticked
                # one read as if every indication had to be answered.
                label=(
                    f"Which one ({indication.code})"
                    + (", it helps matching" if indication.detail_asked else "")
                ),
            )

    def indication_rows(self):
        """Each indication with its checkbox, its detail field and the policy's words."""
        chosen = set(self["indications"].value() or [])
        checkboxes = {widget.data["value"]: widget for widget in self["indications"]}
        for indication in clauses.INDICATIONS:
            yield {
                "indication": indication,
                "checkbox": checkboxes[indication.code],
                "detail": self[detail_field_name(indication.code)],
                "checked": indication.code in chosen,
            }

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        found = tuple(
            eligibility.IndicationFound(code, cleaned.get(detail_field_name(code)) or "")
            for code in cleaned.get("indications", [])
        )
        answers = eligibility.ScreeningAnswers(
            indications=found,
            no_indication_found=cleaned.get("no_indication_found", False),
            selection_criterion=eligibility.Criterion(cleaned["selection_criterion"]),
            violence_without_impulse_control=eligibility.Answer(cleaned["violence"]),
            expressed_disinterest=eligibility.Answer(cleaned["disinterest"]),
            explanation_given=cleaned.get("explanation_given", False),
            on_prescribed_medication=eligibility.Answer(cleaned["on_medication"]),
        )
        problems = eligibility.validate(answers)
        for _field, message in problems:
            self.add_error(None, message)
        if not problems:
            cleaned["answers"] = answers
        return cleaned

    def clean_submission_id(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.cleaned_data.get("submission_id") or "")
        except ValueError:
            return None

    @classmethod
    def initial_for(cls, client) -> dict:
        """VI.C starts from what the client's record says; the clinician confirms it. Each
        form shown gets a token of its own."""
        return {
            "on_medication": (
                eligibility.Answer.YES.value
                if client.on_prescribed_medication
                else eligibility.Answer.NOT_ASSESSED.value
            ),
            "submission_id": str(uuid.uuid4()),
        }


class ClientInputForm(forms.ModelForm):
    """VIII.B: the client's goals, most convenient location, language and cultural needs, and
    the client's approval (or their decision not to go on, VII.E)."""

    APPROVAL_CHOICES = [
        (Referral.Approval.APPROVED.value, "The client approves the referral"),
        (
            Referral.Approval.DECLINED.value,
            "The client declines for now (VII.E: encouraged, not required)",
        ),
    ]

    location_text = forms.CharField(
        required=False,
        max_length=100,
        label="Or a city, neighbourhood or ZIP code",
        help_text="For example Pasadena, Boyle Heights or 90033. It is matched to a service area.",
    )
    approval = forms.ChoiceField(choices=APPROVAL_CHOICES, widget=forms.RadioSelect)
    # VIII.A comes before VIII.B; shown only while the counselling is not yet recorded.
    counselled = forms.BooleanField(
        required=False,
        label="I have counselled the client on the benefits of attending a self-help group "
        "(VIII.A)",
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Referral
        fields = [
            "goals",
            "goal_needs",
            "preferred_area",
            "location_text",
            "language",
            "cultural_needs",
            "twelve_step",
            "approval",
            "declined_reason",
        ]
        labels = {
            "goals": "The client's goals in attending a group, in their words",
            "goal_needs": "What the client wants help with",
            "preferred_area": "Most convenient location: a service area",
            "language": "Language for the group",
            "cultural_needs": "Cultural or linguistic needs",
            "twelve_step": "12-step groups",
            "declined_reason": "The client's reason for declining",
        }
        widgets = {
            "goals": forms.Textarea(attrs={"rows": 3}),
            "goal_needs": forms.CheckboxSelectMultiple,
            "cultural_needs": forms.Textarea(attrs={"rows": 2}),
            "declined_reason": forms.Textarea(attrs={"rows": 2}),
            "twelve_step": forms.RadioSelect,
        }

    def __init__(self, *args, counselling_needed: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.counselling_needed = counselling_needed
        if not counselling_needed:
            del self.fields["counselled"]
        self.fields["goal_needs"].queryset = Need.objects.order_by("name")
        self.fields["preferred_area"].queryset = ServiceArea.objects.filter(
            kind__in=[ServiceArea.Kind.SPA, ServiceArea.Kind.COUNTYWIDE]
        ).order_by("order", "name")
        self.fields["preferred_area"].required = False
        self.fields["language"].choices = LANGUAGE_CHOICES
        self.fields["language"].required = True
        self.fields["location_text"].widget.attrs["list"] = "place-names"
        self.fields["location_text"].widget.attrs["autocomplete"] = "off"
        if self.instance.approval == Referral.Approval.PENDING:
            self.initial.pop("approval", None)
        self.initial.setdefault("version", self.instance.version)

    def clean_location_text(self):
        return " ".join(self.cleaned_data.get("location_text", "").split())

    def clean(self):
        cleaned = super().clean()
        area = cleaned.get("preferred_area")
        text = cleaned.get("location_text", "")
        if text:
            try:
                place = places.resolve_place(text)
            except places.PlaceNotFound as problem:
                self.add_error("location_text", str(problem))
            else:
                resolved = ServiceArea.objects.filter(spa_number=place.spa_number).first()
                if area is not None and resolved is not None and area != resolved:
                    self.add_error(
                        "location_text",
                        f"{place.label} is in {resolved.name}, not {area.name}: choose one.",
                    )
                cleaned["preferred_area"] = area or resolved
                cleaned["place_label"] = place.label
        approval = cleaned.get("approval")
        if (
            approval == Referral.Approval.APPROVED
            and self.counselling_needed
            and not cleaned.get("counselled")
        ):
            self.add_error(
                "counselled",
                "Counsel the client on the benefits first (VIII.A), then record their approval.",
            )
        if approval == Referral.Approval.APPROVED:
            # A place that could not be placed has its own message already; one is enough.
            if not cleaned.get("preferred_area") and "location_text" not in self.errors:
                self.add_error(
                    "preferred_area",
                    "Give the most convenient location: a service area or a place.",
                )
            cleaned["declined_reason"] = ""
        elif (
            approval == Referral.Approval.DECLINED
            and not cleaned.get("declined_reason", "").strip()
        ):
            self.add_error("declined_reason", "Record the client's reason for declining.")
        return cleaned


class ChooseGroupsForm(forms.Form):
    """VIII.C: the groups picked with the client, from the suggestions on the page."""

    groups = forms.TypedMultipleChoiceField(
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Pick at least one group with the client.",
            "invalid_choice": (
                "One of the groups picked is not among this client's suggestions; "
                "it may have been excluded (VI.C) or changed. Pick again from the list."
            ),
        },
    )

    def __init__(self, *args, suggestions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].choices = [(s.listing.id, s.listing.name) for s in suggestions]


class MedicationSafetyDecisionForm(forms.Form):
    """VI.C after the referral: what to do about a chosen group that became unsafe."""

    kind = forms.ChoiceField(
        label="Decision",
        choices=MedicationSafetyDecision.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose what to do about the group: remove it, choose another, or keep it.",
            "invalid_choice": (
                "Choose what to do about the group: remove it, choose another, or keep it."
            ),
        },
    )
    replacement = forms.TypedChoiceField(
        label="The group to refer to instead",
        coerce=int,
        required=False,
        empty_value=None,
        error_messages={
            "invalid_choice": "Pick the other group from the list: it may have changed.",
        },
    )
    reason = forms.CharField(
        label="Why the group is kept",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed to keep the group; kept with the referral.",
    )
    discussed = forms.BooleanField(
        label="I discussed keeping this group with the client and their prescriber",
        required=False,
    )

    def __init__(self, *args, replacements=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["replacement"].choices = [("", "Choose a group")] + [
            (s.listing.id, s.listing.name) for s in replacements
        ]

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind:
            for error in medication_safety.check_decision(
                kind=kind,
                reason=cleaned.get("reason") or "",
                discussed=bool(cleaned.get("discussed")),
                replacement=cleaned.get("replacement") is not None,
            ):
                self.add_error(None, error)
        return cleaned


# --- the procedure, VIII.A–K ----------------------------------------------------------------


class StepDoneForm(forms.Form):
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class NotApplicableForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        label="Why it does not apply",
        error_messages={"required": "Give the reason the step does not apply."},
    )


class IntroductionForm(forms.Form):
    """VIII.C: the peer the client was introduced to by phone, by first name only."""

    peer_contact = forms.ModelChoiceField(
        queryset=PeerContact.objects.none(),
        widget=forms.RadioSelect,
        label="Peer contact introduced",
        error_messages={
            "required": "Choose the peer contact the client was introduced to.",
            "invalid_choice": (
                "That peer contact is no longer available (they may have withdrawn). "
                "Choose another, or record that no peer is available (VIII.D)."
            ),
        },
    )
    note = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, peers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["peer_contact"].queryset = (
            peers if peers is not None else PeerContact.objects.none()
        )
        # First names only (anonymity, VIII.C): the label shows nothing else.
        self.fields["peer_contact"].label_from_instance = lambda peer: peer.first_name


class AdvocateForm(forms.Form):
    """VIII.H: who went with the client (first name) and to which of the first three sessions."""

    first_name = forms.CharField(max_length=40, label="Peer advocate's first name")
    # None ticked: the plan, before the sessions happen (the advocate who will go).
    sessions = forms.TypedMultipleChoiceField(
        choices=[(1, "First session"), (2, "Second session"), (3, "Third session")],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Sessions accompanied",
        error_messages={
            "invalid_choice": "Only the first three sessions are accompanied (VIII.H).",
        },
    )

    def clean_first_name(self):
        name = " ".join(self.cleaned_data["first_name"].split())
        if not name:
            raise forms.ValidationError("Give the advocate's first name.")
        return name


class ContactAnswerForm(forms.Form):
    """VIII.K: would the client be a contact person for the group they attend?"""

    ANSWERS = [("yes", "Yes, they agree to be a contact"), ("no", "No")]

    answer = forms.ChoiceField(
        choices=ANSWERS, widget=forms.RadioSelect, label="The client's answer"
    )
    group = forms.ModelChoiceField(
        queryset=Group.objects.none(), required=False, label="For the group"
    )
    first_name = forms.CharField(required=False, max_length=40, label="First name they share")
    phone = PhoneNumberField(required=False, region="US", label="Phone they chose to share")

    def __init__(self, *args, groups=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups if groups is not None else Group.objects.none()

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("answer") == "yes":
            for field, message in [
                ("group", "Choose the group they will be a contact for."),
                ("first_name", "Give the first name they chose to share."),
                ("phone", "Give the phone they chose to share."),
            ]:
                if not cleaned.get(field) and field not in self.errors:
                    self.add_error(field, message)
            if cleaned.get("first_name") and len(cleaned["first_name"].split()) > 1:
                self.add_error("first_name", "A first name only, for their anonymity.")
        return cleaned


class FollowUpAddForm(forms.Form):
    due_on = forms.DateField(label="Follow up on", widget=forms.DateInput(attrs={"type": "date"}))


class FollowUpDoneForm(forms.Form):
    outcome = forms.ChoiceField(choices=FollowUp.Outcome.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CloseReferralForm(forms.Form):
    reason = forms.ChoiceField(
        choices=[
            (Referral.CloseReason.COMPLETED.value, "Completed: the client attended the group"),
            (Referral.CloseReason.DECLINED.value, "The client declined (VII.E)"),
            (Referral.CloseReason.LOST_CONTACT.value, "Lost contact"),
            (Referral.CloseReason.IN_ERROR.value, "Opened in error"),
        ],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(required=False, max_length=100)


class FollowUpScheduleForm(forms.Form):
    weeks = forms.CharField(
        label="Follow up after these weeks",
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control"}),
        help_text=(
            "Whole weeks after the referral, separated by commas, in increasing order: from 1 "
            f"to {schedule.MAX_WEEK}, at most {schedule.MAX_ENTRIES}. For example “1, 3, 6”."
        ),
    )

    def clean_weeks(self) -> list[int]:
        try:
            return schedule.parse_weeks(self.cleaned_data["weeks"])
        except schedule.BadWeeks as bad:
            raise forms.ValidationError(bad.problems) from None
