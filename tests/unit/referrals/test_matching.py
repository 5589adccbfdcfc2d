"""Matching a client to self-help listings (policy 04.9 VIII.B–D, VI.C), without a database.

``referrals/rules/matching.py`` is pure: these tests build ``Listing`` and ``ClientProfile`` values
by hand. The VI.C property (a medicated client is never offered a group that discourages medication
or carries an open medication concern) is checked with hypothesis against the policy's rule written
out again here, independently of the module.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from referrals.rules import matching as m
from referrals.rules.matching import (
    Area,
    ClientProfile,
    Listing,
    Stance,
    TwelveStep,
    Vocabulary,
    is_medication_safe,
    match,
)

TODAY = date(2026, 11, 15)

VOCABULARY = Vocabulary(
    needs={
        "depression": "Depression",
        "anxiety": "Anxiety",
        "bipolar": "Bipolar disorder",
        "ocd": "OCD",
        "alcohol": "Alcohol",
        "bereavement": "Bereavement",
    },
    languages={"en": "English", "es": "Spanish", "ko": "Korean"},
    areas={
        "san-fernando": Area("san-fernando", "San Fernando", "spa", 2),
        "metro": Area("metro", "Metro", "spa", 4),
        "east": Area("east", "East", "spa", 7),
        "countywide": Area("countywide", "Los Angeles County (countywide)", "countywide", None),
        "orange-county": Area("orange-county", "Orange County", "out-of-county", None),
        "national": Area("national", "National", "national", None),
    },
    group_types={"A": "Support", "B": "Growth/Self-Improvement", "C": "Educational"},
)

_ids = iter(range(1, 10**9))


def listing(name="Depression Anonymous", **kw) -> Listing:
    """A listing that matches the default client's need, with everything else neutral."""
    values = {
        "id": next(_ids),
        "name": name,
        "slug": name.lower().replace(" ", "-"),
        "need_slugs": frozenset({"depression"}),
        "last_verified_on": TODAY - timedelta(days=30),
    }
    values.update(kw)
    for key in ("need_slugs", "group_type_codes", "language_codes", "areas"):
        if key in values and not isinstance(values[key], frozenset):
            values[key] = frozenset(values[key])
    return Listing(**values)


def client(**kw) -> ClientProfile:
    values = {"need_slugs": frozenset({"depression"})}
    values.update(kw)
    for key in ("need_slugs", "group_type_codes"):
        values[key] = frozenset(values.get(key, ()))
    return ClientProfile(**values)


def run(listings, who=None, **kw):
    return match(listings, who or client(), vocabulary=VOCABULARY, today=TODAY, **kw)


def names(result):
    return [s.listing.name for s in result.suggestions]


def reasons_of(one: Listing, who=None) -> tuple[str, ...]:
    result = run([one], who)
    assert len(result.suggestions) == 1
    return result.suggestions[0].reasons


# --- VI.C --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stance", "concern", "safe", "reason"),
    [
        (Stance.AFFIRMING, False, True, ""),
        (Stance.NOT_KNOWN, False, True, ""),
        (Stance.DISCOURAGES, False, False, m.REASON_DISCOURAGES),
        (Stance.AFFIRMING, True, False, m.REASON_OPEN_CONCERN),
        (Stance.NOT_KNOWN, True, False, m.REASON_OPEN_CONCERN),
        (
            Stance.DISCOURAGES,
            True,
            False,
            m.REASON_DISCOURAGES + "; " + m.REASON_OPEN_CONCERN,
        ),
    ],
)
def test_vi_c_rule_alone(stance, concern, safe, reason):
    """VI.C: unsafe when the group discourages medication or a medication concern is open."""
    assert is_medication_safe(
        listing(medication_stance=stance, open_medication_concern=concern)
    ) == (safe, reason)


def test_vi_c_reasons_are_the_agreed_sentences():
    # VI.C: both limbs, in the policy's words.
    assert m.REASON_DISCOURAGES == (
        "recorded as a group where members encourage clients to stop taking their psychiatric "
        "medications against physician advice, or where members are not treated as full members "
        "because of their prescribed medication use"
    )
    assert m.REASON_STANCE_UNKNOWN == "stance not confirmed — ask before referring"
    assert m.REASON_OPEN_CONCERN == (
        "an open review flag reports a medication concern that a site admin has not yet resolved"
    )


@pytest.mark.parametrize(
    ("stance", "concern", "medicated", "suggested"),
    [
        (Stance.DISCOURAGES, False, True, False),
        (Stance.AFFIRMING, True, True, False),
        (Stance.NOT_KNOWN, True, True, False),
        (Stance.DISCOURAGES, True, True, False),
        (Stance.AFFIRMING, False, True, True),
        (Stance.NOT_KNOWN, False, True, True),
        # Without prescribed medication VI.C does not apply: every stance may be suggested.
        (Stance.DISCOURAGES, False, False, True),
        (Stance.DISCOURAGES, True, False, True),
        (Stance.NOT_KNOWN, True, False, True),
    ],
)
def test_vi_c_excludes_unsafe_listings_for_a_medicated_client(
    stance, concern, medicated, suggested
):
    unsafe = listing(medication_stance=stance, open_medication_concern=concern)
    result = run([unsafe], client(on_prescribed_medication=medicated))
    assert [s.listing for s in result.suggestions] == ([unsafe] if suggested else [])
    if suggested:
        assert result.not_suitable == ()
    else:
        assert [(e.listing, e.clause) for e in result.not_suitable] == [(unsafe, "VI.C")]
        assert result.not_suitable[0].reason == is_medication_safe(unsafe)[1]
        assert result.share_fallback  # VIII.D: nothing safe is left


