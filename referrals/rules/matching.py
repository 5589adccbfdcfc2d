"""Which self-help listings fit a client, and why (policy 04.9 VIII.B–D, with VI.C).

Pure and deterministic: selectors pass ``Listing`` values, a ``ClientProfile`` and ``today``,
and the same inputs give the same suggestions, in the same order, with the same reasons.

What the policy asks of matching:

- VIII.B: the clinician collects, with the client, their goals, the most convenient location and
  any cultural or linguistic needs. Those are the client's needs (from the screening's
  indications and the goals), area and language, and they drive the ranking below.
- VIII.C: the clinician refers to a specific group from the clinic's referral list; matching
  offers the ranked suggestions, each with the reasons it is there, and those reasons are saved
  with the referral (so they are short sentences).
- When no group fits, SHARE! is the suggestion (``MatchResult.share_fallback``): the Appendix
  says current contact information for self-help groups is available through SHARE!. (VIII.D
  is for when no peer attending the group is available, a different trigger.)
- VI.C: a client on appropriately prescribed psychiatric medication is never referred to a group
  that encourages members to stop their medication or treats medicated members as less than full
  members. Such listings, and listings with an unresolved medication concern, are *excluded*
  (never suggested, whatever their score) and reported separately in ``not_suitable``.

Choices the views rely on:

- ``not_suitable`` holds only listings that would otherwise have been relevant (they match at
  least one of the client's needs or group types, or the client named none), ranked like the
  suggestions and capped at ``limit``: the clinician sees the best of the excluded listings, the
  ones they might otherwise have gone looking for, and never the whole unsafe directory.
- A medicated client sees "treats members on prescribed medication as full members" for an
  affirming listing; a not-known stance is allowed, worded "stance not confirmed — ask before
  referring", and ranked below every confirmed-safe listing (``medication_tier``): the data
  cannot promise it is safe, so the clinician asks first.
- II.A–H: a listing recorded as not meeting a criterion is not a self-help group for DMH
  referral; it is excluded (``not_suitable``, clause "II", the criterion named) from
  suggestions and from direct choice. Criteria not confirmed are said on the suggestion.
- When the client gave no area (or no language), that factor scores nothing for any listing and
  adds no reason: every listing is equal on it.
- A listing with no recorded language counts as English: most of the directory was transcribed
  from an English-language list and records no language at all.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from operator import itemgetter

from directory.rules.currency import DEFAULT_CURRENT_MONTHS, is_current

# --- Inputs ------------------------------------------------------------------------------------


class TwelveStep(StrEnum):
    """The client's preference about 12-step groups (same values as ``Referral.TwelveStep``)."""

    NO_PREFERENCE = "no-preference"
    PREFER = "prefer"
    AVOID = "avoid"


class Stance(StrEnum):
    """VI.C: a listing's medication stance (same values as ``Group.MedicationStance``)."""

    AFFIRMING = "affirming"
    NOT_KNOWN = "not-known"
    DISCOURAGES = "discourages"


class AreaKind(StrEnum):
    """Same values as ``ServiceArea.Kind``."""

    SPA = "spa"
    COUNTYWIDE = "countywide"
    OUT_OF_COUNTY = "out-of-county"
    NATIONAL = "national"


@dataclass(frozen=True)
class Area:
    slug: str
    name: str
    kind: str  # an AreaKind value
    spa_number: int | None = None


@dataclass(frozen=True)
class Listing:
    id: int
    name: str
    slug: str
    need_slugs: frozenset[str] = frozenset()
    group_type_codes: frozenset[str] = frozenset()
    language_codes: frozenset[str] = frozenset()  # the group's languages and its meetings'
    areas: frozenset[str] = frozenset()  # area slugs of the group, its contacts and meetings
    # A phone or e-mail of the listing was printed without an area (the 2008 appendix prints
    # many): where it serves is unknown, never "everywhere" (``_unknown_area``).
    area_not_printed: bool = False
    is_twelve_step: bool = False
    medication_stance: Stance = Stance.NOT_KNOWN
    open_medication_concern: bool = False  # an open ReviewFlag with concerns_medication (VI.C)
    # II.A–H: criteria recorded as "does not meet", and those not confirmed either way.
    failed_criteria: frozenset[str] = frozenset()
    unconfirmed_criteria: frozenset[str] = frozenset()
    last_verified_on: date | None = None
    current_months: int = DEFAULT_CURRENT_MONTHS  # VII.D: how long a verification lasts
    available: bool = True  # active and not archived; unavailable listings never appear


