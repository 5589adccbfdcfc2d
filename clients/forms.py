"""Every form of clients: client records, attendance (IX.A), feedback (IX.B), the review.

They validate and normalise, and write nothing: ``clients.services`` does the writing. The
clinic is never a field: it is the signed-in user's clinic, passed in by the view, so a
tampered form cannot file a client under another clinic or pick another clinic's clinician.
"""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q

from accounts.models import Role
from clients.models import (
    CLIENT_FIELDS,
    OTHER_LANGUAGE,
    RECORD_NUMBER_RE,
    Attendance,
    Client,
    Feedback,
    normalise_record_number,
    validate_record_number,
)
from clients.rules import attendance as attendance_rules
from clients.selectors import attendance, review
from clients.selectors import feedback as feedback_selectors
from clients.selectors.review import DEFAULT_GAP_WEEKS, MAX_GAP_WEEKS, MIN_GAP_WEEKS
from core import widgets
from core.periods import DATE_MESSAGES, DEFAULT_DAYS, EARLIEST, Period, date_input, period_problems
from directory.models import Group

MEDICATION_HELP = (
    "Policy 04.9, VI.C: for a client taking appropriately prescribed psychiatric medication, "
    "no referral is made to a group whose members encourage stopping medication against "
    "physician advice, or that does not treat members on medication as full members. Ticking "
    "this keeps groups recorded as such out of the client's suggestions, and marks those whose "
    "stance is not confirmed for you to ask before referring."
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
        if not self.instance.pk:
            # A new client: the cursor waits in the first field.
            self.fields["record_number"].widget.attrs["autofocus"] = True
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


# --- IX.A: attendance --------------------------------------------------------------------------

YES, NO = "yes", "no"


def _meeting_label(meeting) -> str:
    start = meeting.start_time
    noon = "a.m." if start.hour < 12 else "p.m."
    when = f"{meeting.get_weekday_display()} {start.hour % 12 or 12}:{start:%M} {noon}"
    where = meeting.name or meeting.location_name or ("Online" if meeting.online_url else "")
    return f"{when}, {where}" if where else when


class AttendanceForm(forms.Form):
    """IX.A: one group, several dates. Validation only; ``record_attendance`` saves."""

    group = forms.TypedChoiceField(
        label="Group",
        coerce=int,
        # Every current listing (2,000 in the county): written out without a template each.
        widget=widgets.Select,
        error_messages={
            "required": "Choose the group.",
            "invalid_choice": (
                "That listing does not exist or has been archived. Choose a group from the list."
            ),
        },
    )
    dates = forms.CharField(
        label="Dates of the meetings",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "2026-06-02\n6/9/2026"}),
        help_text=(
            "One date a line (or separated by commas), as 2026-06-02 or 6/2/2026. "
            f"Up to {attendance_rules.MAX_DATES} at a time; each must have happened already."
        ),
        error_messages={"required": "Enter at least one date."},
    )
    status = forms.ChoiceField(
        label="The client",
        choices=Attendance.Status.choices,
        initial=Attendance.Status.ATTENDED,
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether the client attended or missed."},
    )
    meeting = forms.TypedChoiceField(
        label="Which meeting",
        coerce=int,
        required=False,
        widget=widgets.Select,  # up to 200 meetings (attendance.form_meetings)
        empty_value=None,
        help_text="When known. The directory's meetings of the client's groups.",
        error_messages={"invalid_choice": "Choose one of the group's meetings, or “Not known”."},
    )
    accompanied = forms.TypedChoiceField(
        label="A peer advocate went with the client (VIII.H)",
        choices=[(NO, "No"), (YES, "Yes")],
        coerce=lambda value: value == YES,
        initial=NO,
        widget=forms.RadioSelect,
        error_messages={"required": "Say whether a peer advocate went with the client."},
    )
    source = forms.ChoiceField(
        label="How it became known",
        choices=Attendance.Source.choices,
        initial=Attendance.Source.CLIENT,
        widget=forms.RadioSelect,
        error_messages={"required": "Say how the attendance became known."},
    )
    before_referral_reason = forms.CharField(
        label="Reason for dates before the referral",
        max_length=200,
        required=False,
        help_text=(
            "Only for dates before the client was referred to this group: for example, "
            "“the client was already going”."
        ),
    )

    def __init__(self, *args, client, today, referred, others, meetings, **kwargs):
        super().__init__(*args, **kwargs)
        self.client, self.today = client, today
        self._parsed: list = []
        group_choices: list = [("", "Choose a group")]
        if referred:
            group_choices.append(("Chosen for this client's referrals", referred))
        if others:
            group_choices.append(("Other listings in the directory", others))
        self.fields["group"].choices = group_choices
        by_group: dict[str, list] = {}
        for meeting in meetings:
            by_group.setdefault(meeting.group.name, []).append(
                (meeting.pk, _meeting_label(meeting))
            )
        self.fields["meeting"].choices = [("", "Not known"), *by_group.items()]
        self._meetings = {m.pk: m for m in meetings}

    def clean_dates(self):
        # The dates that could be read are kept for ``clean``, which checks them against the
        # record too: every problem is listed at once, not the unreadable ones first.
        self._parsed, problems = attendance_rules.parse_dates(self.cleaned_data["dates"])
        if problems:
            raise forms.ValidationError([p.message for p in problems])
        return self._parsed

    def clean_group(self):
        # The choice was listed as current when the page was made; it may have been archived
        # since (or the id was edited): look again.
        group = Group.objects.current().filter(pk=self.cleaned_data["group"]).first()
        if group is None:
            raise forms.ValidationError(self.fields["group"].error_messages["invalid_choice"])
        return group

    def clean_meeting(self):
        pk = self.cleaned_data["meeting"]
        return None if pk is None else self._meetings[pk]

    def clean(self):
        data = super().clean()
        group, meeting = data.get("group"), data.get("meeting")
        if group is not None and meeting is not None and meeting.group_id != group.pk:
            self.add_error(
                "meeting", "That meeting is another group's. Choose one of this group's."
            )
            meeting = None
        if self._parsed:
            problems, _ = attendance.problems_for(
                client=self.client,
                group=group,
                dates=self._parsed,
                today=self.today,
                meeting=meeting,
                reason=data.get("before_referral_reason") or "",
            )
            for problem in problems:
                field = problem.field if problem.field in self.fields else None
                if problem.message not in self.errors.get(field or "__all__", []):
                    self.add_error(field, problem.message)
        return data