def test_vi_c_exclusion_wins_over_any_score():
    """VI.C: excluded, not ranked low: the best-scoring listing still never appears."""
    best = listing(
        "Best On Paper",
        need_slugs={"depression", "anxiety", "bipolar"},
        language_codes={"en"},
        areas={"east"},
        medication_stance=Stance.DISCOURAGES,
    )
    weak = listing("Weak But Safe", areas={"orange-county"}, last_verified_on=None)
    who = client(need_slugs={"depression", "anxiety", "bipolar"}, area_slug="east")
    result = run([best, weak], dataclasses.replace(who, on_prescribed_medication=True))
    assert names(result) == ["Weak But Safe"]
    assert [e.listing.name for e in result.not_suitable] == ["Best On Paper"]
    # The same client without medication gets it first.
    assert names(run([best, weak], who)) == ["Best On Paper", "Weak But Safe"]


def test_non_medicated_client_sees_a_discouraging_listing_normally():
    group = listing("Discouraging Group", medication_stance=Stance.DISCOURAGES)
    result = run([group], client(on_prescribed_medication=False))
    assert names(result) == ["Discouraging Group"]
    assert result.not_suitable == ()
    assert not result.share_fallback
    # VI.C says nothing about medication to a client who takes none.
    assert not any("medication" in r for r in result.suggestions[0].reasons)


def test_not_suitable_lists_only_listings_that_would_otherwise_be_relevant():
    relevant = listing("Relevant Unsafe", medication_stance=Stance.DISCOURAGES)
    unrelated = listing(
        "Unrelated Unsafe", need_slugs={"alcohol"}, medication_stance=Stance.DISCOURAGES
    )
    result = run([relevant, unrelated], client(on_prescribed_medication=True))
    assert [e.listing.name for e in result.not_suitable] == ["Relevant Unsafe"]


def test_not_suitable_is_ranked_and_bounded_by_limit():
    unsafe = [
        listing(f"Unsafe {i}", need_slugs={"depression"} | ({"anxiety"} if i < 2 else set()))
        for i in range(5)
    ]
    unsafe = [dataclasses.replace(u, medication_stance=Stance.DISCOURAGES) for u in unsafe]
    who = client(need_slugs={"depression", "anxiety"}, on_prescribed_medication=True)
    result = run(list(reversed(unsafe)), who, limit=3)
    # The two matching both needs first, then by name.
    assert [e.listing.name for e in result.not_suitable] == ["Unsafe 0", "Unsafe 1", "Unsafe 2"]


# --- Availability and relevance ----------------------------------------------------------------


@pytest.mark.parametrize("medicated", [False, True])
@pytest.mark.parametrize("stance", list(Stance))
def test_unavailable_listings_never_appear(medicated, stance):
    gone = listing("Archived", available=False, medication_stance=stance)
    result = run([gone], client(on_prescribed_medication=medicated))
    assert result.suggestions == ()
    assert result.not_suitable == ()
    assert result.share_fallback


@pytest.mark.parametrize(
    ("client_kw", "listing_kw", "relevant"),
    [
        ({"need_slugs": {"depression"}}, {"need_slugs": {"depression"}}, True),
        ({"need_slugs": {"depression"}}, {"need_slugs": {"alcohol"}}, False),
        ({"need_slugs": {"depression"}}, {"need_slugs": set()}, False),
        (
            {"need_slugs": {"depression"}, "group_type_codes": {"A"}},
            {"need_slugs": {"alcohol"}, "group_type_codes": {"A"}},
            True,
        ),
        ({"need_slugs": set(), "group_type_codes": {"A"}}, {"group_type_codes": {"B"}}, False),
        # A client who named no needs and no types: every listing is relevant.
        ({"need_slugs": set()}, {"need_slugs": {"alcohol"}}, True),
        ({"need_slugs": set()}, {"need_slugs": set()}, True),
    ],
)
def test_relevance_needs_a_shared_need_or_type(client_kw, listing_kw, relevant):
    """VIII.B: the client's goals and needs decide what is worth suggesting."""
    result = run([listing(**listing_kw)], client(**client_kw))
    assert bool(result.suggestions) is relevant
    assert result.share_fallback is not relevant


# --- Each scoring factor on its own -----------------------------------------------------------

OLD = date(2008, 11, 7)
RECENT = TODAY - timedelta(days=30)
A_YEAR_AGO = TODAY - timedelta(days=365)
A_YEAR_AND_A_DAY = TODAY - timedelta(days=366)


