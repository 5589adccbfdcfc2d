"""The Meeting Guide feed (code4recovery spec), both ways, without a database.

Design notes, section 4: "the Meeting Guide JSON feed (code4recovery spec: weekly meetings,
``day``, ``time``, ``types`` codes, no last names) for meeting schedules".
"""

import json
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from directory.rules import meeting_guide as mg
from directory.rules.meeting_types import EXTENSIONS, MEETING_TYPES, MEETING_TYPES_ES
from directory.rules.records import Listing, WeeklyMeeting
from directory.rules.uploads import FileRefused

TZ = "America/Los_Angeles"
# An online-only meeting is placed approximately (TSML refuses a meeting without an address).
ONLINE = {"formatted_address": "Los Angeles, CA, USA", "approximate": "yes"}


def listing(*meetings, slug="dual-recovery-anonymous", status="active") -> Listing:
    return Listing(slug=slug, name="Dual Recovery Anonymous", status=status, meetings=meetings)


# --- Out ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("meeting", "expected"),
    [
        (
            WeeklyMeeting(weekday=0, start=time(18), end=time(19, 30)),
            {"day": 0, "time": "18:00", "end_time": "19:30", "types": []} | ONLINE,
        ),
        (
            WeeklyMeeting(weekday=6, start=time(9, 5), type_codes=("O", "BE", "X")),
            {"day": 6, "time": "09:05", "types": ["O", "BE", "X"]} | ONLINE,
        ),
        (  # A Spanish-language meeting carries the spec's S among its types.
            WeeklyMeeting(weekday=3, start=time(20), language_code="es", type_codes=("C",)),
            {"day": 3, "time": "20:00", "types": ["C", "S"]} | ONLINE,
        ),
        (  # ... once, even when it is already there.
            WeeklyMeeting(weekday=3, start=time(20), language_code="es", type_codes=("S",)),
            {"day": 3, "time": "20:00", "types": ["S"]} | ONLINE,
        ),
        (
            WeeklyMeeting(
                weekday=1,
                start=time(19),
                name="Monday Night",
                location_name="Alano Club",
                address="1 Main St, Long Beach, CA 90802",
                online_url="https://us02web.zoom.us/j/1",
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
                # The street line as written before addresses had parts: four comma parts.
                "formatted_address": "1 Main St, Long Beach, CA 90802, USA",
                "approximate": "no",
                "address": "1 Main St, Long Beach, CA 90802",
                "country": "US",
                "conference_url": "https://us02web.zoom.us/j/1",
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
        item.get("address", ""): item["slug"] for item in mg.feed([listing(a, b, c)], timezone=TZ)
    }
    second = {
        item.get("address", ""): item["slug"] for item in mg.feed([listing(c, b, a)], timezone=TZ)
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
                "conference_url": "https://zoom.us/j/1",
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
        address="123 Main Street",
        city="Anytown",
        state="CA",
        postal_code="98765",
        online_url="https://zoom.us/j/1",
        dial_in="+16699006833,,123#",
        region="Anytown",
        type_codes=("O", "S"),
        notes="Ring buzzer.",
    )


def test_several_days_give_a_meeting_each():
    """Each with its own slug, the source's and the day: a feed never repeats a slug."""
    parsed = parse([GOOD | {"day": [1, 3, 5], "slug": 14}])
    assert [(m.weekday, m.slug) for m in parsed.meetings] == [
        (1, "14-mon"),
        (3, "14-wed"),
        (5, "14-fri"),
    ]


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
    ("day 7", {**GOOD, "day": 7}, "day", "day 7 is not a day number: use 0 (Sunday) to 6"),
    ("day -1", {**GOOD, "day": -1}, "day", "day -1 is not a day number"),
    ("day by name", {**GOOD, "day": "Monday"}, "day", 'day "Monday" is not a day number'),
    ("day true", {**GOOD, "day": True}, "day", "day true is not a day number"),
    ("no days", {**GOOD, "day": []}, "day", "day is an empty list"),
    ("a bad day among good", {**GOOD, "day": [1, 9]}, "day", "day 9 is not a day number"),
    ("25:00", {**GOOD, "time": "25:00"}, "time", "time “25:00” is not a time of day"),
    ("12:60", {**GOOD, "time": "12:60"}, "time", "time “12:60” is not a time of day"),
    ("7pm", {**GOOD, "time": "7pm"}, "time", "time “7pm” is not in HH:MM"),
    ("7:00", {**GOOD, "time": "7:00"}, "time", "time “7:00” is not in HH:MM"),
    ("a number", {**GOOD, "time": 1900}, "time", "time must be text in HH:MM"),
    ("end 24:00", {**GOOD, "end_time": "24:00"}, "end_time", "end_time “24:00” is not a time"),
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
        WeeklyMeeting(6, time(10), online_url="https://zoom.us/j/1", dial_in="+1669,,1#"),
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
            "https://zoom.us/j/1",
            "+1669,,1#",
            (),
            "Dual Recovery Anonymous",
        ),
    ]


