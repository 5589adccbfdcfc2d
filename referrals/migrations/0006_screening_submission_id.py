"""A screening remembers the one-time token of the form it was sent from, unique, so that
the same form sent twice (a double click) saves one screening (design notes, section 5).

Existing screenings have no token (null): nulls are distinct, so the constraint holds.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("referrals", "0005_referral_closed_at")]

    operations = [
        migrations.AddField(
            model_name="screening",
            name="submission_id",
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddConstraint(
            model_name="screening",
            constraint=models.UniqueConstraint(
                fields=("submission_id",), name="screening_submitted_once"
            ),
        ),
    ]
