"""42 CFR Part 2: the client's consents to disclose substance-use information."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models

from accounts.roles import grant, revoke

# Clinicians record and revoke their clinic's clients' Part 2 consents.
ROLE_PERMISSIONS = {
    "Clinician": [
        "view_substanceuseconsent",
        "add_substanceuseconsent",
        "change_substanceuseconsent",
    ],
}


def forwards(apps, schema_editor):
    grant(apps, "clients", ROLE_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, "clients", ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_access_log_page_indexes"),
        ("clients", "0007_attendance_clinic_day"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="HistoricalSubstanceUseConsent",
            fields=[
                (
                    "id",
                    models.BigIntegerField(
                        auto_created=True, blank=True, db_index=True, verbose_name="ID"
                    ),
                ),
                (
                    "recipient",
                    models.CharField(
                        help_text="Who may receive the information, as the form names them.",
                        max_length=200,
                    ),
                ),
                (
                    "purpose",
                    models.CharField(
                        help_text="The purpose, as the form states it.", max_length=200
                    ),
                ),
                ("signed_on", models.DateField()),
                ("expires_on", models.DateField(blank=True, null=True)),
                (
                    "expiry_event",
                    models.CharField(
                        blank=True,
                        help_text="The event that ends the consent, if no date.",
                        max_length=200,
                    ),
                ),
                ("revoked_on", models.DateField(blank=True, null=True)),
                ("recorded_at", models.DateTimeField(blank=True, editable=False)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                (
                    "history_type",
                    models.CharField(
                        choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1
                    ),
                ),
                (
                    "client",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="clients.client",
                    ),
                ),
                (
                    "clinic",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="accounts.clinic",
                    ),
                ),
                (
                    "history_user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "historical substance use consent",
                "verbose_name_plural": "historical substance use consents",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name="SubstanceUseConsent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "recipient",
                    models.CharField(
                        help_text="Who may receive the information, as the form names them.",
                        max_length=200,
                    ),
                ),
                (
                    "purpose",
                    models.CharField(
                        help_text="The purpose, as the form states it.", max_length=200
                    ),
                ),
                ("signed_on", models.DateField()),
                ("expires_on", models.DateField(blank=True, null=True)),
                (
                    "expiry_event",
                    models.CharField(
                        blank=True,
                        help_text="The event that ends the consent, if no date.",
                        max_length=200,
                    ),
                ),
                ("revoked_on", models.DateField(blank=True, null=True)),
                ("recorded_at", models.DateTimeField(auto_now_add=True)),
                (
                    "client",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="part2_consents",
                        to="clients.client",
                    ),
                ),
                (
                    "clinic",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.clinic",
                    ),
                ),
                (
                    "recorded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-signed_on", "-id"],
                "indexes": [
                    models.Index(fields=["client", "-signed_on"], name="part2consent_client")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("expires_on__isnull", False),
                            models.Q(("expiry_event", ""), _negated=True),
                            _connector="OR",
                        ),
                        name="part2_consent_states_its_end",
                    )
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
