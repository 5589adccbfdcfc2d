"""Indexes for the supervisor review (clients/selectors/review.py), built without stopping writes.

- referral (clinic, referred_at): the review's figures read a clinic's referrals made in a
  period, and its documentation gaps list them oldest first; with only (clinic) indexed, every
  request read the clinic's whole history of referrals and sorted it;
- referral (clinic, clinician) and screening (clinic, screened_by): who has referred or
  screened at the clinic (the sign-off form's choices, and the rows of figures), read from the
  index alone instead of the clinic's referrals and screenings themselves.

Referrals and screenings are written by every clinician all day, so on
PostgreSQL the indexes are built CONCURRENTLY (hence a migration that is not atomic). If a
concurrent build fails it leaves an INVALID index of the same name: drop it (``DROP INDEX
CONCURRENTLY <name>``) and migrate again. SQLite builds them plainly.
"""

from django.db import migrations, models

from core.migration_operations import (
    AddIndexConcurrentlyOnPostgreSQL,
)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("referrals", "0006_screening_submission_id"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="referral",
            index=models.Index(fields=["clinic", "referred_at"], name="referral_clinic_referred"),
        ),
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="referral",
            index=models.Index(fields=["clinic", "clinician"], name="referral_clinic_staff"),
        ),
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="screening",
            index=models.Index(fields=["clinic", "screened_by"], name="screening_clinic_staff"),
        ),
    ]
