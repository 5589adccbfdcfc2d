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
from core.querysets import ClinicScopedQuerySet
from directory.models import Group, Need, ServiceArea


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
    # The one-time token of the form that was sent (a UUID made when the form was shown), so
    # that the same form sent twice (a double click) saves one screening (design notes,
    # section 5). Null for screenings saved without a form.
    submission_id = models.UUIDField(null=True, blank=True, editable=False)

    objects = ClinicScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-screened_at", "-id"]
        indexes = [
            models.Index(fields=["client", "-screened_at"], name="screening_client_recent"),
            models.Index(fields=["clinic", "screened_at"], name="screening_clinic_when"),
            # Who has screened at the clinic (the supervisor review's sign-off choices), read
            # from the index alone.
            models.Index(fields=["clinic", "screened_by"], name="screening_clinic_staff"),
        ]
        constraints = [
            # Nulls are distinct: only screenings sent from a form carry a token.
            models.UniqueConstraint(fields=["submission_id"], name="screening_submitted_once")
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
        IN_ERROR = "in-error", "Opened in error"

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
    closed_at = models.DateTimeField(null=True, blank=True)
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
            # The supervisor review: a clinic's referrals made in a period (its figures, and its
            # documentation gaps oldest first), and who has referred at the clinic.
            models.Index(fields=["clinic", "referred_at"], name="referral_clinic_referred"),
            models.Index(fields=["clinic", "clinician"], name="referral_clinic_staff"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="closed") | ~models.Q(close_reason=""),
                name="closed_referral_has_reason",
            ),
            # One draft per client: screening again carries the draft on to the new
            # screening instead of starting a second one (services.referral.start_referral).
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(status="preparing"),
                name="one_draft_referral_per_client",
            ),
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


class MedicationSafetyDecision(models.Model):
    """VI.C after the referral: what the clinician decided about a chosen group that became
    unsafe for a client on prescribed psychiatric medication.

    Not the safety state itself, which is derived from current facts at every read
    (``referrals/selectors/medication_safety.py``): this is the clinician's answer to one alert,
    with the causes it answered (``causes``), so that a new cause raises a new alert.
    """

    class Kind(models.TextChoices):
        REMOVED = "removed", "Group removed from the referral"
        REPLACED = "replaced", "Group removed and another chosen"
        KEPT = "kept", "Kept after discussing with the client and prescriber"

    referral = models.ForeignKey(
        Referral, on_delete=models.CASCADE, related_name="medication_decisions"
    )
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.TextField(blank=True)
    # The alert's causes when decided ("stance", "concern:12", "confirmed:12").
    causes = models.JSONField(default=list)
    # When the alert began, as derived when the decision was made (None: not recorded).
    alert_since = models.DateTimeField(null=True, blank=True)
    replacement = models.ForeignKey(
        Group, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["referral", "-decided_at", "-id"]
        indexes = [
            models.Index(fields=["referral", "group"], name="vic_decision_referral_group"),
            models.Index(fields=["decided_at"], name="vic_decision_when"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="kept") | ~models.Q(reason=""),
                name="kept_group_has_reason",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.decided_at:%Y-%m-%d})"


class ProcedureStep(models.Model):
    """One step of the referral procedure, VIII.A to VIII.K, on one referral.

    The procedure is data: every referral gets the eleven rows when it starts, and each moves
    from pending to done, or to not applicable with a reason. ``referrals/rules/procedure.py`` says
    which step may be completed when; ``details`` holds what a step records beyond who and
    when (the peer introduced for C, the resources given for D, the sessions accompanied for H,
    the client's answer for K).
    """

    class Code(models.TextChoices):
        A = "VIII.A", "Counselled on the benefits"
        B = "VIII.B", "Goals, location, language and approval"
        C = "VIII.C", "Referred to a group; phone introduction to a peer"
        D = "VIII.D", "SHARE! and the Friendship Line given"
        E = "VIII.E", "Client Coalition contact given"
        F = "VIII.F", "Etiquette discussed"
        G = "VIII.G", "Six meetings in a row encouraged"
        H = "VIII.H", "Peer advocate for the first three sessions"
        I = "VIII.I", "Reporting back at appointments"  # noqa: E741 (the policy's letter)
        J = "VIII.J", "Reminders at regular intervals"
        K = "VIII.K", "Asked to be a contact person"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        NOT_APPLICABLE = "not-applicable", "Not applicable"

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="steps")
    code = models.CharField(max_length=8, choices=Code.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    not_applicable_reason = models.CharField(max_length=300, blank=True)
    note = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    peer_contact = models.ForeignKey(
        "clients.PeerContact",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="introductions",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["referral", "code"]
        constraints = [
            models.UniqueConstraint(fields=["referral", "code"], name="one_step_per_code"),
            models.CheckConstraint(
                condition=~models.Q(status="not-applicable") | ~models.Q(not_applicable_reason=""),
                name="not_applicable_step_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["status", "code"], name="step_status_code")]

    def __str__(self):
        return f"{self.code} {self.status}"


class FollowUpSchedule(models.Model):
    """VIII.J: the weeks after referral at which a clinic's clinicians follow up."""

    DEFAULT_WEEKS = (1, 3, 6)

    clinic = models.OneToOneField(
        Clinic, on_delete=models.CASCADE, related_name="followup_schedule"
    )
    weeks = models.JSONField(default=list)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    def __str__(self):
        return ", ".join(str(w) for w in self.weeks)


class FollowUp(models.Model):
    """VIII.I–J: a check-in due on a day: has the client been going, what did they report,
    and a reminder of their goals and the benefits."""

    class Outcome(models.TextChoices):
        REPORTED = "reported", "The client reported back"
        REMINDED = "reminded", "Reminded; nothing to report yet"
        NOT_REACHED = "not-reached", "Could not reach the client"

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="followups")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="followups"
    )
    due_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["clinician", "done_at", "due_on"], name="followup_worklist"),
            models.Index(fields=["referral", "due_on"], name="followup_referral"),
        ]

    def __str__(self):
        return f"Follow-up due {self.due_on}"


class ReminderDigest(models.Model):
    """One reminder email to one clinician on one day: sending twice the same day is refused."""

    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    sent_on = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)
    due_count = models.PositiveIntegerField(default=0)
    overdue_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["clinician", "sent_on"], name="one_digest_a_day")
        ]

    def __str__(self):
        return f"Digest {self.sent_on}"