@pytest.mark.parametrize(
    ("factor", "client_kw", "better", "worse", "difference"),
    [
        # VIII.B goals: needs matched, one hundred points each.
        ("needs", {"need_slugs": {"depression", "anxiety"}},
         {"need_slugs": {"depression", "anxiety"}}, {"need_slugs": {"depression"}},
         m.NEED_MATCH),
        ("group types", {"group_type_codes": {"A", "B"}},
         {"group_type_codes": {"A", "B"}}, {"group_type_codes": {"A"}},
         m.GROUP_TYPE_MATCH),
        # VIII.B linguistic needs.
        ("language offered", {"language_code": "es"},
         {"language_codes": {"es", "en"}}, {"language_codes": {"en"}}, m.LANGUAGE_MATCH),
        ("language not recorded, Spanish client", {"language_code": "es"},
         {"language_codes": {"es"}}, {"language_codes": set()}, m.LANGUAGE_MATCH),
        ("English client, English listed", {"language_code": "en"},
         {"language_codes": {"en"}}, {"language_codes": {"ko"}}, m.LANGUAGE_MATCH),
        ("English client, no language recorded", {"language_code": "en"},
         {"language_codes": set()}, {"language_codes": {"es"}}, m.LANGUAGE_MATCH),
        ("English listed or not recorded is the same", {"language_code": "en"},
         {"language_codes": {"en"}}, {"language_codes": set()}, 0),
        # VIII.B most convenient location.
        ("own SPA over countywide", {"area_slug": "east"},
         {"areas": {"east"}}, {"areas": {"countywide"}}, m.AREA_SAME - m.AREA_COUNTYWIDE),
        ("countywide over national", {"area_slug": "east"},
         {"areas": {"countywide"}}, {"areas": {"national"}}, m.AREA_COUNTYWIDE - m.AREA_NATIONAL),
        ("national over unknown", {"area_slug": "east"},
         {"areas": {"national"}}, {"areas": set()}, m.AREA_NATIONAL - m.AREA_UNKNOWN),
        ("unknown over elsewhere", {"area_slug": "east"},
         {"areas": set()}, {"areas": {"san-fernando"}}, m.AREA_UNKNOWN - m.AREA_ELSEWHERE),
        ("own SPA among several", {"area_slug": "east"},
         {"areas": {"san-fernando", "east"}}, {"areas": {"san-fernando", "orange-county"}},
         m.AREA_SAME - m.AREA_ELSEWHERE),
        ("no area given: area does not count", {"area_slug": None},
         {"areas": {"east"}}, {"areas": {"orange-county"}}, 0),
        # VII.D a current list: verification recency.
        ("verified within a year over older", {},
         {"last_verified_on": RECENT}, {"last_verified_on": OLD},
         m.VERIFIED_RECENTLY - m.VERIFIED_LONG_AGO),
        ("exactly a year ago is still current", {},
         {"last_verified_on": A_YEAR_AGO}, {"last_verified_on": A_YEAR_AND_A_DAY},
         m.VERIFIED_RECENTLY - m.VERIFIED_LONG_AGO),
        ("older over never", {},
         {"last_verified_on": OLD}, {"last_verified_on": None},
         m.VERIFIED_LONG_AGO - m.NEVER_VERIFIED),
        # The client's preference about 12-step groups.
        ("prefer 12-step", {"twelve_step": TwelveStep.PREFER},
         {"is_twelve_step": True}, {"is_twelve_step": False}, m.TWELVE_STEP_PREFERRED),
        ("avoid 12-step", {"twelve_step": TwelveStep.AVOID},
         {"is_twelve_step": False}, {"is_twelve_step": True}, -m.TWELVE_STEP_AVOIDED),
        ("no preference", {"twelve_step": TwelveStep.NO_PREFERENCE},
         {"is_twelve_step": True}, {"is_twelve_step": False}, 0),
        # VI.C: for a medicated client a confirmed-affirming group beats a not-known one ...
        ("affirming, medicated client", {"on_prescribed_medication": True},
         {"medication_stance": Stance.AFFIRMING}, {"medication_stance": Stance.NOT_KNOWN},
         m.MEDICATION_AFFIRMED),
        # ... and for a client without medication the stance does not count.
        ("affirming, client not medicated", {"on_prescribed_medication": False},
         {"medication_stance": Stance.AFFIRMING}, {"medication_stance": Stance.DISCOURAGES}, 0),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)  # fmt: skip
def test_each_factor_in_isolation(factor, client_kw, better, worse, difference):
    who = client(**client_kw)
    if "need_slugs" not in client_kw and "group_type_codes" in client_kw:
        who = dataclasses.replace(who, need_slugs=frozenset())
    base = {"need_slugs": who.need_slugs or {"x"}, "group_type_codes": who.group_type_codes}
    # Both listings are alike in everything but the factor under test, and named so that the
    # tie-break alone would put the worse one first.
    good = listing("B better", **{**base, **better})
    bad = listing("A worse", **{**base, **worse})
    result = run([bad, good], who)
    scores = {s.listing.name: s.score for s in result.suggestions}
    assert scores["B better"] - scores["A worse"] == difference
    expected = ["B better", "A worse"] if difference > 0 else ["A worse", "B better"]
    assert names(result) == expected


def test_one_more_need_outweighs_everything_else():
    """Needs are the strongest factor: every other bonus together is less than one need."""
    assert (
        m.GROUP_TYPE_MATCH * 5
        + m.LANGUAGE_MATCH
        + m.AREA_SAME
        + m.VERIFIED_RECENTLY
        + m.TWELVE_STEP_PREFERRED
        + m.MEDICATION_AFFIRMED
        < m.NEED_MATCH
    )
    who = client(
        need_slugs={"depression", "anxiety"},
        group_type_codes={"A", "B", "C"},
        language_code="es",
        area_slug="east",
        on_prescribed_medication=True,
        twelve_step=TwelveStep.PREFER,
    )
    # Both confirmed safe: for a medicated client the VI.C tier comes first (see below).
    two_needs_only = listing(
        "Two Needs",
        need_slugs={"depression", "anxiety"},
        language_codes={"ko"},
        areas={"orange-county"},
        last_verified_on=None,
        medication_stance=Stance.AFFIRMING,
    )
    one_need_everything_else = listing(
        "One Need",
        need_slugs={"depression"},
        group_type_codes={"A", "B", "C"},
        language_codes={"es"},
        areas={"east"},
        is_twelve_step=True,
        medication_stance=Stance.AFFIRMING,
    )
    assert names(run([one_need_everything_else, two_needs_only], who)) == [
        "Two Needs",
        "One Need",
    ]


# --- Twelve-step preferences --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preference", "expected"),
    [
        (TwelveStep.NO_PREFERENCE, ["Anonymous", "Circle"]),  # equal: by name
        (TwelveStep.PREFER, ["Anonymous", "Circle"]),
        (TwelveStep.AVOID, ["Circle", "Anonymous"]),
    ],
)
def test_twelve_step_preference_orders_but_never_excludes(preference, expected):
    twelve = listing("Anonymous", is_twelve_step=True)
    other = listing("Circle", is_twelve_step=False)
    assert names(run([other, twelve], client(twelve_step=preference))) == expected


def test_avoiding_twelve_step_outweighs_one_extra_need():
    """AVOID demotes strongly: a 12-step group matching two needs falls below a non-12-step one
    matching one, but is still suggested."""
    who = client(need_slugs={"depression", "anxiety"}, twelve_step=TwelveStep.AVOID)
    twelve = listing("Twelve", need_slugs={"depression", "anxiety"}, is_twelve_step=True)
    other = listing("Other", need_slugs={"depression"})
    assert names(run([twelve, other], who)) == ["Other", "Twelve"]