# --- IX.B: feedback ----------------------------------------------------------------------------

CHOOSE_GROUP_MESSAGE = "Choose the group the feedback is about."
UNKNOWN_GROUP_MESSAGE = "That group is not on the referral list: choose one from the list."


def _referred_label(group) -> str:
    # A listing archived since the referral stays choosable: the client may still go there.
    return f"{group.name} (no longer listed)" if group.archived_at else group.name


class FeedbackForm(forms.Form):
    """IX.B's feedback. Validates only; ``clients.feedback.record_feedback`` writes."""

    group = forms.TypedChoiceField(
        label="Group",
        coerce=int,
        # Every current listing (2,000 in the county): written out without a template each.
        widget=widgets.Select,
        help_text="The groups this client was referred to are listed first.",
        error_messages={"required": CHOOSE_GROUP_MESSAGE, "invalid_choice": UNKNOWN_GROUP_MESSAGE},
    )
    given_on = forms.DateField(
        label="Date the client gave the feedback",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Give the date.", "invalid": "Give a date (year-month-day)."},
    )
    frequency = forms.ChoiceField(
        label="How often the client goes",
        choices=Feedback.Frequency.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Say how often the client goes to the group.",
            "invalid_choice": "Choose how often the client goes from the list.",
        },
    )
    observations = forms.CharField(
        label="What the client observed",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="In the client's words where possible: what helped, what the meetings are like.",
    )
    concerns = forms.CharField(
        label="Concerns the client raised",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Stays in the client's record: it is never copied to a review flag.",
    )
    concern_kinds = forms.MultipleChoiceField(
        label="Kinds of concern",
        required=False,
        choices=Feedback.Concern.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=(
            "A medication concern (the first two, policy VI.C) or a safety concern opens a "
            "review flag for the site admins at once; it says what kind of concern, never who "
            "raised it. Until a site admin resolves a medication concern, the group is not "
            "suggested to clients on prescribed medication."
        ),
        error_messages={"invalid_choice": "“%(value)s” is not a kind of concern on the list."},
    )

    def __init__(self, *args, referred, others, **kwargs):
        super().__init__(*args, **kwargs)
        self.groups = {g.pk: g for g in (*referred, *others)}
        choices: list = [("", "Choose a group")]
        if referred:
            choices.append(
                (
                    "Groups this client was referred to",
                    [(g.pk, _referred_label(g)) for g in referred],
                )
            )
        choices.append(
            ("Other listings" if referred else "Listings", [(g.pk, g.name) for g in others])
        )
        self.fields["group"].choices = choices

    def clean_group(self):
        return self.groups[self.cleaned_data["group"]]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned  # a field already refused: its message is the one to fix first
        try:
            feedback_selectors.check_feedback(
                given_on=cleaned["given_on"],
                frequency=cleaned["frequency"],
                observations=cleaned.get("observations", ""),
                concerns=cleaned.get("concerns", ""),
                concern_kinds=cleaned.get("concern_kinds", []),
            )
        except ValidationError as error:
            self.add_error(None, error)
        return cleaned


