"""Clients, attendance, feedback and peer contacts (policy VIII.K, IX).

Every client belongs to one clinic, and every query for clients starts from
``Client.objects.for_clinic(clinic)``: a clinician or supervisor of another clinic never sees
the row (the page answers 404 and the access log records the attempt).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords

from accounts.models import Clinic
from core.querysets import ClinicScopedQuerySet

# Los Angeles County DMH's threshold languages (the languages in which the county must offer
# services), plus "other". Codes are BCP 47 and match ``directory.Language.code``, so matching
# compares a client's language with a group's directly.
THRESHOLD_LANGUAGES = [
    ("en", "English"),
    ("es", "Spanish"),
    ("ar", "Arabic"),
    ("hy", "Armenian"),
    ("km", "Cambodian (Khmer)"),
    ("yue", "Cantonese"),
    ("fa", "Farsi"),
    ("ko", "Korean"),
    ("cmn", "Mandarin"),
    ("zh", "Chinese (other)"),
    ("ru", "Russian"),
    ("tl", "Tagalog"),
    ("vi", "Vietnamese"),
]
OTHER_LANGUAGE = "other"
LANGUAGE_CHOICES = [*THRESHOLD_LANGUAGES, (OTHER_LANGUAGE, "Other language")]

# A clinical record number is the county's client identifier: digits only, 6 to 10 of them.
# Staff type it with spaces or hyphens from printed forms; those are dropped before checking.
RECORD_NUMBER_RE = re.compile(r"^[0-9]{6,10}$")  # ASCII digits only


def normalise_record_number(value: str) -> str:
    return re.sub(r"[\s\-]", "", value or "")


def validate_record_number(value: str) -> None:
    if not RECORD_NUMBER_RE.fullmatch(normalise_record_number(value)):
        raise ValidationError(
            "A clinical record number is 6 to 10 digits (spaces and hyphens are ignored).",
            code="invalid_record_number",
        )


# The fields of a client staff enter and edit (the form and the service write these only).
CLIENT_FIELDS = (
    "record_number",
    "first_name",
    "last_name",
    "preferred_language",
    "preferred_language_other",
    "needs_interpreter",
    "on_prescribed_medication",  # VI.C
    "primary_clinician",
)


class Client(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="clients")
    record_number = models.CharField(
        "clinical record number",
        max_length=10,
        validators=[validate_record_number],
        help_text="6 to 10 digits; unique within the clinic.",
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    preferred_language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES, default="en")
    preferred_language_other = models.CharField(
        "other language", max_length=60, blank=True, help_text="When the language is not listed."
    )
    needs_interpreter = models.BooleanField(default=False)
    # VI.C: groups that discourage prescribed medication are never suggested to this client.
    on_prescribed_medication = models.BooleanField(
        "on appropriately prescribed psychiatric medication", default=False
    )
    primary_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="primary_clients",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    # Optimistic locking, as for listings: an edit names the version it started from.
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = ClinicScopedQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "record_number"], name="client_record_number_unique_in_clinic"
            )
        ]
        indexes = [
            models.Index(fields=["clinic", "last_name", "first_name"], name="client_clinic_name"),
            models.Index(fields=["primary_clinician"], name="client_primary_clinician"),
        ]

    def __str__(self):
        # Used in pages only; the access log stores ids, never this.
        return f"{self.first_name} {self.last_name}"

    @property
    def language_label(self) -> str:
        if self.preferred_language == OTHER_LANGUAGE and self.preferred_language_other:
            return self.preferred_language_other
        return self.get_preferred_language_display()


class PeerContact(models.Model):
    """VIII.C and VIII.K: a client who agreed to be a contact person for a group they attend.

    Only what they chose to share is kept: a first name and a phone. Withdrawing takes effect at
    once; no later introduction offers a withdrawn contact. Staff of other clinics see only the
    first name and the group.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        WITHDRAWN = "withdrawn", "Withdrawn"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="peer_contacts")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey(
        "directory.Group", on_delete=models.PROTECT, related_name="peer_contacts"
    )
    first_name = models.CharField(max_length=40)
    phone = PhoneNumberField(region="US", help_text="The phone the client chose to share.")
    consented_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    withdrawn_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    objects = ClinicScopedQuerySet.as_manager()

    class Meta:
        ordering = ["first_name", "id"]
        indexes = [models.Index(fields=["group", "status"], name="peercontact_group_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "group"],
                condition=models.Q(status="active"),
                name="one_active_peer_contact_per_client_and_group",
            )
        ]

    def __str__(self):
        return self.first_name


