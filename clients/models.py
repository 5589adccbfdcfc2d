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
from simple_history.models import HistoricalRecords

from accounts.models import Clinic

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
RECORD_NUMBER_RE = re.compile(r"^\d{6,10}$")


def normalise_record_number(value: str) -> str:
    return re.sub(r"[\s\-]", "", value or "")


def validate_record_number(value: str) -> None:
    if not RECORD_NUMBER_RE.fullmatch(normalise_record_number(value)):
        raise ValidationError(
            "A clinical record number is 6 to 10 digits (spaces and hyphens are ignored).",
            code="invalid_record_number",
        )


class ClientQuerySet(models.QuerySet):
    def for_clinic(self, clinic_id: int | None):
        """The only way pages reach clients: those of one clinic (none without a clinic)."""
        if clinic_id is None:
            return self.none()
        return self.filter(clinic_id=clinic_id)


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
    objects = ClientQuerySet.as_manager()

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