# --- The fixes for the apps that read the feed ------------------------------------------------


def _spec_types_path() -> Path:
    """``../shared/specs/`` from the project root (from a worktree, a folder further up)."""
    root = Path(__file__).resolve().parents[3]
    for folder in (root, *root.parents):
        candidate = folder.parent / "shared" / "specs" / "meeting-guide" / "types.json"
        if candidate.exists():
            return candidate
    return root.parent / "shared" / "specs" / "meeting-guide" / "types.json"


SPEC_TYPES = _spec_types_path()


def spec_types() -> dict:
    assert SPEC_TYPES.exists(), f"The Meeting Guide spec's types.json is missing: {SPEC_TYPES}"
    return json.loads(SPEC_TYPES.read_text(encoding="utf-8"))


def test_the_type_codes_are_exactly_the_specs():
    """Fails when the spec's list and the directory's drift apart (a code added or renamed)."""
    spec = spec_types()
    ours = {code: name for code, name in MEETING_TYPES.items() if code not in EXTENSIONS}
    assert ours == {code: names["en"] for code, names in spec.items()}
    ours_es = {code: name for code, name in MEETING_TYPES_ES.items() if code not in EXTENSIONS}
    assert ours_es == {code: names["es"] for code, names in spec.items()}


def test_every_language_type_is_a_spec_code():
    assert set(mg.LANGUAGE_TYPES) <= set(spec_types())


@pytest.mark.parametrize(
    ("code", "language"),
    [("AR", "ar"), ("AF", "af"), ("TUR", "tr"), ("NL", "nl"), ("S", "es"), ("KOR", "ko")],
)
def test_a_meetings_language_survives_the_round_trip(code, language):
    """Re-importing the feed kept a meeting's Arabic only once AR was a known code."""
    meeting = WeeklyMeeting(2, time(19), language_code=language)
    (item,) = mg.feed([listing(meeting)], timezone=TZ)
    assert code in item["types"]
    (read,) = mg.parse_feed(json.dumps([item]), timezone=TZ).meetings
    assert code in read.type_codes


def test_an_in_person_meeting_has_its_full_street_address_exactly():
    meeting = WeeklyMeeting(
        1,
        time(19),
        address="1225 Broadway",
        city="Santa Monica",
        state="CA",
        postal_code="90404",
        latitude=Decimal("34.022200"),
        longitude=Decimal("-118.488000"),
        location_notes="Side door, upstairs.",
    )
    (item,) = mg.feed([listing(meeting)], timezone=TZ)
    assert item["formatted_address"] == "1225 Broadway, Santa Monica, CA 90404, USA"
    assert len(item["formatted_address"].split(",")) == 4  # TSML's test for an exact address
    assert item["approximate"] == "no"
    assert (item["latitude"], item["longitude"]) == (34.0222, -118.488)
    assert item["location_notes"] == "Side door, upstairs."