@dataclass(frozen=True)
class Vocabulary:
    """Display names: need slug -> name, language code -> name, area slug -> Area.

    ``group_types`` (type code -> name, e.g. "A" -> "Support") is optional; without it a matched
    type is named by its code.
    """

    needs: Mapping[str, str] = field(default_factory=dict)
    languages: Mapping[str, str] = field(default_factory=dict)
    areas: Mapping[str, Area] = field(default_factory=dict)
    group_types: Mapping[str, str] = field(default_factory=dict)
    criteria: Mapping[str, str] = field(default_factory=dict)  # "II.B" -> its text


@dataclass(frozen=True)
class ClientProfile:
    need_slugs: frozenset[str]  # from the screening's indications and the client's goals
    group_type_codes: frozenset[str] = frozenset()
    language_code: str = "en"  # VIII.B linguistic needs; "" when not stated
    area_slug: str | None = None  # VIII.B the most convenient location (a ServiceArea slug)
    on_prescribed_medication: bool = False  # VI.C
    twelve_step: TwelveStep = TwelveStep.NO_PREFERENCE


# --- Outputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    listing: Listing
    score: int
    reasons: tuple[str, ...]
    rank: int  # 1 is the best

    @property
    def summary(self) -> str:
        return "; ".join(self.reasons)


@dataclass(frozen=True)
class Excluded:
    listing: Listing
    clause: str  # "VI.C"
    reason: str


@dataclass(frozen=True)
class MatchResult:
    suggestions: tuple[Suggestion, ...]  # ranked, best first
    not_suitable: tuple[Excluded, ...]  # VI.C exclusions, shown apart with the reason
    share_fallback: bool  # nothing fits, so SHARE! is the suggestion (Appendix)

    def stance_confirmed(self, client: ClientProfile) -> tuple[Suggestion, ...]:
        """VI.C, for the page: the suggestions confirmed safe (all of them for a client not on
        medication), apart from ``stance_not_confirmed``."""
        return tuple(s for s in self.suggestions if not medication_tier(s.listing, client))

    def stance_not_confirmed(self, client: ClientProfile) -> tuple[Suggestion, ...]:
        return tuple(s for s in self.suggestions if medication_tier(s.listing, client))


# --- Weights -----------------------------------------------------------------------------------
#
# The score is a sum of integers. Needs are the strongest factor: one more matched need outweighs
# every other factor together (the most the others can add is 8*5 + 24 + 16 + 6 + 10 + 3 = 99,
# less than NEED_MATCH), so the ranking is first "how much of what the client needs", then the
# rest. The only exception is a client who wants to avoid 12-step groups (see below).
#
# - NEED_MATCH, per need the listing shares with the client (IV indications, VIII.B goals).
# - GROUP_TYPE_MATCH, per section II type (support, growth, ...) the listing shares.
# - LANGUAGE_MATCH when the listing offers the client's language (VIII.B linguistic needs). It
#   weighs more than place: a group the client cannot follow is of little use however near.
# - AREA_*: the client's most convenient location (VIII.B). A group meeting in the client's own
#   area > one serving all of the county > national or online > a listing whose area is unknown
#   (none recorded, or a contact printed without one: it may well be near) > one that meets
#   only somewhere else.
# - VERIFIED_*: verified within a year (VII.D "a current ... list") > verified longer ago > never.
# - TWELVE_STEP_PREFERRED: a small boost for a 12-step group when the client prefers one.
#   TWELVE_STEP_AVOIDED: a strong demotion (more than one matched need) for a 12-step group when
#   the client would rather avoid them; the group is still shown, lower, and says why.
# - MEDICATION_AFFIRMED: for a medicated client, a listing confirmed to welcome medicated members
#   beats an otherwise equal one whose stance is not known (VI.C).

NEED_MATCH = 100
GROUP_TYPE_MATCH = 8
LANGUAGE_MATCH = 24
AREA_SAME = 16
AREA_COUNTYWIDE = 12
AREA_NATIONAL = 8
AREA_UNKNOWN = 4
AREA_ELSEWHERE = 0
VERIFIED_RECENTLY = 6
VERIFIED_LONG_AGO = 2
NEVER_VERIFIED = 0
TWELVE_STEP_PREFERRED = 10
TWELVE_STEP_AVOIDED = -150
MEDICATION_AFFIRMED = 3