def test_twelve_step_preference_accepts_the_model_values():
    """Selectors may pass ``Referral.twelve_step`` (a plain string) straight through."""
    twelve = listing("Anonymous", is_twelve_step=True)
    other = listing("Circle")
    assert names(run([twelve, other], client(twelve_step="avoid"))) == ["Circle", "Anonymous"]


# --- Reasons -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_kw", "listing_kw", "expected"),
    [
        (
            {"language_code": "es", "area_slug": "east"},
            {"language_codes": {"es", "en"}, "areas": {"east", "metro"},
             "last_verified_on": date(2026, 10, 3)},
            ("helps with depression", "Spanish", "meets in SPA 7 – East", "verified October 2026"),
        ),
        (
            {"need_slugs": {"depression", "anxiety", "bipolar"}, "area_slug": "east"},
            {"need_slugs": {"depression", "anxiety", "bipolar", "alcohol"},
             "areas": {"countywide"}, "last_verified_on": OLD},
            ("helps with anxiety, bipolar disorder and depression",
             "English (no language recorded)", "serves all of Los Angeles County",
             "not verified since November 2008"),
        ),
        (
            {"need_slugs": {"depression", "anxiety", "bipolar", "ocd", "bereavement"}},
            {"need_slugs": {"depression", "anxiety", "bipolar", "ocd", "bereavement"},
             "language_codes": {"en"}, "last_verified_on": None},
            ("helps with anxiety, bereavement, bipolar disorder and 2 more", "English",
             "never verified"),
        ),
        (  # "OCD" keeps its capitals.
            {"need_slugs": {"ocd", "anxiety"}, "language_code": "ko", "area_slug": "east"},
            {"need_slugs": {"ocd", "anxiety"}, "language_codes": {"en"}, "areas": {"national"}},
            ("helps with anxiety and OCD", "no Korean recorded", "national or online",
             "verified October 2026"),
        ),
        (
            {"need_slugs": set(), "group_type_codes": {"A", "C"}, "area_slug": "east"},
            {"group_type_codes": {"A", "C"}, "areas": {"san-fernando", "orange-county"}},
            ("a support and educational group", "English (no language recorded)",
             "meets in SPA 2 – San Fernando and 1 other area", "verified October 2026"),
        ),
        (
            {"need_slugs": set(), "group_type_codes": {"C"}, "area_slug": "east"},
            {"group_type_codes": {"C"}, "areas": set()},
            ("an educational group", "English (no language recorded)", "area not printed",
             "verified October 2026"),
        ),
        (  # A client who can get anywhere in the county: a SPA is as good as their own.
            {"area_slug": "countywide"},
            {"areas": {"metro"}},
            ("helps with depression", "English (no language recorded)", "meets in SPA 4 – Metro",
             "verified October 2026"),
        ),
        (
            {"area_slug": "east"},
            {"areas": {"orange-county"}},
            ("helps with depression", "English (no language recorded)", "meets in Orange County",
             "verified October 2026"),
        ),
        (
            {"twelve_step": TwelveStep.PREFER},
            {"is_twelve_step": True},
            ("helps with depression", "English (no language recorded)", "verified October 2026",
             "a 12-step group"),
        ),
        (
            {"twelve_step": TwelveStep.NO_PREFERENCE},
            {"is_twelve_step": True},
            ("helps with depression", "English (no language recorded)", "verified October 2026",
             "a 12-step group"),
        ),
        (
            {"twelve_step": TwelveStep.AVOID},
            {"is_twelve_step": True},
            ("helps with depression", "English (no language recorded)", "verified October 2026",
             "a 12-step group, which the client would rather avoid"),
        ),
        (
            {"twelve_step": TwelveStep.PREFER},
            {"is_twelve_step": False},
            ("helps with depression", "English (no language recorded)", "verified October 2026",
             "not a 12-step group"),
        ),
        (  # VI.C: a medicated client is told when the stance is not confirmed ...
            {"on_prescribed_medication": True},
            {"medication_stance": Stance.NOT_KNOWN},
            ("helps with depression", "English (no language recorded)", "verified October 2026",
             "stance not confirmed — ask before referring"),
        ),
        (  # ... and when it is.
            {"on_prescribed_medication": True, "twelve_step": TwelveStep.PREFER},
            {"medication_stance": Stance.AFFIRMING, "is_twelve_step": True},
            ("helps with depression", "English (no language recorded)", "verified October 2026",
             "a 12-step group", "treats members on prescribed medication as full members"),
        ),
        (  # "Other language" (or a code the directory cannot name): nothing to say.
            {"language_code": "other"},
            {"language_codes": {"es"}},
            ("helps with depression", "verified October 2026"),
        ),
        (  # No language stated: no language reason.
            {"language_code": ""},
            {"language_codes": {"es"}},
            ("helps with depression", "verified October 2026"),
        ),
    ],
)  # fmt: skip
def test_reason_sentences(client_kw, listing_kw, expected):
    """VIII.C: each suggestion says why it is there, in the order needs, language, area,
    verification, 12-step; these sentences are stored with the referral."""
    one = listing(**{"last_verified_on": date(2026, 10, 3), **listing_kw})
    reasons = reasons_of(one, client(**client_kw))
    assert reasons == expected
    assert run([one], client(**client_kw)).suggestions[0].summary == "; ".join(expected)