def test_an_online_meeting_has_an_approximate_address_said_so():
    meeting = WeeklyMeeting(
        3, time(12), city="Pasadena", online_url="https://meet.google.com/abc-defg-hij"
    )
    (item,) = mg.feed([listing(meeting)], timezone=TZ)
    assert item["formatted_address"] == "Pasadena, CA, USA"
    assert item["approximate"] == "yes"
    assert item["conference_url"] == "https://meet.google.com/abc-defg-hij"
    assert "address" not in item


def test_a_temporarily_closed_listing_sends_tc():
    meeting = WeeklyMeeting(1, time(19), address="1 Main St", type_codes=("O",))
    (closed,) = mg.feed([listing(meeting, status="temporarily-closed")], timezone=TZ)
    (open_,) = mg.feed([listing(meeting)], timezone=TZ)
    assert closed["types"] == ["O", "TC"]
    assert open_["types"] == ["O"]


@pytest.mark.parametrize(
    ("url", "is_meeting"),
    [
        ("https://zoom.us/j/123456789?pwd=abc", True),
        ("https://us02web.zoom.us/j/123456789", True),
        ("https://meet.google.com/abc-defg-hij", True),
        ("https://teams.microsoft.com/l/meetup-join/19%3a", True),
        ("https://zoom.us/", False),  # the service's home page, not a meeting
        ("https://zoom.us", False),
        ("http://zoom.us/j/1", False),  # not https
        ("https://example.org/our-online-meeting", False),  # a page about the meeting
        ("https://evilzoom.us/j/1", False),  # not a subdomain of zoom.us
        ("", False),
    ],
)
def test_conference_links_are_checked_for_opening_a_meeting(url, is_meeting):
    assert mg.is_meeting_link(url) is is_meeting


def test_a_link_that_is_not_a_meeting_goes_as_the_meetings_page():
    meeting = WeeklyMeeting(1, time(19), online_url="https://example.org/online")
    (item,) = mg.feed([listing(meeting)], timezone=TZ)
    assert "conference_url" not in item
    assert item["url"] == "https://example.org/online"


def test_a_stored_slug_is_kept_and_never_sent_twice():
    a = WeeklyMeeting(1, time(19), slug="monday-serenity")
    b = WeeklyMeeting(2, time(19), slug="monday-serenity")  # two sources used one slug
    items = mg.feed([listing(a, b)], timezone=TZ)
    assert [item["slug"] for item in items] == ["monday-serenity", "monday-serenity-2"]


def test_a_meeting_by_appointment_is_left_out_with_a_warning_and_the_rest_read():
    parsed = parse([GOOD, {"name": "By appointment", "slug": "appt"}])
    assert not parsed.problems
    assert [m.slug for m in parsed.meetings] == ["sunday-serenity"]
    (warning,) = parsed.warnings
    assert (warning.item, warning.field) == (2, "day")
    assert "by appointment" in warning.message


@pytest.mark.parametrize("end", ["01:00", "18:00", "17:00"])
def test_an_end_past_midnight_is_dropped_with_a_warning(end):
    parsed = parse([GOOD | {"time": "18:00", "end_time": end}])
    assert not parsed.problems
    (meeting,) = parsed.meetings
    assert meeting.end is None
    (warning,) = parsed.warnings
    assert (warning.item, warning.field) == (1, "end_time")


def test_the_import_keeps_notes_coordinates_and_address_parts():
    parsed = parse(
        [
            GOOD
            | {
                "formatted_address": "1225 Broadway, Santa Monica, CA 90404, USA",
                "latitude": 34.0222,
                "longitude": "-118.488",
                "location_notes": "Side door.",
                "conference_url": "https://zoom.us/j/1",
                "conference_url_notes": "Password: serenity",
                "conference_phone_notes": "Press # twice",
            }
        ]
    )
    assert not parsed.problems, parsed.problems
    (meeting,) = parsed.meetings
    assert (meeting.address, meeting.city, meeting.state, meeting.postal_code) == (
        "1225 Broadway",
        "Santa Monica",
        "CA",
        "90404",
    )
    assert (meeting.latitude, meeting.longitude) == (Decimal("34.022200"), Decimal("-118.488000"))
    assert meeting.location_notes == "Side door."
    assert meeting.conference_notes == "Password: serenity\nPress # twice"