VI_C = "VI.C"
II = "II"
# VI.C's two limbs, in the policy's words: the stance value covers either one.
REASON_DISCOURAGES = (
    "recorded as a group where members encourage clients to stop taking their psychiatric "
    "medications against physician advice, or where members are not treated as full members "
    "because of their prescribed medication use"
)
REASON_AFFIRMED = "treats members on prescribed medication as full members"
REASON_STANCE_UNKNOWN = "stance not confirmed — ask before referring"
ALL_CRITERIA = frozenset(f"II.{letter}" for letter in "ABCDEFGH")
REASON_OPEN_CONCERN = (
    "an open review flag reports a medication concern that a site admin has not yet resolved"
)

# At most this many needs or types are named in one reason; the rest are counted.
_NAMED_AT_MOST = 3
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


# --- VI.C --------------------------------------------------------------------------------------


def is_medication_safe(listing: Listing) -> tuple[bool, str]:
    """VI.C alone: may a client on prescribed medication be referred to this listing?

    Unsafe when the group discourages or excludes medicated members, or when a medication concern
    about it is open (reported and not yet resolved by a site admin): until someone has looked,
    the group is treated as unsafe rather than given the benefit of the doubt. Returns
    ``(True, "")`` when safe, else ``(False, reason)`` with every reason that applies.
    """
    reasons = []
    if listing.medication_stance == Stance.DISCOURAGES:
        reasons.append(REASON_DISCOURAGES)
    if listing.open_medication_concern:
        reasons.append(REASON_OPEN_CONCERN)
    return (not reasons, "; ".join(reasons))


def medication_tier(listing: Listing, client: ClientProfile) -> int:
    """VI.C ranking for a medicated client: 0 for a listing confirmed to treat medicated
    members as full members, 1 for a stance not confirmed (shown apart, "ask before
    referring"). Every listing is tier 0 for a client not on medication."""
    if client.on_prescribed_medication and listing.medication_stance != Stance.AFFIRMING:
        return 1
    return 0


def failed_criteria(listing: Listing, vocabulary: Vocabulary) -> str:
    """II: the reason a listing recorded as failing a criterion is excluded ("" if none)."""
    if not listing.failed_criteria:
        return ""
    named = [
        f"{code} ({_lower_first(vocabulary.criteria[code])})"
        if code in vocabulary.criteria
        else code
        for code in sorted(listing.failed_criteria)
    ]
    return "does not meet " + _enumerate_all(named) + ": not a self-help group for DMH referral"


def criteria_reason(listing: Listing) -> str:
    """II.A–H not confirmed either way, as said on a suggestion."""
    codes = sorted(listing.unconfirmed_criteria)
    if set(codes) >= ALL_CRITERIA:
        return "criteria II.A–H not confirmed"
    return "not confirmed: " + ", ".join(codes)


def direct_choice(
    listing: Listing, client: ClientProfile, *, vocabulary: Vocabulary, today: date
) -> Suggestion | Excluded:
    """VIII.C: a listing the clinician picked by name, from personal knowledge or the clinic's
    list, whether or not matching suggested it. II "does not meet" and VI.C still apply:
    either gives an ``Excluded`` with the reason; otherwise a ``Suggestion`` (rank 0) with the
    reasons it fits, or says it shares none of the client's needs."""
    if not listing.available:
        return Excluded(
            listing=listing, clause="VIII.C", reason="not an active listing on the referral list"
        )
    failed = failed_criteria(listing, vocabulary)
    if failed:
        return Excluded(listing=listing, clause=II, reason=failed)
    if client.on_prescribed_medication:
        safe, why = is_medication_safe(listing)
        if not safe:
            return Excluded(listing=listing, clause=VI_C, reason=why)
    worth, reasons = score(listing, client, vocabulary=vocabulary, today=today)
    lead = ("chosen directly by the clinician",)
    if not is_relevant(listing, client):
        lead += ("shares none of the client's needs",)
    return Suggestion(listing=listing, score=worth, reasons=lead + reasons, rank=0)


# --- Scoring -----------------------------------------------------------------------------------


