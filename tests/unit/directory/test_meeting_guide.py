"""The Meeting Guide feed (code4recovery spec), both ways, without a database.

Design notes, section 4: "the Meeting Guide JSON feed (code4recovery spec: weekly meetings,
``day``, ``time``, ``types`` codes, no last names) for meeting schedules".
"""

import json
from datetime import UTC, datetime, time

import pytest

from directory.rules import meeting_guide as mg
from directory.rules.records import Listing, WeeklyMeeting
from directory.rules.uploads import FileRefused

TZ = "America/Los_Angeles"


def listing(*meetings, slug="dual-recovery-anonymous", status="active") -> Listing:
    return Listing(slug=slug, name="Dual Recovery Anonymous", status=status, meetings=meetings)


# --- Out ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meeting", "expected"),
    [
        (
            WeeklyMeeting(weekday=0, start=time(18), end=time(19, 30)),
            {"day": 0, "time": "18:00", "end_time": "19:30", "types": []},
        ),
        (
            WeeklyMeeting(weekday=6, start=time(9, 5), type_codes=("O", "BE", "X")),
            {"day": 6, "time": "09:05", "types": ["O", "BE", "X"]},
        ),
        (  # A Spanish-language meeting carries the spec's S among its types.
            WeeklyMeeting(weekday=3, start=time(20), language_code="es", type_codes=("C",)),
            {"day": 3, "time": "20:00", "types": ["C", "S"]},
        ),
        (  # ... once, even when it is already there.
            WeeklyMeeting(weekday=3, start=time(20), language_code="es", type_codes=("S",)),
            {"day": 3, "time": "20:00", "types": ["S"]},
        ),
        (
            WeeklyMeeting(
                weekday=1,
                start=time(19),
                name="Monday Night",
                location_name="Alano Club",
                address="1 Main St, Long Beach, CA 90802",
                online_url="https://zoom.example/j/1",
                dial_in="+16699006833,,123#",
                region="South Bay",
                notes="Ring the bell.",
                updated=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            ),
            {
                "name": "Monday Night",
                "day": 1,
                "time": "19:00",
                "types": [],
                "location": "Alano Club",
                "formatted_address": "1 Main St, Long Beach, CA 90802",
                "conference_url": "https://zoom.example/j/1",
                "conference_phone": "+16699006833,,123#",
                "region": "South Bay",
                "notes": "Ring the bell.",
                "updated": "2026-01-02 03:04:05",
            },
        ),
    ],
)
def test_a_meeting_becomes_a_feed_item(meeting, expected):
    (item,) = mg.feed([listing(meeting)], timezone=TZ)
    defaults = {
        "name": "Dual Recovery Anonymous",  # a meeting without its own name takes the group's
        "group": "Dual Recovery Anonymous",
        "timezone": TZ,
    }
    assert {key: value for key, value in item.items() if key != "slug"} == defaults | expected


def test_updated_is_utc():
    pacific = datetime(2026, 7, 1, 12, 0, tzinfo=UTC).astimezone()
    (item,) = mg.feed([listing(WeeklyMeeting(1, time(19), updated=pacific))], timezone=TZ)
    assert item["updated"] == "2026-07-01 12:00:00"


def test_days_count_from_sunday_as_the_model_does():
    meetings = [WeeklyMeeting(weekday=day, start=time(12)) for day in range(7)]
    items = mg.feed([listing(*meetings)], timezone=TZ)
    assert [item["day"] for item in items] == [0, 1, 2, 3, 4, 5, 6]
    assert [item["slug"][-8:-5] for item in items] == list(mg.DAY_ABBREVIATIONS)


def test_slugs_are_unique_stable_and_independent_of_order():
    a = WeeklyMeeting(weekday=1, start=time(19), address="1 Main St")
    b = WeeklyMeeting(weekday=1, start=time(19), address="9 Pine Ave")
    c = WeeklyMeeting(weekday=4, start=time(7, 30))
    first = {
        item.get("formatted_address", ""): item["slug"]
        for item in mg.feed([listing(a, b, c)], timezone=TZ)
    }
    second = {
        item.get("formatted_address", ""): item["slug"]
        for item in mg.feed([listing(c, b, a)], timezone=TZ)
    }
    assert (
        first
        == second
        == {
            "1 Main St": "dual-recovery-anonymous-mon-1900",
            "9 Pine Ave": "dual-recovery-anonymous-mon-1900-2",
            "": "dual-recovery-anonymous-thu-0730",
        }
    )


