from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from accounts.models import Clinic, User


def seed(*args):
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def passwords(output):
    rows = [line.strip("| ").split() for line in output.splitlines() if line.startswith("|   ")]
    return {row[-2]: row[-1] for row in rows if len(row) >= 3}


def test_demo_clinic_and_one_account_per_role_passwords_printed_once(settings, rf, db):
    settings.DEBUG = True
    first = passwords(seed())
    assert set(first) == {"demo-clinician", "demo-supervisor", "demo-siteadmin", "demo-superuser"}
    clinic = Clinic.objects.get(name="Demo Mental Health Clinic")
    for username, password in first.items():
        user = authenticate(rf.post("/"), username=username, password=password)
        assert user is not None and user.clinic == clinic
    assert User.objects.get(username="demo-clinician").role_names() == ["Clinician"]
    assert User.objects.get(username="demo-supervisor").role_names() == ["Supervisor"]
    assert User.objects.get(username="demo-siteadmin").role_names() == ["Site admin"]
    assert User.objects.get(username="demo-superuser").is_superuser

    again = seed()
    assert passwords(again) == {}
    assert "already exist" in again
    assert User.objects.filter(username__startswith="demo-").count() == 4

    reset = passwords(seed("--reset-passwords"))
    assert set(reset) == set(first) and reset != first


def test_refused_with_debug_off(settings, db):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEBUG on"):
        seed()
    assert not User.objects.exists()


def test_the_address_and_passwords_come_last_in_a_box_with_a_command_to_paste(settings, db):
    settings.DEBUG = True
    lines = seed("--url", "http://127.0.0.1:8001/").splitlines()
    box = [n for n, line in enumerate(lines) if line.startswith("+-")]
    assert len(box) == 2 and box[0] == 0
    inside = lines[box[0] + 1 : box[1]]
    assert all(line.startswith("| ") and line.endswith(" |") for line in inside)
    assert len({len(line) for line in lines[box[0] : box[1] + 1]}) == 1  # a straight box
    assert "The demo is at http://127.0.0.1:8001/" in inside[0]
    assert len(passwords("\n".join(inside))) == 4
    # The command below the box is the whole line, nothing to trim before pasting it.
    assert lines[-1] == "DEBUG=1 .venv/bin/python manage.py seed_demo --reset-passwords"
    again = seed().splitlines()
    assert "already exist" in "\n".join(again) and again[-1] == lines[-1]