# --- the supervisor's review and sign-off ------------------------------------------------------


class ReviewQueryForm(forms.Form):
    """The page's GET parameters: the period (default the last 90 days) and the gap weeks."""

    start = forms.DateField(
        label="From", required=False, widget=date_input(), error_messages=DATE_MESSAGES
    )
    end = forms.DateField(
        label="To", required=False, widget=date_input(), error_messages=DATE_MESSAGES
    )
    weeks = forms.IntegerField(
        label="Gap after (weeks)",
        required=False,
        min_value=MIN_GAP_WEEKS,
        max_value=MAX_GAP_WEEKS,
        widget=forms.NumberInput(attrs={"class": "form-control", "min": 1, "max": 26}),
        error_messages={
            "invalid": f"Weeks are a whole number from {MIN_GAP_WEEKS} to {MAX_GAP_WEEKS}.",
            "min_value": f"Weeks are a whole number from {MIN_GAP_WEEKS} to {MAX_GAP_WEEKS}.",
            "max_value": f"Weeks are a whole number from {MIN_GAP_WEEKS} to {MAX_GAP_WEEKS}.",
        },
        help_text=(
            "A referral with no attendance documented this many weeks after it was made is a "
            f"documentation gap ({MIN_GAP_WEEKS} to {MAX_GAP_WEEKS}; default "
            f"{DEFAULT_GAP_WEEKS})."
        ),
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        end = data.get("end") or self.today
        # Without a start, the 90 days up to the end (never before the earliest date, so that
        # an end in year 1 is refused with a message rather than overflowing).
        start = data.get("start") or (
            end - timedelta(days=DEFAULT_DAYS - 1)
            if end >= EARLIEST + timedelta(days=DEFAULT_DAYS - 1)
            else EARLIEST
        )
        for name, message in period_problems(start, end, self.today).items():
            self.add_error(name, message)
        data["period"] = Period(start, end)
        data["weeks"] = data.get("weeks") or DEFAULT_GAP_WEEKS
        return data


def _staff_name(user) -> str:
    return user.get_full_name() or user.get_username()


class SignOffForm(forms.Form):
    """IX: a supervisor's sign-off of one clinician's documentation for a period."""

    clinician = forms.ModelChoiceField(
        queryset=None,
        empty_label="Choose a clinician",
        # One template for all the options, not one per option: the largest clinic lists about
        # a hundred people (core/widgets.py). Same markup.
        widget=widgets.Select(attrs={"class": "form-select"}),
        error_messages={
            "required": "Choose the clinician whose documentation you reviewed.",
            "invalid_choice": "Choose a clinician of your clinic.",
        },
    )
    period_start = forms.DateField(
        label="Period from",
        widget=date_input(),
        error_messages={**DATE_MESSAGES, "required": "Enter the first day of the period."},
    )
    period_end = forms.DateField(
        label="Period to",
        widget=date_input(),
        error_messages={**DATE_MESSAGES, "required": "Enter the last day of the period."},
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
        help_text="What you reviewed, and anything the clinician should follow up.",
    )

    def __init__(self, *args, clinic_id: int | None, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["clinician"].queryset = review.clinicians_for_sign_off(clinic_id)
        self.fields["clinician"].label_from_instance = _staff_name

    def offer(self, clinicians) -> None:
        """List ``clinicians`` (``review.clinic_staff``: the same people, in the same order, as
        the queryset) as the choices, so that showing the form reads no one again; the options
        are the ones the queryset would give. A sent form still validates its choice against
        the queryset."""
        field = self.fields["clinician"]
        field.choices = [("", field.empty_label), *((u.pk, _staff_name(u)) for u in clinicians)]

    def clean(self):
        data = super().clean()
        start, end = data.get("period_start"), data.get("period_end")
        if start and end:
            problems = period_problems(start, end, self.today)
            for name, message in problems.items():
                self.add_error(f"period_{name}", message)
        return data


class Part2ConsentForm(forms.Form):
    """The client's written 42 CFR Part 2 consent, as the signed form states it (42 CFR 2.31).
    Validates only; ``clients.services.part2_consents`` writes."""

    recipient = forms.CharField(
        label="Who may receive the information",
        max_length=200,
        help_text="As the signed form names them, e.g. “the clinic's electronic health record”.",
        error_messages={"required": "Name the recipient, as the signed form does."},
    )
    purpose = forms.CharField(
        label="Purpose",
        max_length=200,
        help_text="As the signed form states it.",
        error_messages={"required": "Give the purpose, as the signed form states it."},
    )
    signed_on = forms.DateField(
        label="Date the client signed",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Give the date.", "invalid": "Give a date (year-month-day)."},
    )
    expires_on = forms.DateField(
        label="Ends on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Give a date (year-month-day)."},
    )
    expiry_event = forms.CharField(
        label="Or ends with this event",
        max_length=200,
        required=False,
        help_text="When the form names an event instead of a date, e.g. “end of treatment”.",
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        signed_on, expires_on = data.get("signed_on"), data.get("expires_on")
        if signed_on and signed_on > self.today:
            self.add_error("signed_on", "The date signed cannot be in the future.")
        if not expires_on and not data.get("expiry_event") and "expires_on" not in self.errors:
            self.add_error(
                "expires_on", "Give the date the consent ends, or the event that ends it."
            )
        if signed_on and expires_on and expires_on < signed_on:
            self.add_error("expires_on", "The consent cannot end before it was signed.")
        return data


class Part2RevocationForm(forms.Form):
    """The client revoked a Part 2 consent: from this date on, nothing is disclosed under it."""

    consent = forms.TypedChoiceField(
        coerce=int,
        error_messages={"required": "Choose the consent.", "invalid_choice": "Choose the consent."},
    )
    revoked_on = forms.DateField(
        label="Revoked on",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "Give the date.", "invalid": "Give a date (year-month-day)."},
    )

    def __init__(self, *args, consents, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.consents = {c.pk: c for c in consents if c.revoked_on is None}
        self.fields["consent"].choices = [(pk, str(pk)) for pk in self.consents]
        self.today = today

    def clean(self):
        data = super().clean()
        consent, revoked_on = self.consents.get(data.get("consent")), data.get("revoked_on")
        if revoked_on and revoked_on > self.today:
            self.add_error("revoked_on", "The date of revocation cannot be in the future.")
        if consent and revoked_on and revoked_on < consent.signed_on:
            self.add_error("revoked_on", "A consent cannot be revoked before it was signed.")
        data["consent"] = consent
        return data