@pytest.mark.parametrize("length", [10, 50, 55, 56, 120])
def test_slugs_fit_in_64_characters(length):
    slug = "a" * length
    made = mg.meeting_slug(slug, "mon-1900-2")
    assert len(made) <= 64 and made.endswith("-mon-1900-2")
    other = mg.meeting_slug(slug[:-1] + "b", "mon-1900-2")
    assert other != made  # two long slugs sharing a beginning stay apart


@pytest.mark.parametrize(
    ("status", "published"),
    [("active", True), ("temporarily-closed", True), ("inactive", False), ("defunct", False)],
)
def test_only_listings_that_meet_are_in_the_feed(status, published):
    items = mg.feed([listing(WeeklyMeeting(1, time(19)), status=status)], timezone=TZ)
    assert bool(items) is published


def test_no_person_is_named_in_the_feed():
    """The spec: no last names. The feed has no field that names a person at all."""
    (item,) = mg.feed([listing(WeeklyMeeting(1, time(19), notes="Ask at the door."))], timezone=TZ)
    assert not {key for key in item if key.startswith("contact_")}


# --- In -------------------------------------------------------------------------------------


def parse(items) -> mg.ParsedFeed:
    return mg.parse_feed(json.dumps(items), timezone=TZ)


GOOD = {"name": "Sunday Serenity", "slug": "sunday-serenity", "day": 0, "time": "18:00"}


def test_a_sound_item_is_read():
    parsed = parse(
        [
            GOOD
            | {
                "end_time": "19:30",
                "types": ["O", "S"],
                "location": "Alano Club",
                "address": "123 Main Street",
                "city": "Anytown",
                "state": "CA",
                "postal_code": "98765",
                "conference_url": "https://zoom.example/j/1",
                "conference_phone": "+16699006833,,123#",
                "regions": ["California", "Anytown"],
                "group": "The Serenity Group",
                "notes": "Ring buzzer.",
                "updated": "2014-05-31 14:32:23",
                "unknown_field": "ignored",
            }
        ]
    )
    assert not parsed.problems and not parsed.warnings
    (meeting,) = parsed.meetings
    assert meeting == mg.FeedMeeting(
        item=1,
        slug="sunday-serenity",
        name="Sunday Serenity",
        group="The Serenity Group",
        weekday=0,
        start=time(18),
        end=time(19, 30),
        location_name="Alano Club",
        address="123 Main Street, Anytown, CA, 98765",
        online_url="https://zoom.example/j/1",
        dial_in="+16699006833,,123#",
        region="Anytown",
        type_codes=("O", "S"),
        notes="Ring buzzer.",
    )


def test_several_days_give_a_meeting_each():
    parsed = parse([GOOD | {"day": [1, 3, 5], "slug": 14}])
    assert [(m.weekday, m.slug) for m in parsed.meetings] == [(1, "14"), (3, "14"), (5, "14")]


def test_type_codes_are_the_specs_and_others_are_left_out_with_a_note():
    parsed = parse([GOOD | {"types": ["o", "BE", "12X12", "MYOWN", "O"]}])
    assert not parsed.problems
    assert parsed.meetings[0].type_codes == ("O", "BE", "12x12")
    assert parsed.warnings == [
        mg.Problem(1, "types", "“MYOWN” is not a Meeting Guide type code; it is left out.")
    ]


def test_another_timezone_is_a_warning_not_an_error():
    parsed = parse([GOOD | {"timezone": "America/New_York"}])
    assert parsed.meetings and not parsed.problems
    assert parsed.warnings == [
        mg.Problem(
            1,
            "timezone",
            "timezone is America/New_York; the directory keeps America/Los_Angeles times, so "
            "the times are imported as they are written.",
        )
    ]