def test_an_approximate_address_is_not_a_street():
    parsed = parse([GOOD | {"formatted_address": "Pasadena, CA, USA", "approximate": "yes"}])
    (meeting,) = parsed.meetings
    assert meeting.address == ""


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"latitude": 91, "longitude": 0}, "latitude"),
        ({"latitude": 0, "longitude": "east"}, "longitude"),
        ({"latitude": [1], "longitude": 0}, "latitude"),
    ],
)
def test_a_bad_coordinate_is_a_problem(extra, field):
    parsed = parse([GOOD | extra])
    assert [p.field for p in parsed.problems] == [field]


def test_the_full_feed_round_trips_with_nothing_lost():
    """Every field the feed carries comes back as it went (pure half; the database half is in
    tests/integration/directory/test_public.py)."""
    meetings = (
        WeeklyMeeting(
            1,
            time(19),
            time(20, 30),
            name="Monday Night",
            location_name="Church hall",
            address="1225 Broadway",
            city="Santa Monica",
            state="CA",
            postal_code="90404",
            latitude=Decimal("34.022200"),
            longitude=Decimal("-118.488000"),
            location_notes="Side door.",
            type_codes=("O", "DD"),
            notes="Coffee.",
            slug="monday-night-sm",
        ),
        WeeklyMeeting(
            6,
            time(10),
            online_url="https://zoom.us/j/1",
            conference_notes="Password: serenity",
            dial_in="+1669,,1#",
            city="Pasadena",
            state="CA",
            slug="saturday-online",
            language_code="ar",
        ),
    )
    items = mg.feed([listing(*meetings)], timezone=TZ)
    parsed = mg.parse_feed(json.dumps(items), timezone=TZ)
    assert not parsed.problems and not parsed.warnings
    fields = (
        "slug",
        "weekday",
        "start",
        "end",
        "location_name",
        "address",
        "city",
        "state",
        "postal_code",
        "latitude",
        "longitude",
        "location_notes",
        "online_url",
        "conference_notes",
        "dial_in",
        "notes",
    )
    assert [tuple(getattr(m, f) for f in fields) for m in parsed.meetings] == [
        tuple(getattr(m, f) for f in fields) for m in meetings
    ]
    assert parsed.meetings[1].type_codes == ("AR",)
    assert parsed.meetings[0].name == "Monday Night"


# --- Files no parser should answer with a 500 -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"name": "x", "slug": "s", "day": ' + "9" * 5000 + ', "time": "18:00"}]', "5,000"),
        ('[{"name": "x", "slug": "s", "day": 1, "latitude": 1' + "0" * 5000 + ".5}]", "5,003"),
        ('[{"name": "x", "slug": "s", "day": NaN, "time": "18:00"}]', "NaN"),
    ],
)
def test_an_absurd_number_is_refused_with_a_message(text, message):
    with pytest.raises(FileRefused) as refused:
        mg.parse_feed(text, timezone=TZ)
    assert message in refused.value.message


@pytest.mark.parametrize(
    "text",
    [
        '[{"name": "x\\ud800", "slug": "s", "day": 1, "time": "18:00"}]',
        '[{"name": "x", "slug": "s", "day": 1, "time": "18:00", "types": ["\\udfff"]}]',
        '[{"name": "x", "slug": "s", "day": 1, "time": "18:00", "\\ud83d": 1}]',
    ],
)
def test_a_lone_surrogate_is_a_problem_of_its_item(text):
    parsed = mg.parse_feed(text, timezone=TZ)
    assert parsed.meetings == []
    (problem,) = parsed.problems
    assert problem.item == 1 and "not valid Unicode" in problem.message


def test_a_surrogate_pair_is_one_character_and_fine():
    parsed = mg.parse_feed(
        '[{"name": "Serenity \\ud83d\\ude00", "slug": "s", "day": 1, "time": "18:00"}]',
        timezone=TZ,
    )
    assert not parsed.problems and parsed.meetings[0].name == "Serenity \U0001f600"