# Seed faithful: a contact printed without an area is an unknown area, never a match
# everywhere. (listing areas, a contact printed without an area, the client's area) ->
# (points, the area's reason).
UNKNOWN_AREA_CASES = [
    # Nothing recorded at all: unknown, not "serves all of Los Angeles County".
    (set(), False, "east", m.AREA_UNKNOWN, "area not printed"),
    (set(), True, "east", m.AREA_UNKNOWN, "area not printed"),
    # Known elsewhere, plus a contact printed without one: it may serve the client's area.
    ({"san-fernando"}, True, "east", m.AREA_UNKNOWN, "area not printed for some of its contacts"),
    # Known elsewhere, every contact with its area: elsewhere.
    ({"san-fernando"}, False, "east", m.AREA_ELSEWHERE, "meets in SPA 2 – San Fernando"),
    # Known in the client's area or wider: what is known wins over what is unknown.
    ({"east"}, True, "east", m.AREA_SAME, "meets in SPA 7 – East"),
    ({"countywide"}, True, "east", m.AREA_COUNTYWIDE, "serves all of Los Angeles County"),
    ({"national"}, True, "east", m.AREA_NATIONAL, None),
]


@pytest.mark.parametrize(
    ("areas", "not_printed", "client_area", "points", "reason"), UNKNOWN_AREA_CASES
)
def test_an_area_not_printed_is_unknown_never_everywhere(
    areas, not_printed, client_area, points, reason
):
    one = listing(areas=areas, area_not_printed=not_printed)
    who = client(area_slug=client_area)
    gained, said = m._area(one, who, VOCABULARY)
    assert gained == points
    if reason is not None:
        assert said == reason
    assert "all of Los Angeles County" not in said or "countywide" in areas
    # The same points whether or not the sentence is written.
    assert m._area(one, who, VOCABULARY, words=False)[0] == points


# VIII.B linguistic needs: (client's language, the suggestions' languages) -> what is unmet.
LANGUAGE_UNMET_CASES = [
    ("es", [{"en"}], "Spanish"),  # every suggestion English only
    ("es", [{"en"}, set()], "Spanish"),  # none recorded is not Spanish
    ("es", [{"en"}, {"es", "en"}], ""),  # one offers it
    ("en", [{"es"}], ""),  # English is never flagged
    ("", [{"en"}], ""),  # no language stated
    ("xx", [{"en"}], ""),  # a language the directory has no name for
]


@pytest.mark.parametrize(("code", "offered", "expected"), LANGUAGE_UNMET_CASES)
def test_language_unmet(code, offered, expected):
    result = run([listing(f"Group {n}", language_codes=c) for n, c in enumerate(offered)])
    assert len(result.suggestions) == len(offered)
    assert m.language_unmet(result, client(language_code=code), VOCABULARY) == expected


def test_reasons_fall_back_to_codes_the_vocabulary_does_not_know():
    one = listing(need_slugs={"peer-support"}, areas={"somewhere-new"}, language_codes={"tl"})
    who = client(need_slugs={"peer-support"}, language_code="tl", area_slug="east")
    assert reasons_of(one, who)[:3] == ("helps with peer support", "tl", "meets in somewhere-new")


# --- Ranking scenarios --------------------------------------------------------------------------


SCENARIOS = [
    pytest.param(
        client(need_slugs={"depression"}, language_code="es", area_slug="east"),
        [
            listing("Neuroticos Anonimos", language_codes={"es"}, areas={"metro"}),
            listing("Depression Anonymous", language_codes={"en"}, areas={"east"}),
            listing("Emotions Anonymous", areas={"countywide"}),
            listing("Recovery International", language_codes={"es"}, areas={"east"}),
        ],
        ["Recovery International", "Neuroticos Anonimos", "Depression Anonymous",
         "Emotions Anonymous"],
        id="language over place, place breaks language ties",
    ),
    pytest.param(
        client(need_slugs={"depression", "bipolar"}, area_slug="east"),
        [
            listing("DBSA", need_slugs={"depression", "bipolar"}, last_verified_on=None),
            listing("Depression Anonymous", areas={"east"}),
            listing("Alcoholics Anonymous", need_slugs={"alcohol"}, areas={"east"}),
        ],
        ["DBSA", "Depression Anonymous"],
        id="needs first, irrelevant listings left out",
    ),
    pytest.param(
        client(need_slugs={"depression"}),
        [
            listing("Fresh", last_verified_on=TODAY),
            listing("Stale", last_verified_on=OLD),
            listing("Never", last_verified_on=None),
        ],
        ["Fresh", "Stale", "Never"],
        id="verification recency",
    ),
    pytest.param(
        client(need_slugs={"depression"}, twelve_step=TwelveStep.AVOID, area_slug="east"),
        [
            listing("Twelve Near", is_twelve_step=True, areas={"east"}),
            listing("Plain Far", areas={"orange-county"}),
        ],
        ["Plain Far", "Twelve Near"],
        id="avoiding 12-step outweighs place",
    ),
    pytest.param(
        client(need_slugs={"depression"}, on_prescribed_medication=True),
        [
            listing("Unknown Stance", medication_stance=Stance.NOT_KNOWN),
            listing("Affirming", medication_stance=Stance.AFFIRMING, last_verified_on=OLD),
            listing("Discouraging", medication_stance=Stance.DISCOURAGES),
        ],
        ["Affirming", "Unknown Stance"],
        id="VI.C medicated: confirmed safe before stance not confirmed; discouraging excluded",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("who", "listings", "expected"), SCENARIOS)
def test_ranking_scenarios(who, listings, expected):
    result = run(listings, who)
    assert names(result) == expected
    assert [s.rank for s in result.suggestions] == list(range(1, len(expected) + 1))


# --- Ties, limit, fallback -----------------------------------------------------------------------


def test_tie_break_by_name_then_id_whatever_the_input_order():
    a = listing("alpha", id=30)
    b1 = listing("Beta", id=20)
    b2 = listing("Beta", id=10)
    c = listing("Gamma", id=1)
    expected = [("alpha", 30), ("Beta", 10), ("Beta", 20), ("Gamma", 1)]
    for order in ([a, b1, b2, c], [c, b2, b1, a], [b1, c, a, b2]):
        result = run(order)
        assert [(s.listing.name, s.listing.id) for s in result.suggestions] == expected
        assert len({s.score for s in result.suggestions}) == 1


def test_limit_keeps_the_best():
    strong = listing("Zed Strong", need_slugs={"depression", "anxiety"})
    weak = [listing(f"Weak {i}") for i in range(5)]
    result = run([*weak, strong], client(need_slugs={"depression", "anxiety"}), limit=3)
    assert names(result) == ["Zed Strong", "Weak 0", "Weak 1"]


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_must_be_positive(limit):
    with pytest.raises(ValueError, match="limit"):
        run([listing()], limit=limit)


@pytest.mark.parametrize(
    ("listings", "who"),
    [
        ([], client()),
        ([listing(need_slugs={"alcohol"})], client(need_slugs={"depression"})),
        ([listing(available=False)], client()),
        (
            [listing(medication_stance=Stance.DISCOURAGES), listing(open_medication_concern=True)],
            client(on_prescribed_medication=True),
        ),
    ],
    ids=["empty directory", "nothing relevant", "nothing available", "nothing safe"],
)
def test_share_fallback_when_nothing_fits(listings, who):
    """VIII.D: when no group fits, SHARE! is the suggestion."""
    result = run(listings, who)
    assert result.suggestions == ()
    assert result.share_fallback is True


def test_no_share_fallback_when_something_fits():
    assert run([listing()]).share_fallback is False


# --- Properties ----------------------------------------------------------------------------------

NEEDS = ["depression", "anxiety", "bipolar", "alcohol"]
TYPES = ["A", "B", "C"]
LANGUAGES = ["en", "es", "ko"]
AREAS = list(VOCABULARY.areas) + ["unknown-area"]

dates = st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)))


