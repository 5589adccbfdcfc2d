"""`manage.py send_followup_reminders` (VIII.J "At regular intervals ... reminders"): one email
per clinician a day with counts and a link, never a client's details, and never twice."""

from datetime import date, datetime, time, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMessage
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Role
from referrals.management.commands import send_followup_reminders as command
from referrals.models import FollowUp, ProcedureStep, Referral, ReminderDigest
from tests.factories.accounts import UserFactory
from tests.factories.clients import ClientFactory
from tests.factories.directory import GroupFactory
from tests.factories.referrals import (
    FollowUpFactory,
    ReferralFactory,
    ReferredGroupFactory,
    ReminderDigestFactory,
    ScreeningFactory,
)

LA = ZoneInfo("America/Los_Angeles")
TODAY = date(2026, 5, 6)
SITE = "https://selfhelp.example.org"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime.combine(TODAY, time(6, 0), tzinfo=LA), tick=False):
        yield


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


def referral_of(clinician, *, first_name, last_name, record_number, group, clinic=None, **kw):
    clinic = clinic or clinician.clinic
    client = ClientFactory(
        clinic=clinic,
        created_by=clinician,
        first_name=first_name,
        last_name=last_name,
        record_number=record_number,
    )
    referral = ReferralFactory(
        screening=ScreeningFactory(client=client, clinic=clinic, screened_by=clinician),
        client=client,
        clinic=clinic,
        clinician=clinician,
        status=kw.pop("status", Referral.Status.REFERRED),
        approval=Referral.Approval.APPROVED,
        referred_at=timezone.now(),
        **kw,
    )
    ReferredGroupFactory(
        referral=referral, group=group, chosen_at=timezone.now(), chosen_by=clinician
    )
    ProcedureStep.objects.filter(referral=referral).update(status=ProcedureStep.Status.DONE)
    return referral


def due(referral, days_from_today: int, **kwargs) -> FollowUp:
    return FollowUpFactory(
        referral=referral, due_on=TODAY + timedelta(days=days_from_today), **kwargs
    )