def is_relevant(listing: Listing, client: ClientProfile) -> bool:
    """A listing is worth suggesting only if it shares a need or a group type with the client.

    A client who named no needs and no types has said nothing to narrow by: every listing is.
    """
    if not client.need_slugs and not client.group_type_codes:
        return True
    return bool(
        listing.need_slugs & client.need_slugs or listing.group_type_codes & client.group_type_codes
    )


def score(
    listing: Listing, client: ClientProfile, *, vocabulary: Vocabulary, today: date
) -> tuple[int, tuple[str, ...]]:
    """The listing's score for this client and the reasons, in the order needs, types,
    language, area, verification, 12-step, medication (VIII.B)."""
    return _score(listing, client, vocabulary, today, words=True)


def points(listing: Listing, client: ClientProfile, *, vocabulary: Vocabulary, today: date) -> int:
    """``score``'s number without its reasons: what ranking needs for every listing.

    The same code as ``score`` (one body, ``words=False``), so the two never disagree; what
    only the sentences need (naming and sorting needs, types and areas) is skipped. ``match``
    words the reasons of the few listings it shows, not of the 2,000 it ranks.
    """
    return _score(listing, client, vocabulary, today, words=False)[0]


def _score(
    listing: Listing, client: ClientProfile, vocabulary: Vocabulary, today: date, *, words: bool
) -> tuple[int, tuple[str, ...]]:
    total = 0
    reasons: list[str] = []

    shared_needs = listing.need_slugs & client.need_slugs
    if shared_needs:
        total += NEED_MATCH * len(shared_needs)
        if words:
            needs = sorted(
                (_need_name(slug, vocabulary) for slug in shared_needs), key=str.casefold
            )
            reasons.append("helps with " + _enumerate(needs))

    shared_types = listing.group_type_codes & client.group_type_codes
    if shared_types:
        total += GROUP_TYPE_MATCH * len(shared_types)
        if words:
            reasons.append(_types_reason(sorted(shared_types), vocabulary))

    gained, reason = _language(listing, client, vocabulary)
    total += gained
    if reason:
        reasons.append(reason)

    gained, reason = _area(listing, client, vocabulary, words=words)
    total += gained
    if reason:
        reasons.append(reason)

    gained, reason = _verification(listing, today)
    total += gained
    reasons.append(reason)

    gained, reason = _twelve_step(listing, client)
    total += gained
    if reason:
        reasons.append(reason)

    if client.on_prescribed_medication:
        # VI.C: unsafe listings never reach here for a medicated client (see match()).
        if listing.medication_stance == Stance.AFFIRMING:
            total += MEDICATION_AFFIRMED
            reasons.append(REASON_AFFIRMED)
        else:
            reasons.append(REASON_STANCE_UNKNOWN)

    if words and listing.unconfirmed_criteria:
        reasons.append(criteria_reason(listing))

    return total, (tuple(reasons) if words else ())


def _language(listing: Listing, client: ClientProfile, vocabulary: Vocabulary):
    code = client.language_code
    if not code:
        return 0, ""
    name = vocabulary.languages.get(code, code)
    if code in listing.language_codes:
        return LANGUAGE_MATCH, name
    if code == "en" and not listing.language_codes:
        # Most listings record no language; the list they come from is in English.
        return LANGUAGE_MATCH, "English (no language recorded)"
    if code not in vocabulary.languages:
        # "other" (clients.models.OTHER_LANGUAGE) or a code the directory has no name for:
        # nothing sensible to say about its absence.
        return 0, ""
    return 0, f"no {name} recorded"