@st.composite
def listings_st(draw):
    count = draw(st.integers(min_value=0, max_value=25))
    result = []
    for i in range(count):
        result.append(
            Listing(
                id=draw(st.integers(min_value=1, max_value=10**6)) * 100 + i,  # unique
                name=draw(st.sampled_from(["Alpha", "alpha", "Beta", "Gamma", "Delta"])),
                slug=f"listing-{i}",
                need_slugs=frozenset(draw(st.sets(st.sampled_from(NEEDS), max_size=3))),
                group_type_codes=frozenset(draw(st.sets(st.sampled_from(TYPES), max_size=2))),
                language_codes=frozenset(draw(st.sets(st.sampled_from(LANGUAGES), max_size=2))),
                areas=frozenset(draw(st.sets(st.sampled_from(AREAS), max_size=3))),
                is_twelve_step=draw(st.booleans()),
                medication_stance=draw(st.sampled_from(list(Stance))),
                open_medication_concern=draw(st.booleans()),
                last_verified_on=draw(dates),
                available=draw(st.booleans()),
            )
        )
    return result


def clients_st(medicated=None):
    return st.builds(
        ClientProfile,
        need_slugs=st.frozensets(st.sampled_from(NEEDS), max_size=3),
        group_type_codes=st.frozensets(st.sampled_from(TYPES), max_size=2),
        language_code=st.sampled_from([*LANGUAGES, "", "other"]),
        area_slug=st.one_of(st.none(), st.sampled_from(AREAS)),
        on_prescribed_medication=st.booleans() if medicated is None else medicated,
        twelve_step=st.sampled_from(list(TwelveStep)),
    )


def policy_unsafe(one: Listing) -> bool:
    """VI.C, written from the policy: discourages medication, or a concern is still open."""
    return one.medication_stance == "discourages" or one.open_medication_concern


def policy_relevant(one: Listing, who: ClientProfile) -> bool:
    if not who.need_slugs and not who.group_type_codes:
        return True
    return bool(one.need_slugs & who.need_slugs) or bool(
        one.group_type_codes & who.group_type_codes
    )


@given(
    listings=listings_st(),
    who=clients_st(medicated=st.just(True)),
    limit=st.integers(min_value=1, max_value=30),
)
def test_property_vi_c_never_suggests_an_unsafe_listing_to_a_medicated_client(listings, who, limit):
    """VI.C: for any listings and any medicated client, no suggestion discourages medication or
    carries an open medication concern, and each relevant one is reported as not suitable."""
    result = match(listings, who, vocabulary=VOCABULARY, today=TODAY, limit=limit)
    for s in result.suggestions:
        assert s.listing.medication_stance != Stance.DISCOURAGES
        assert not s.listing.open_medication_concern
    unsafe_relevant = {
        one.id
        for one in listings
        if one.available and policy_unsafe(one) and policy_relevant(one, who)
    }
    excluded = [e.listing.id for e in result.not_suitable]
    assert all(e.clause == "VI.C" and e.reason for e in result.not_suitable)
    assert len(excluded) == len(set(excluded)) == min(limit, len(unsafe_relevant))
    assert set(excluded) <= unsafe_relevant
    if len(unsafe_relevant) <= limit:
        assert set(excluded) == unsafe_relevant
    # Nothing is both suggested and excluded.
    assert not set(excluded) & {s.listing.id for s in result.suggestions}