@pytest.fixture
def world(clinic, other_clinic):
    """Ana: two due today, one overdue (and things that do not count). Ben: one overdue.
    Cy: nothing due. Dee: no email address. Eve: no longer active. Sam: a supervisor."""
    group = GroupFactory(name="Bipolar Support Alliance", slug="bipolar-support-alliance")
    people = {
        name: UserFactory(
            username=name,
            first_name=name.title(),
            email=f"{name}@clinic.example" if name != "dee" else "",
            clinic=clinic,
            roles=[Role.SUPERVISOR] if name == "sam" else [Role.CLINICIAN],
            is_active=name != "eve",
        )
        for name in ["ana", "ben", "cy", "dee", "eve", "sam"]
    }
    zeb = referral_of(
        people["ana"],
        first_name="Zebulon",
        last_name="Quartermaine",
        record_number="7654321",
        group=group,
    )
    due(zeb, 0)
    due(zeb, 0)
    due(zeb, -4)
    due(zeb, 1)  # upcoming: not in today's email
    due(zeb, -2, done_at=timezone.now())  # done
    closed = referral_of(
        people["ana"],
        first_name="Closed",
        last_name="Case",
        record_number="1111111",
        group=group,
        status=Referral.Status.CLOSED,
        close_reason=Referral.CloseReason.LOST_CONTACT,
    )
    due(closed, -1)  # its referral is closed
    moved = referral_of(
        people["ana"],
        first_name="Other",
        last_name="Clinic",
        record_number="2222222",
        group=group,
        clinic=other_clinic,
    )
    due(moved, -1)  # at a clinic Ana no longer works at
    yolanda = referral_of(
        people["ben"],
        first_name="Yolanda",
        last_name="Featherstone",
        record_number="8765432",
        group=group,
    )
    due(yolanda, -10)
    due(
        referral_of(
            people["cy"], first_name="C", last_name="Y", record_number="3333333", group=group
        ),
        3,
    )
    due(
        referral_of(
            people["dee"], first_name="D", last_name="E", record_number="4444444", group=group
        ),
        0,
    )
    due(
        referral_of(
            people["eve"], first_name="E", last_name="V", record_number="5555555", group=group
        ),
        0,
    )
    return people


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("send_followup_reminders", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def by_recipient() -> dict[str, EmailMessage]:
    return {message.to[0]: message for message in mail.outbox}


def test_one_email_per_clinician_with_counts_and_a_link(world):
    out, err = run()
    sent = by_recipient()
    assert sorted(sent) == ["ana@clinic.example", "ben@clinic.example"]
    assert len(mail.outbox) == 2

    ana = sent["ana@clinic.example"]
    assert ana.subject == "Self-help referrals: 3 follow-ups to do (2 due today, 1 overdue)"
    assert "Due today: 2" in ana.body and "Overdue:   1" in ana.body
    assert f"{SITE}/clinician/" in ana.body
    ben = sent["ben@clinic.example"]
    assert ben.subject == "Self-help referrals: 1 follow-up to do (0 due today, 1 overdue)"
    assert "Due today: 0" in ben.body and "Overdue:   1" in ben.body

    digest = ReminderDigest.objects.get(clinician=world["ana"])
    assert (digest.sent_on, digest.due_count, digest.overdue_count) == (TODAY, 2, 1)
    assert out.strip().endswith(
        "Follow-up reminders for 2026-05-06: sent 2, skipped 1 (1 without an email address)."
    )
    assert "user" in err and "dee" in err and "no email address" in err


def test_no_phi_in_the_email_or_the_output(world):
    out, err = run()
    assert mail.outbox
    for message in mail.outbox:
        text = message.subject + "\n" + message.body
        for secret in [
            "Zebulon",
            "Quartermaine",
            "7654321",
            "Yolanda",
            "Featherstone",
            "8765432",
            "Bipolar",
            "Support Alliance",
        ]:
            assert secret not in text
            assert secret not in out + err
        assert "/referrals/" not in text  # no link to a particular referral


def test_a_second_run_the_same_day_sends_nothing_twice(world):
    run()
    assert len(mail.outbox) == 2
    out, _ = run()
    assert len(mail.outbox) == 2
    assert ReminderDigest.objects.count() == 2
    assert "sent 0, skipped 3 (2 already sent today, 1 without an email address)" in out


def test_a_new_day_sends_again(world):
    run()
    with time_machine.travel(datetime.combine(TODAY + timedelta(days=1), time(6), tzinfo=LA)):
        run()
    assert len(mail.outbox) == 4
    assert set(ReminderDigest.objects.values_list("sent_on", flat=True)) == {
        TODAY,
        TODAY + timedelta(days=1),
    }
    later = [m for m in mail.outbox[2:] if m.to == ["ana@clinic.example"]][0]
    # Tomorrow, the two due today and the one overdue are all overdue.
    assert later.subject == "Self-help referrals: 4 follow-ups to do (1 due today, 3 overdue)"


def test_the_date_option_picks_the_day(world):
    run("--date", "2026-05-07")
    assert ReminderDigest.objects.filter(sent_on=date(2026, 5, 7)).count() == 2
    assert "(1 due today, 3 overdue)" in by_recipient()["ana@clinic.example"].subject


def test_a_dry_run_sends_nothing_and_records_nothing(world):
    out, _ = run("--dry-run")
    assert mail.outbox == []
    assert ReminderDigest.objects.count() == 0
    assert "dry run" in out and "would send 2, skipped 1" in out
    assert f"Would send to user {world['ana'].pk} (ana): 2 due today, 1 overdue." in out
    run()
    assert len(mail.outbox) == 2  # the dry run did not use up the day


def test_nothing_for_clinicians_with_nothing_due_or_no_role_or_inactive(world):
    run()
    recipients = {m.to[0] for m in mail.outbox}
    for name in ["cy", "eve", "sam"]:
        assert f"{name}@clinic.example" not in recipients
        assert not ReminderDigest.objects.filter(clinician=world[name]).exists()


def test_nobody_due_sends_nothing(db):
    out, _ = run()
    assert mail.outbox == [] and "sent 0, skipped 0" in out


def test_a_race_lost_to_another_run_sends_nothing(world, monkeypatch):
    """Another run recorded Ana's digest after this run looked: the constraint refuses ours."""
    ReminderDigestFactory(clinician=world["ana"], sent_on=TODAY, due_count=2)
    monkeypatch.setattr(command, "already_sent", lambda today, ids: set())
    out, _ = run()
    assert [m.to for m in mail.outbox] == [["ben@clinic.example"]]
    assert ReminderDigest.objects.filter(clinician=world["ana"]).count() == 1
    assert "sent 1, skipped 2 (1 already sent today, 1 without an email address)" in out


def test_a_failed_send_records_nothing_so_the_next_run_retries(world, monkeypatch):
    original = EmailMessage.send

    def refuse_ana(self, *args, **kwargs):
        if self.to == ["ana@clinic.example"]:
            raise OSError("connection refused")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(EmailMessage, "send", refuse_ana)
    err = StringIO()
    with pytest.raises(CommandError, match="1 reminder email"):
        call_command("send_followup_reminders", stdout=StringIO(), stderr=err)
    assert f"Could not send to user {world['ana'].pk} (ana): OSError." in err.getvalue()
    assert not ReminderDigest.objects.filter(clinician=world["ana"]).exists()
    assert ReminderDigest.objects.filter(clinician=world["ben"]).exists()

    monkeypatch.setattr(EmailMessage, "send", original)
    run()
    assert [m.to for m in mail.outbox] == [["ben@clinic.example"], ["ana@clinic.example"]]


def test_a_bad_date_is_refused(db):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("--date", "06/05/2026")


def test_without_site_url_the_link_uses_the_default_and_says_so(world, settings):
    del settings.SITE_URL
    _, err = run()
    assert "SITE_URL is not set" in err
    assert f"{command.DEFAULT_SITE_URL}/clinician/" in mail.outbox[0].body
