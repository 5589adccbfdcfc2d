"""Email each clinician a digest of the follow-ups due today and overdue (policy VIII.J).

Follow-ups of a referral whose every chosen group VI.C now rules out are left out (the alert on
the clinician's worklist takes their place).

Run once a day, from cron. One email per active clinician with follow-ups due or overdue at their
clinic (the same as their worklist's): the two counts and a link to the worklist
(``settings.SITE_URL`` and its path). No PHI: only counts, never a client's name, record number
or group (a group's name can reveal a condition).

Idempotent per clinician and day: a ``ReminderDigest`` row is written in the same transaction as
the email is sent, and its unique (clinician, day) constraint refuses a second one, so a second
run (or two at once) sends nothing twice; a failed send rolls its row back for the next run.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.mail import EmailMessage
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from referrals.models import FollowUp, Referral, ReminderDigest
from referrals.selectors import medication_safety

DEFAULT_SITE_URL = "http://localhost:8000"
CLINICIAN_PERMISSION = ("accounts", "use_clinician_home")


def due_counts(today: date) -> dict[int, tuple[int, int]]:
    """{clinician id: (due today, overdue)} for open follow-ups of open referrals at the
    clinician's own clinic: one query."""
    # VI.C: a referral every chosen group of which is now ruled out gets no reminders: they
    # would encourage going to a group the client should not be referred to. Its alert heads
    # the clinician's worklist instead.
    paused = medication_safety.paused_referral_ids()
    rows = (
        FollowUp.objects.filter(
            done_at__isnull=True, due_on__lte=today, clinic_id=F("clinician__clinic_id")
        )
        .exclude(referral__status=Referral.Status.CLOSED)
        .exclude(referral_id__in=paused)
        .values("clinician_id")
        .annotate(
            due=Count("pk", filter=Q(due_on=today)),
            overdue=Count("pk", filter=Q(due_on__lt=today)),
        )
        .order_by("clinician_id")
    )
    return {row["clinician_id"]: (row["due"], row["overdue"]) for row in rows}


def active_clinicians(ids):
    """Of ``ids``, the active users who hold the clinician's role (by its permission, as the
    views check it, never by a group's name)."""
    app_label, codename = CLINICIAN_PERMISSION
    permission = Permission.objects.filter(
        content_type__app_label=app_label, codename=codename
    ).first()
    if permission is None:
        return get_user_model().objects.none()
    return (
        get_user_model()
        .objects.filter(pk__in=ids, is_active=True)
        .filter(Q(groups__permissions=permission) | Q(user_permissions=permission))
        .distinct()
        .order_by("pk")
    )


def already_sent(today: date, clinician_ids) -> set[int]:
    """Clinicians whose digest for ``today`` is recorded: one query. (Only a shortcut: the
    unique constraint is what refuses a second digest.)"""
    return set(
        ReminderDigest.objects.filter(sent_on=today, clinician_id__in=clinician_ids).values_list(
            "clinician_id", flat=True
        )
    )


def site_url() -> str:
    return (getattr(settings, "SITE_URL", "") or DEFAULT_SITE_URL).rstrip("/")


def digest_message(user, *, today: date, due: int, overdue: int) -> EmailMessage:
    context = {
        "first_name": user.first_name,
        "today": today,
        "due_count": due,
        "overdue_count": overdue,
        "total": due + overdue,
        "worklist_url": site_url() + reverse("clinician-home"),
    }
    subject = render_to_string("referrals/email/followup_reminder_subject.txt", context)
    body = render_to_string("referrals/email/followup_reminder.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body.strip() + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )


def _parse_date(value) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CommandError(f"--date must be a date as YYYY-MM-DD, not “{value}”.") from None


class Command(BaseCommand):
    help = (
        "Email each clinician one digest of the follow-ups due today and overdue (counts and "
        "a link to the worklist; no client information). Safe to run more than once a day."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date", help="The day to send for, YYYY-MM-DD (default: today, local time)."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say what would be sent; send nothing and record nothing.",
        )

    def handle(self, *args, **options):
        today = _parse_date(options["date"]) if options.get("date") else timezone.localdate()
        dry_run = options.get("dry_run", False)
        if not getattr(settings, "SITE_URL", ""):
            self.stderr.write(
                f"Warning: SITE_URL is not set; the emails link to {DEFAULT_SITE_URL}."
            )

        counts = due_counts(today)
        already = already_sent(today, counts)
        sent = skipped = failed = 0
        reasons: dict[str, int] = {}

        def skip(reason: str) -> None:
            nonlocal skipped
            skipped += 1
            reasons[reason] = reasons.get(reason, 0) + 1

        for user in active_clinicians(counts):
            due, overdue = counts[user.pk]
            # Users are named by id and username only: nothing about a client.
            who = f"user {user.pk} ({user.username})"
            if not user.email:
                self.stderr.write(f"Warning: {who} has no email address; skipped.")
                skip("without an email address")
                continue
            if user.pk in already:
                skip("already sent today")
                continue
            if dry_run:
                self.stdout.write(f"Would send to {who}: {due} due today, {overdue} overdue.")
                sent += 1
                continue
            message = digest_message(user, today=today, due=due, overdue=overdue)
            try:
                with transaction.atomic():
                    ReminderDigest.objects.create(
                        clinician=user, sent_on=today, due_count=due, overdue_count=overdue
                    )
                    message.send()
            except IntegrityError:
                # Another run recorded this clinician's digest for today first: theirs is sent.
                skip("already sent today")
                continue
            except Exception as error:  # one bad address or server must not stop the rest
                failed += 1
                self.stderr.write(f"Could not send to {who}: {type(error).__name__}.")
                continue
            sent += 1

        detail = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items()))
        summary = (
            f"Follow-up reminders for {today.isoformat()}"
            + (" (dry run: nothing sent or recorded): would send " if dry_run else ": sent ")
            + f"{sent}, skipped {skipped}"
            + (f" ({detail})" if detail else "")
            + (f", failed {failed}" if failed else "")
            + "."
        )
        self.stdout.write(summary)
        if failed:
            raise CommandError(f"{failed} reminder email(s) could not be sent; run again later.")