@given(
    listings=listings_st(),
    who=clients_st(),
    limit=st.integers(min_value=1, max_value=30),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_property_ranking_is_sound_for_any_client(listings, who, limit, seed):
    result = match(listings, who, vocabulary=VOCABULARY, today=TODAY, limit=limit)
    suggested = [s.listing for s in result.suggestions]
    shown = suggested + [e.listing for e in result.not_suitable]
    # Unavailable listings never appear anywhere.
    assert all(one.available for one in shown)
    # Only relevant listings are suggested; VI.C applies only to medicated clients.
    assert all(policy_relevant(one, who) for one in suggested)
    if not who.on_prescribed_medication:
        assert result.not_suitable == ()
    # Best first, ties by name then id; ranks count from 1.
    keys = [(m.medication_tier(s.listing, who), -s.score, s.listing.name.casefold(),
             s.listing.name, s.listing.id) for s in result.suggestions]  # fmt: skip
    assert keys == sorted(keys)
    assert [s.rank for s in result.suggestions] == list(range(1, len(suggested) + 1))
    # At most `limit`, and the best ones: nothing left out scores higher than the last shown.
    assert len(result.suggestions) <= limit
    eligible = [
        one
        for one in listings
        if one.available
        and policy_relevant(one, who)
        and not (who.on_prescribed_medication and policy_unsafe(one))
    ]
    assert len(result.suggestions) == min(limit, len(eligible))
    if result.suggestions:
        last = result.suggestions[-1]
        last_key = (m.medication_tier(last.listing, who), -last.score)
        left_out = [one for one in eligible if one.id not in {x.id for x in suggested}]
        for one in left_out:
            points, _ = m.score(one, who, vocabulary=VOCABULARY, today=TODAY)
            assert (m.medication_tier(one, who), -points) >= last_key
    # VIII.D: SHARE! exactly when nothing is suggested.
    assert result.share_fallback is (not result.suggestions)
    # Deterministic: the same answer again, and whatever the input order.
    shuffled = list(listings)
    random.Random(seed).shuffle(shuffled)
    assert match(shuffled, who, vocabulary=VOCABULARY, today=TODAY, limit=limit) == result
    assert match(listings, who, vocabulary=VOCABULARY, today=TODAY, limit=limit) == result


def reference_match(listings, who: ClientProfile, limit: int = 20):
    """``match`` as first written, the specification its faster form must keep: every relevant
    listing scored with its reasons, all of them sorted, then cut to ``limit``."""
    unmedicated = dataclasses.replace(who, on_prescribed_medication=False)
    ranked, unsafe = [], []
    for one in listings:
        if not one.available or not policy_relevant(one, who):
            continue
        order = (one.name.casefold(), one.name, one.id)
        if who.on_prescribed_medication and policy_unsafe(one):
            points, _ = m.score(one, unmedicated, vocabulary=VOCABULARY, today=TODAY)
            unsafe.append(((-points, *order), one))
            continue
        points, reasons = m.score(one, who, vocabulary=VOCABULARY, today=TODAY)
        # VI.C: for a medicated client, confirmed-safe listings before stance not confirmed.
        tier = int(who.on_prescribed_medication and one.medication_stance != Stance.AFFIRMING)
        ranked.append(((tier, -points, *order), one, points, reasons))
    ranked.sort(key=lambda row: row[0])
    unsafe.sort(key=lambda row: row[0])
    return m.MatchResult(
        suggestions=tuple(
            m.Suggestion(listing=one, score=points, reasons=reasons, rank=rank)
            for rank, (_, one, points, reasons) in enumerate(ranked[:limit], start=1)
        ),
        not_suitable=tuple(
            m.Excluded(listing=one, clause="VI.C", reason=is_medication_safe(one)[1])
            for _, one in unsafe[:limit]
        ),
        share_fallback=not ranked,
    )


@given(listings=listings_st(), who=clients_st(), limit=st.integers(min_value=1, max_value=30))
def test_property_match_is_the_full_ranking_cut_to_limit(listings, who, limit):
    """Ranking by points and wording only the listings shown gives exactly what scoring every
    listing with its reasons and sorting them all gave: the same suggestions, order, scores,
    reasons and VI.C exclusions."""
    result = match(listings, who, vocabulary=VOCABULARY, today=TODAY, limit=limit)
    assert result == reference_match(listings, who, limit)


@given(listings=listings_st(), who=clients_st())
def test_property_points_is_the_score_without_its_reasons(listings, who):
    for one in listings:
        points, _ = m.score(one, who, vocabulary=VOCABULARY, today=TODAY)
        assert m.points(one, who, vocabulary=VOCABULARY, today=TODAY) == points


# --- Scale ---------------------------------------------------------------------------------------


def _county_listings(count: int, seed: int) -> list[Listing]:
    rng = random.Random(seed)
    return [
        Listing(
            id=i,
            # Few names, so that many listings tie on score and name and the id decides.
            name=rng.choice(["Group", "group", "Circle", "Peers"]) + f" {i % 50}",
            slug=f"group-{i}",
            need_slugs=frozenset(rng.sample(NEEDS, rng.randint(0, 3))),
            group_type_codes=frozenset(rng.sample(TYPES, rng.randint(0, 2))),
            language_codes=frozenset(rng.sample(LANGUAGES, rng.randint(0, 2))),
            areas=frozenset(rng.sample(AREAS, rng.randint(0, 3))),
            is_twelve_step=rng.random() < 0.5,
            medication_stance=rng.choice(list(Stance)),
            open_medication_concern=rng.random() < 0.05,
            last_verified_on=rng.choice([None, OLD, RECENT]),
            available=rng.random() < 0.9,
        )
        for i in range(count)
    ]


def test_two_thousand_listings_match():
    """The county's directory is about 2,000 groups (design notes, section 6)."""
    listings = _county_listings(2000, seed=4)
    who = client(
        need_slugs={"depression", "anxiety"},
        language_code="es",
        area_slug="east",
        on_prescribed_medication=True,
    )
    result = run(listings, who)
    assert len(result.suggestions) == 20
    assert len(result.not_suitable) == 20
    assert all(not policy_unsafe(s.listing) for s in result.suggestions)
    assert result.suggestions[0].score >= result.suggestions[-1].score
    assert result == reference_match(listings, who)


@pytest.mark.parametrize("seed", range(8))
def test_two_thousand_listings_rank_as_the_full_ranking_did(seed):
    """At county size, for clients of every kind (no needs at all, a countywide area, avoiding
    12-step groups, medicated or not, a language no listing records), the result is the one
    that scoring and sorting every listing gave."""
    rng = random.Random(seed)
    listings = _county_listings(2000, seed=100 + seed)
    who = client(
        need_slugs=rng.sample(NEEDS, rng.randint(0, 2)),
        group_type_codes=rng.sample(TYPES, rng.randint(0, 1)),
        language_code=rng.choice([*LANGUAGES, "", "other"]),
        area_slug=rng.choice([None, "countywide", *AREAS]),
        on_prescribed_medication=rng.random() < 0.5,
        twelve_step=rng.choice(list(TwelveStep)),
    )
    for limit in (1, 20, 300):
        result = run(listings, who, limit=limit)
        assert result == reference_match(listings, who, limit)


# --- VII.D cadence: current listings first, and the reason says why ---------------------------


@pytest.mark.parametrize(
    ("verified", "months", "points", "reason"),
    [
        (None, 12, m.NEVER_VERIFIED, "never verified"),
        (date(2008, 11, 7), 12, m.VERIFIED_LONG_AGO, "not verified since November 2008"),
        (date(2025, 12, 20), 12, m.VERIFIED_RECENTLY, "verified December 2025"),
        (date(2025, 12, 20), 6, m.VERIFIED_LONG_AGO, "not verified since December 2025"),
    ],
)
def test_currency_ranks_current_listings_first_and_says_why(verified, months, points, reason):
    listing = m.Listing(id=1, name="A", slug="a", last_verified_on=verified, current_months=months)
    assert m.currency(listing, date(2026, 12, 7)) == (points, reason)
    assert m.VERIFIED_RECENTLY > m.VERIFIED_LONG_AGO > m.NEVER_VERIFIED


# --- II.A–H tri-state, VI.C stance tiers, VIII.C direct choice ---------------------------------

CRITERIA_VOCABULARY = dataclasses.replace(
    VOCABULARY, criteria={"II.B": "Everyone in the group is a peer", "II.G": "Dues are nominal"}
)


@pytest.mark.parametrize(
    ("failed", "medicated", "clause", "reason"),
    [
        ({"II.B"}, False, "II",
         "does not meet II.B (everyone in the group is a peer): not a self-help group for DMH "
         "referral"),
        ({"II.B", "II.G"}, True, "II",
         "does not meet II.B (everyone in the group is a peer) and II.G (dues are nominal): "
         "not a self-help group for DMH referral"),
        ({"II.E"}, False, "II",
         "does not meet II.E: not a self-help group for DMH referral"),
    ],
)  # fmt: skip
def test_ii_does_not_meet_excludes_with_the_criterion_named(failed, medicated, clause, reason):
    """II: a listing recorded as failing a criterion is never suggested, for any client."""
    failing = listing("Failing", failed_criteria=frozenset(failed))
    fine = listing("Fine")
    result = match(
        [failing, fine],
        client(on_prescribed_medication=medicated),
        vocabulary=CRITERIA_VOCABULARY,
        today=TODAY,
    )
    assert names(result) == ["Fine"]
    assert [(e.listing.name, e.clause, e.reason) for e in result.not_suitable] == [
        ("Failing", clause, reason)
    ]


@pytest.mark.parametrize(
    ("unconfirmed", "reason"),
    [
        (m.ALL_CRITERIA, "criteria II.A–H not confirmed"),
        (frozenset({"II.E", "II.B"}), "not confirmed: II.B, II.E"),
        (frozenset(), None),
    ],
)
def test_ii_not_confirmed_is_said_on_the_suggestion(unconfirmed, reason):
    result = run([listing("Unsure", unconfirmed_criteria=unconfirmed)])
    reasons = result.suggestions[0].reasons
    if reason is None:
        assert not any("confirmed" in r for r in reasons)
    else:
        assert reasons[-1] == reason


def test_vi_c_confirmed_safe_ranks_above_stance_not_confirmed_for_a_medicated_client():
    """VI.C: a listing whose stance is not confirmed, however well it fits, comes after every
    confirmed-safe one for a medicated client, and is shown apart; not for other clients."""
    unknown = listing(
        "Unknown Close", need_slugs={"depression", "anxiety"}, medication_stance=Stance.NOT_KNOWN
    )
    affirming = listing("Affirming", medication_stance=Stance.AFFIRMING)
    medicated = client(need_slugs={"depression", "anxiety"}, on_prescribed_medication=True)
    result = run([unknown, affirming], medicated)
    assert names(result) == ["Affirming", "Unknown Close"]
    assert [s.listing.name for s in result.stance_confirmed(medicated)] == ["Affirming"]
    assert [s.listing.name for s in result.stance_not_confirmed(medicated)] == ["Unknown Close"]
    assert result.suggestions[1].reasons[-1] == "stance not confirmed — ask before referring"
    plain = client(need_slugs={"depression", "anxiety"})
    result = run([unknown, affirming], plain)
    assert names(result) == ["Unknown Close", "Affirming"]
    assert result.stance_not_confirmed(plain) == ()


@pytest.mark.parametrize(
    ("kw", "medicated", "outcome"),
    [
        ({}, False, "suggestion"),
        ({"need_slugs": {"alcohol"}}, False, "suggestion"),  # VIII.C: any listing, by name
        ({"medication_stance": Stance.DISCOURAGES}, False, "suggestion"),
        ({"medication_stance": Stance.DISCOURAGES}, True, "VI.C"),
        ({"open_medication_concern": True}, True, "VI.C"),
        ({"failed_criteria": frozenset({"II.B"})}, False, "II"),
        ({"available": False}, False, "VIII.C"),
    ],
)
def test_viii_c_direct_choice_keeps_ii_and_vi_c(kw, medicated, outcome):
    """VIII.C: the clinician may refer to any listing directly; II "does not meet" and VI.C
    are still enforced, with the reason."""
    found = m.direct_choice(
        listing("Known", **kw),
        client(on_prescribed_medication=medicated),
        vocabulary=CRITERIA_VOCABULARY,
        today=TODAY,
    )
    if outcome == "suggestion":
        assert isinstance(found, m.Suggestion)
        assert found.reasons[0] == "chosen directly by the clinician"
        shares = "need_slugs" not in kw
        assert ("shares none of the client's needs" in found.reasons) is not shares
    else:
        assert isinstance(found, m.Excluded)
        assert found.clause == outcome and found.reason
