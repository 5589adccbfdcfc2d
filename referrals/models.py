"""Screenings (policy IV–VI), referrals (VIII.B–C) and the groups chosen for them.

A screening is a record of what the clinician found on a day; it is never edited. Screening a
client again adds a new one, and earlier screenings stay in the client's history. A referral
starts from a screening whose decision was "refer", collects the client's input and approval
(VIII.B), and ends with the groups chosen (VIII.C) and the reasons each was suggested.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from accounts.models import Clinic
from clients.models import LANGUAGE_CHOICES, Client
from directory.models import Group, Need, ServiceArea


class ClinicScopedQuerySet(models.QuerySet):
    def for_clinic(self, clinic_id: int | None):
        if clinic_id is None:
            return self.none()
        return self.filter(clinic_id=clinic_id)


class Screening(models.Model):
    """One screening of a client against IV, V and VI, with the decision the rules gave."""

    class Decision(models.TextChoices):
        REFER = "refer", "Refer"
        NOT_NOW = "not-now", "Do not refer now"
        INCOMPLETE = "incomplete", "Screening incomplete"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="screenings")
    # The client's clinic, copied so that tenancy filters and indexes need no join.
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    screened_at = models.DateTimeField()
    # The answers exactly as the rules received them (eligibility.ScreeningAnswers.as_dict()).
    answers = models.JSONField()
    decision = models.CharField(max_length=12, choices=Decision.choices)
    # VI.C: the screening found the client on appropriately prescribed psychiatric medication.
    on_prescribed_medication = models.BooleanField(default=False)

    objects = ClinicScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-screened_at", "-id"]
        indexes = [
            models.Index(fields=["client", "-screened_at"], name="screening_client_recent"),
            models.Index(fields=["clinic", "screened_at"], name="screening_clinic_when"),
        ]

    def __str__(self):
        return f"Screening {self.pk} ({self.get_decision_display()})"


class ScreeningReason(models.Model):
    """One reason the rules gave, with its clause: one row each, so figures can count them."""

    class Kind(models.TextChoices):
        SUPPORTS = "supports", "Supports a referral"
        BLOCKS = "blocks", "Rules a referral out for now"
        MISSING = "missing", "Still to be answered"
        RESTRICTS = "restricts", "Restricts which groups"

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="reasons")
    clause = models.CharField(max_length=8)  # "IV.H", "V", "VI.C"
    code = models.CharField(max_length=40)  # a stable code from eligibility.py
    kind = models.CharField(max_length=10, choices=Kind.choices)
    message = models.CharField(max_length=300)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["screening", "order"]
        indexes = [models.Index(fields=["clause", "kind"], name="screeningreason_clause")]

    def __str__(self):
        return f"{self.clause}: {self.message}"


class Referral(models.Model):
    class Status(models.TextChoices):
        PREPARING = "preparing", "Preparing (client input, VIII.B)"
        REFERRED = "referred", "Referred"
        ATTENDING = "attending", "Attending"
        ENGAGED = "engaged", "Engaged (six meetings in a row)"
        CLOSED = "closed", "Closed"

    class CloseReason(models.TextChoices):
        COMPLETED = "completed", "Completed"
        DECLINED = "declined", "Client declined (VII.E)"
        LOST_CONTACT = "lost-contact", "Lost contact"
        NOT_ELIGIBLE = "not-eligible", "Not eligible"

    class Approval(models.TextChoices):
        PENDING = "pending", "Not yet asked"
        APPROVED = "approved", "Client approved"
        DECLINED = "declined", "Client declined"

    class TwelveStep(models.TextChoices):
        NO_PREFERENCE = "no-preference", "No preference"
        PREFER = "prefer", "Prefers a 12-step group"
        AVOID = "avoid", "Prefers a group that is not 12-step"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="referrals")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="referrals"
    )
    screening = models.OneToOneField(Screening, on_delete=models.PROTECT, related_name="referral")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PREPARING)
    close_reason = models.CharField(max_length=14, choices=CloseReason.choices, blank=True)

    # VIII.B: the client's goals in their own words, and the needs they map to.
    goals = models.TextField(blank=True)
    goal_needs = models.ManyToManyField(Need, blank=True, related_name="+")
    # VIII.B: the most convenient location, as given (a city or ZIP code) and as resolved.
    location_text = models.CharField(max_length=100, blank=True)
    preferred_area = models.ForeignKey(
        ServiceArea, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # VIII.B: specific cultural or linguistic needs.
    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES, blank=True)
    cultural_needs = models.TextField(blank=True)
    twelve_step = models.CharField(
        "12-step groups",
        max_length=14,
        choices=TwelveStep.choices,
        default=TwelveStep.NO_PREFERENCE,
    )
    # VIII.B "with client input and approval"; VII.E declining is the client's right.
    approval = models.CharField(max_length=10, choices=Approval.choices, default=Approval.PENDING)
    approval_recorded_at = models.DateTimeField(null=True, blank=True)
    approval_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    declined_reason = models.TextField(blank=True)

    referred_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    history = HistoricalRecords(m2m_fields=[goal_needs], excluded_fields=["updated_at"])
    objects = ClinicScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["clinic", "status"], name="referral_clinic_status"),
            models.Index(fields=["clinician", "status"], name="referral_clinician_status"),
            models.Index(fields=["client", "-created_at"], name="referral_client_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="closed") | ~models.Q(close_reason=""),
                name="closed_referral_has_reason",
            )
        ]

    def __str__(self):
        return f"Referral {self.pk}"


class ReferredGroup(models.Model):
    """VIII.C: a group the client was referred to, and why it was suggested."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="groups")
    # PROTECT: a listing that has been referred to is archived, never deleted.
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="+")
    # The sentences matching gave ("helps with depression; Spanish; meets in SPA 7; ...").
    reasons = models.JSONField(default=list)
    suggested_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    chosen_at = models.DateTimeField()
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["referral", "suggested_rank", "id"]
        constraints = [
            models.UniqueConstraint(fields=["referral", "group"], name="referred_group_once")
        ]

    def __str__(self):
        return f"{self.referral_id} → {self.group_id}"