BAD_ITEMS = [
    ("a string, not an object", "Serenity", "", "Each meeting must be an object, not text."),
    ("no name", {**GOOD, "name": ""}, "name", "name is required"),
    ("a number for a name", {**GOOD, "name": 7}, "name", "name must be text, not a number."),
    ("no slug", {k: v for k, v in GOOD.items() if k != "slug"}, "slug", "slug is required"),
    ("no day", {k: v for k, v in GOOD.items() if k != "day"}, "day", "day is missing"),
    ("day 7", {**GOOD, "day": 7}, "day", "day 7 is not a day number: use 0 (Sunday) to 6"),
    ("day -1", {**GOOD, "day": -1}, "day", "day -1 is not a day number"),
    ("day by name", {**GOOD, "day": "Monday"}, "day", 'day "Monday" is not a day number'),
    ("day true", {**GOOD, "day": True}, "day", "day true is not a day number"),
    ("no days", {**GOOD, "day": []}, "day", "day is an empty list"),
    ("a bad day among good", {**GOOD, "day": [1, 9]}, "day", "day 9 is not a day number"),
    ("no time", {**GOOD, "time": ""}, "time", "time is missing"),
    ("25:00", {**GOOD, "time": "25:00"}, "time", "time “25:00” is not a time of day"),
    ("12:60", {**GOOD, "time": "12:60"}, "time", "time “12:60” is not a time of day"),
    ("7pm", {**GOOD, "time": "7pm"}, "time", "time “7pm” is not in HH:MM"),
    ("7:00", {**GOOD, "time": "7:00"}, "time", "time “7:00” is not in HH:MM"),
    ("a number", {**GOOD, "time": 1900}, "time", "time must be text in HH:MM"),
    ("end 24:00", {**GOOD, "end_time": "24:00"}, "end_time", "end_time “24:00” is not a time"),
    (
        "ending before it starts",
        {**GOOD, "time": "19:00", "end_time": "18:00"},
        "end_time",
        "The meeting ends at 18:00, before it starts at 19:00.",
    ),
    (
        "ending when it starts",
        {**GOOD, "end_time": "18:00"},
        "end_time",
        "The meeting ends at 18:00, when it starts at 18:00.",
    ),
    ("types not a list", {**GOOD, "types": "O"}, "types", "types must be a list, not text."),
    ("a numeric type", {**GOOD, "types": [1]}, "types", "1 is not a meeting type code."),
    (
        "a bad conference link",
        {**GOOD, "conference_url": "zoom.us/j/1"},
        "conference_url",
        "conference_url “zoom.us/j/1” is not a web address",
    ),
    (
        "a dial-in with letters",
        {**GOOD, "conference_phone": "call Bob"},
        "conference_phone",
        "conference_phone “call Bob” may hold only digits",
    ),
    (
        "an address too long",
        {**GOOD, "formatted_address": "x" * 301},
        "formatted_address",
        "formatted_address is longer than 300 characters.",
    ),
]


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [case[1:] for case in BAD_ITEMS],
    ids=[case[0] for case in BAD_ITEMS],
)
def test_a_bad_item_is_reported_with_its_number_and_field(item, field, message):
    parsed = parse([GOOD | {"slug": "first"}, item])
    assert [m.item for m in parsed.meetings] == [1]  # the sound item is read; the bad one not
    assert len(parsed.problems) == 1, parsed.problems
    (problem,) = parsed.problems
    assert (problem.item, problem.field) == (2, field)
    assert problem.message.startswith(message), problem.message


def test_every_problem_of_an_item_is_reported_not_just_the_first():
    parsed = parse([{"name": "", "slug": "", "day": 9, "time": "25:00", "types": "O"}])
    assert [p.field for p in parsed.problems] == ["name", "slug", "day", "time", "types"]


def test_a_slug_used_twice_is_reported_on_the_second():
    parsed = parse([GOOD, GOOD | {"day": 1}])
    assert parsed.problems == [mg.Problem(2, "slug", "slug “sunday-serenity” is already item 1's.")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"name": "x",]', "The file is not valid JSON: Expecting property name"),
        ("", "The file is not valid JSON: Expecting value at line 1, column 1."),
        ('{"meetings": []}', "A Meeting Guide feed is a JSON array of meetings"),
        ('"meetings"', "this file holds text."),
        ("[]", "The feed is an empty list: it holds no meetings."),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_a_file_that_is_not_a_feed_is_refused_whole(text, message):
    with pytest.raises(FileRefused) as refused:
        mg.parse_feed(text, timezone=TZ)
    assert message in refused.value.message


def test_the_feed_read_back_gives_the_same_meetings():
    """The pure half of the round trip: what the feed writes, the reader reads."""
    meetings = (
        WeeklyMeeting(1, time(19), time(20, 30), address="1 Main St", type_codes=("O", "DD")),
        WeeklyMeeting(6, time(10), online_url="https://zoom.example/j/1", dial_in="+1669,,1#"),
    )
    items = mg.feed([listing(*meetings)], timezone=TZ)
    parsed = mg.parse_feed(json.dumps(items), timezone=TZ)
    assert not parsed.problems and not parsed.warnings
    assert [
        (m.weekday, m.start, m.end, m.address, m.online_url, m.dial_in, m.type_codes, m.group)
        for m in parsed.meetings
    ] == [
        (1, time(19), time(20, 30), "1 Main St", "", "", ("O", "DD"), "Dual Recovery Anonymous"),
        (
            6,
            time(10),
            None,
            "",
            "https://zoom.example/j/1",
            "+1669,,1#",
            (),
            "Dual Recovery Anonymous",
        ),
    ]