class Attendance(models.Model):
    """IX.A: a meeting of a group a client attended or missed, and how it became known."""

    class Status(models.TextChoices):
        ATTENDED = "attended", "Attended"
        MISSED = "missed", "Missed"

    class Source(models.TextChoices):
        CLIENT = "client", "The client's report at an appointment"
        PEER_ADVOCATE = "peer-advocate", "The peer advocate"
        OTHER = "other", "Other"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="attendance")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey("directory.Group", on_delete=models.PROTECT, related_name="+")
    # No link to a referral: clients come before referrals (design notes, section 3). A
    # referral finds its attendance by the client and the groups it chose.
    meeting = models.ForeignKey(
        "directory.Meeting", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    on_date = models.DateField("date")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ATTENDED)
    # VIII.H: a peer advocate went with the client.
    accompanied = models.BooleanField("accompanied by a peer advocate", default=False)
    source = models.CharField(max_length=14, choices=Source.choices, default=Source.CLIENT)
    # A date before the referral needs a reason (the client may already have been going).
    before_referral_reason = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-on_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "group", "on_date"], name="attendance_once_per_group_and_day"
            )
        ]
        indexes = [
            models.Index(fields=["client", "group", "on_date"], name="attendance_client_group"),
            # With the status, the supervisor review counts a clinic's attendance per day from
            # the index alone.
            models.Index(fields=["clinic", "on_date", "status"], name="attendance_clinic_day"),
        ]

    def __str__(self):
        return f"{self.on_date} {self.get_status_display()}"


class Feedback(models.Model):
    """IX.B: the client's feedback on groups: which, how often, what they saw, what worried them.

    A concern that members encouraged stopping prescribed medication, or did not treat members
    on medication as full members (VI.C), opens a review flag on the listing at once; until a
    site admin resolves it, matching keeps that listing from clients on medication. The flag
    says nothing about who the client is.
    """

    class Frequency(models.TextChoices):
        WEEKLY_OR_MORE = "weekly", "Every week or more often"
        SOME_WEEKS = "some-weeks", "Most weeks"
        OCCASIONALLY = "occasionally", "Now and then"
        ONCE = "once", "Once"
        STOPPED = "stopped", "Has stopped going"

    class Concern(models.TextChoices):
        STOP_MEDICATION = "stop-medication", "Members encouraged stopping prescribed medication"
        NOT_FULL_MEMBER = (
            "not-full-member",
            "Not treated as a full member because of medication use",
        )
        SAFETY = "safety", "A safety concern"
        OTHER = "other", "Another concern"

    MEDICATION_CONCERNS = frozenset({Concern.STOP_MEDICATION, Concern.NOT_FULL_MEMBER})

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="feedback")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    group = models.ForeignKey("directory.Group", on_delete=models.PROTECT, related_name="+")
    given_on = models.DateField()
    frequency = models.CharField(max_length=14, choices=Frequency.choices)
    observations = models.TextField(blank=True)
    concerns = models.TextField(blank=True)
    concern_kinds = models.JSONField(default=list, blank=True)
    # The flag a medication or safety concern opened for the site admins (VI.C).
    review_flag = models.ForeignKey(
        "directory.ReviewFlag",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="feedback",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-given_on", "-id"]
        indexes = [
            models.Index(fields=["client", "-given_on"], name="feedback_client_recent"),
            models.Index(fields=["clinic", "given_on"], name="feedback_clinic_date"),
        ]

    def __str__(self):
        return f"Feedback {self.given_on}"

    @property
    def concerns_medication(self) -> bool:
        return bool(self.MEDICATION_CONCERNS & set(self.concern_kinds))


class DocumentationSignOff(models.Model):
    """IX: a supervisor's review of one clinician's self-help documentation for a period."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    note = models.TextField(blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_end", "-signed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["clinician", "period_start", "period_end"], name="one_sign_off_a_period"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="sign_off_period_in_order",
            ),
        ]

    def __str__(self):
        return f"Sign-off {self.period_start}–{self.period_end}"


class SubstanceUseConsent(models.Model):
    """The client's written consent under 42 CFR Part 2 to disclose substance-use information.

    Only the facts an export needs to decide whether the consent is on file for a disclosure:
    to whom and for what (as the signed form names them), when it was signed, when it ends (a
    date, or the event the form names), whether it was revoked, and who recorded it when. The
    signed form itself stays in the clinical record. Without a consent in force, the referral's
    FHIR export leaves substance-use information out (42 CFR 2.31, 2.33).
    """

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="part2_consents")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    recipient = models.CharField(
        max_length=200, help_text="Who may receive the information, as the form names them."
    )
    purpose = models.CharField(max_length=200, help_text="The purpose, as the form states it.")
    signed_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    expiry_event = models.CharField(
        max_length=200, blank=True, help_text="The event that ends the consent, if no date."
    )
    revoked_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    objects = ClinicScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-signed_on", "-id"]
        indexes = [models.Index(fields=["client", "-signed_on"], name="part2consent_client")]
        constraints = [
            # 42 CFR 2.31(a): a consent states when it expires, as a date or an event.
            models.CheckConstraint(
                condition=models.Q(expires_on__isnull=False) | ~models.Q(expiry_event=""),
                name="part2_consent_states_its_end",
            )
        ]

    def __str__(self):
        return f"42 CFR Part 2 consent signed {self.signed_on}"
