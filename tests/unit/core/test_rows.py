"""Per-row values computed in selectors (core/rows.py) are what the template tags would give."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation
from phonenumber_field.phonenumber import PhoneNumber

from core.rows import UrlPattern, date_label, phone_labels


@pytest.mark.parametrize("pk", [1, 42, 987654320, 123456789012])
def test_a_url_pattern_is_reverse_with_the_rows_ids(pk):
    assert UrlPattern("referrals:detail", "pk")(pk) == reverse(
        "referrals:detail", kwargs={"pk": pk}
    )


def test_a_url_pattern_places_each_id_where_reverse_would():
    pattern = UrlPattern("referrals:vic-decision", "pk", "group_id")
    assert pattern(7, 31) == reverse("referrals:vic-decision", kwargs={"pk": 7, "group_id": 31})
    assert pattern(31, 7) == reverse("referrals:vic-decision", kwargs={"pk": 31, "group_id": 7})


def _filtered(value, fmt):
    return Template("{{ value|date:fmt }}").render(Context({"value": value, "fmt": fmt}))


DAY = date(2026, 3, 2)
# Late in the evening in Los Angeles, the next day in UTC: the local day is shown.
EVENING = datetime(2026, 3, 3, 6, 30, tzinfo=ZoneInfo("UTC"))
MORNING = datetime(2026, 12, 7, 4, 34, tzinfo=ZoneInfo("America/Los_Angeles"))


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        *[
            (value, fmt)
            for value in (DAY, EVENING, MORNING)
            for fmt in ("M j, Y", "D, M j, Y", "F j")
        ],
        (EVENING, "M j, Y g:i a"),
        (MORNING, "M j, Y g:i a"),
    ],
)
def test_a_date_label_is_the_date_filter(value, fmt):
    with timezone.override("America/Los_Angeles"):
        assert date_label(value, fmt) == _filtered(value, fmt)
        with translation.override("es"):
            assert date_label(value, fmt) == _filtered(value, fmt)


def test_no_date_gives_the_default():
    assert date_label(None, "M j, Y") == ""
    assert date_label(None, "M j, Y", "–") == "–"


@pytest.mark.parametrize(
    "stored",
    ["+13105551234", "+12135550100", "+442071838750", "+18005551212"],
)
def test_a_phones_labels_are_what_the_phone_field_gives(stored):
    phone = PhoneNumber.from_string(stored)
    assert phone_labels(stored) == (phone.as_e164, phone.as_national)


@pytest.mark.parametrize("stored", ["", None])
def test_no_phone_has_empty_labels(stored):
    assert phone_labels(stored) == ("", "")