def _area(listing: Listing, client: ClientProfile, vocabulary: Vocabulary, *, words: bool = True):
    """Points and reason for the client's most convenient location. The areas are put in order
    only to word the reason (which one is named first); the points ask only whether there is
    one of a kind, so without ``words`` nothing is sorted and the reason is ""."""
    if not client.area_slug:
        return 0, ""
    if client.area_slug in listing.areas:
        return AREA_SAME, _where(_area_of(client.area_slug, vocabulary)) if words else ""
    unknown = _unknown_area(listing)
    if unknown is not None and not listing.areas:
        return unknown
    areas = [_area_of(slug, vocabulary) for slug in listing.areas]
    if words:
        areas.sort(key=_area_order)
    first_of_kind: dict[str, Area] = {}
    for area in areas:
        first_of_kind.setdefault(area.kind, area)
    own = vocabulary.areas.get(client.area_slug)
    if own is not None and own.kind == AreaKind.COUNTYWIDE and AreaKind.SPA in first_of_kind:
        # The client can get anywhere in the county: any SPA will do.
        return AREA_SAME, _where(first_of_kind[AreaKind.SPA]) if words else ""
    for kind, gained in (
        (AreaKind.COUNTYWIDE, AREA_COUNTYWIDE),
        (AreaKind.NATIONAL, AREA_NATIONAL),
    ):
        if kind in first_of_kind:
            return gained, _where(first_of_kind[kind]) if words else ""
    if unknown is not None:
        # Areas elsewhere, but a contact printed without one: it may serve the client's area.
        return unknown
    if not words:
        return AREA_ELSEWHERE, ""
    reason = _where(areas[0])
    if len(areas) > 1:
        others = len(areas) - 1
        reason += f" and {others} other area" + ("s" if others > 1 else "")
    return AREA_ELSEWHERE, reason


def _unknown_area(listing: Listing) -> tuple[int, str] | None:
    """Points and reason when where a listing serves is unknown: no area recorded at all, or a
    contact printed without one. Unknown is neither a match nor a match everywhere: it ranks
    below a group known to serve the client's area, the county or the nation, and above one
    known to meet only elsewhere. None when every way to reach the listing names its area."""
    if not listing.areas:
        return AREA_UNKNOWN, "area not printed"
    if listing.area_not_printed:
        return AREA_UNKNOWN, "area not printed for some of its contacts"
    return None


def language_unmet(result: MatchResult, client: ClientProfile, vocabulary: Vocabulary) -> str:
    """VIII.B "specific cultural or linguistic needs" (and IV.F): the name of the client's
    language when it is not English and no suggested group records it, so that the page can
    say so and point to the listings that do and to SHARE!; "" otherwise (English, a language
    the directory has no name for, or a suggestion that offers it)."""
    code = client.language_code
    if not code or code == "en" or code not in vocabulary.languages:
        return ""
    if any(code in s.listing.language_codes for s in result.suggestions):
        return ""
    return vocabulary.languages[code]


def _verification(listing: Listing, today: date):
    return currency(listing, today)


def currency(listing: Listing, today: date) -> tuple[int, str]:
    """VII.D cadence: a current listing (verified within ``current_months``, 12 by default)
    ranks above an otherwise equal stale one, and a stale one above one never verified; the
    reason names the month of the last verification, so the clinician sees why."""
    when = listing.last_verified_on
    if when is None:
        return NEVER_VERIFIED, "never verified"
    month = f"{_MONTHS[when.month - 1]} {when.year}"
    if is_current(when, today, listing.current_months):
        return VERIFIED_RECENTLY, f"verified {month}"
    return VERIFIED_LONG_AGO, f"not verified since {month}"


def _twelve_step(listing: Listing, client: ClientProfile):
    preference = client.twelve_step
    if preference == TwelveStep.PREFER:
        if listing.is_twelve_step:
            return TWELVE_STEP_PREFERRED, "a 12-step group"
        return 0, "not a 12-step group"
    if preference == TwelveStep.AVOID:
        if listing.is_twelve_step:
            return TWELVE_STEP_AVOIDED, "a 12-step group, which the client would rather avoid"
        return 0, "not a 12-step group"
    # No preference: no points, but the clinician should know (VIII.F etiquette differs).
    return 0, "a 12-step group" if listing.is_twelve_step else ""


# --- Matching ----------------------------------------------------------------------------------


def match(
    listings: Iterable[Listing],
    client: ClientProfile,
    *,
    vocabulary: Vocabulary,
    today: date,
    limit: int = 20,
) -> MatchResult:
    """Rank the available listings for the client (VIII.B–C), keeping VI.C-unsafe ones apart.

    Order: score, highest first; ties by name (case-insensitively), then id, so the order never
    depends on the order of the input. At most ``limit`` suggestions and at most ``limit``
    exclusions. ``share_fallback`` is True when nothing is suggested (SHARE!, per the Appendix).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    medicated = client.on_prescribed_medication
    unmedicated = _unmedicated(client)
    # Every listing is ranked by its points alone; only the few shown are worded (``points``).
    ranked: list[tuple[tuple, Listing]] = []
    unsafe: list[tuple[tuple, Listing, str, str]] = []
    for listing in listings:
        if not listing.available or not is_relevant(listing, client):
            continue
        failed = failed_criteria(listing, vocabulary)
        if failed:
            # II: not a self-help group for DMH referral, whoever the client is.
            worth = points(listing, unmedicated, vocabulary=vocabulary, today=today)
            unsafe.append((_order(worth, listing), listing, II, failed))
            continue
        if medicated:
            safe, why = is_medication_safe(listing)
            if not safe:
                # VI.C: excluded outright, whatever it would have scored. Its score still orders
                # the not-suitable list, so the clinician sees the ones they would have missed.
                worth = points(listing, unmedicated, vocabulary=vocabulary, today=today)
                unsafe.append((_order(worth, listing), listing, VI_C, why))
                continue
        worth = points(listing, client, vocabulary=vocabulary, today=today)
        # VI.C: a confirmed-safe listing before any whose stance is not confirmed.
        ranked.append(((medication_tier(listing, client), *_order(worth, listing)), listing))

    # The best ``limit`` of each, as sorting them all and cutting would give (the order keys
    # end with the id, so they never tie).
    first = itemgetter(0)
    suggestions = []
    for rank, (_, listing) in enumerate(heapq.nsmallest(limit, ranked, key=first), start=1):
        worth, reasons = score(listing, client, vocabulary=vocabulary, today=today)
        suggestions.append(Suggestion(listing=listing, score=worth, reasons=reasons, rank=rank))
    not_suitable = tuple(
        Excluded(listing=listing, clause=clause, reason=why)
        for _, listing, clause, why in heapq.nsmallest(limit, unsafe, key=first)
    )
    return MatchResult(
        suggestions=tuple(suggestions),
        not_suitable=not_suitable,
        share_fallback=not suggestions,
    )


def _order(points: int, listing: Listing) -> tuple:
    return (-points, listing.name.casefold(), listing.name, listing.id)


def _unmedicated(client: ClientProfile) -> ClientProfile:
    return ClientProfile(
        need_slugs=client.need_slugs,
        group_type_codes=client.group_type_codes,
        language_code=client.language_code,
        area_slug=client.area_slug,
        on_prescribed_medication=False,
        twelve_step=client.twelve_step,
    )


# --- Wording -----------------------------------------------------------------------------------


def _need_name(slug: str, vocabulary: Vocabulary) -> str:
    return _lower_first(vocabulary.needs.get(slug) or slug.replace("-", " "))


def _types_reason(codes: list[str], vocabulary: Vocabulary) -> str:
    names = [vocabulary.group_types.get(code) for code in codes]
    if not all(names):
        return "group type " + _enumerate(codes)
    words = _enumerate([_lower_first(n) for n in names])
    article = "an" if words[:1] in ("a", "e", "i", "o", "u") else "a"
    return f"{article} {words} group"


def _lower_first(text: str) -> str:
    """ "Depression" -> "depression", but "ADHD" and "OCD" stay as they are."""
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def _enumerate_all(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _enumerate(items: list[str]) -> str:
    if len(items) > _NAMED_AT_MOST:
        shown = items[:_NAMED_AT_MOST]
        return ", ".join(shown) + f" and {len(items) - _NAMED_AT_MOST} more"
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


_KIND_ORDER = {AreaKind.SPA: 0, AreaKind.COUNTYWIDE: 1, AreaKind.OUT_OF_COUNTY: 2}


def _area_of(slug: str, vocabulary: Vocabulary) -> Area:
    # An area the vocabulary does not know is still named, by its slug.
    return vocabulary.areas.get(slug) or Area(slug=slug, name=slug, kind="", spa_number=None)


def _area_order(area: Area) -> tuple:
    return (_KIND_ORDER.get(area.kind, 3), area.spa_number or 0, area.name.casefold(), area.slug)


def _where(area: Area) -> str:
    if area.kind == AreaKind.SPA and area.spa_number is not None:
        return f"meets in SPA {area.spa_number} – {area.name}"
    if area.kind == AreaKind.COUNTYWIDE:
        return "serves all of Los Angeles County"
    if area.kind == AreaKind.NATIONAL:
        return "national or online"
    return f"meets in {area.name}"
