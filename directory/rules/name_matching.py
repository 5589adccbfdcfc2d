"""Matching a published meeting (a Meeting Guide feed item) to a listing by name: plain data.

Intergroup feeds name meetings and groups their own way ("EA – Glendale Tuesday", "Emotions
Anonymous of Pasadena"); the directory lists organisations ("Emotions Anonymous"). A meeting
matches a listing when, after normalising (case, accents, punctuation, "the", "group"), the
item's group or meeting name *is* the listing's name or one of its other names, or *contains*
it as whole words. Several listings matching equally is ambiguous: nothing is chosen for the
site admin, who picks per row in the preview. Otherwise the nearest names (shared words) are
offered as suggestions, never chosen.
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_NOISE = frozenset({"the", "group", "groups", "meeting", "meetings", "of", "a", "an", "and"})
_WORD = re.compile(r"[a-z0-9]+")
# A name this short matches only exactly: "AA" inside "AA Big Book Study" is a guess too far.
_SHORTEST_CONTAINED = 2  # words


def words(name: str) -> tuple[str, ...]:
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return tuple(w for w in _WORD.findall(text) if w not in _NOISE)


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    size = len(needle)
    return any(haystack[i : i + size] == needle for i in range(len(haystack) - size + 1))


@dataclass(frozen=True)
class NameMatch:
    listing_ids: tuple[int, ...]  # one: matched; several: ambiguous; none: not found
    how: str  # a short sentence for the preview
    suggestions: tuple[int, ...] = ()  # nearest listings by shared words, best first


def match_name(
    texts: Iterable[str], listings: Mapping[int, Iterable[str]], *, suggest: int = 5
) -> NameMatch:
    """``texts``: the item's group and meeting name; ``listings``: id -> its names."""
    texts = [t for t in texts if t]
    mine = [words(t) for t in texts]
    names = {pk: [words(n) for n in all_names if words(n)] for pk, all_names in listings.items()}
    for rule, describe in (
        (lambda w, n: w == n, "same name"),
        (lambda w, n: len(n) >= _SHORTEST_CONTAINED and _contains(w, n), "name contains"),
    ):
        found = sorted(
            {pk for pk, theirs in names.items() for n in theirs for w in mine if rule(w, n)}
        )
        if len(found) == 1:
            return NameMatch((found[0],), describe)
        if found:
            return NameMatch(tuple(found), f"{describe}: {len(found)} listings", tuple(found))
    mine_words = {w for ws in mine for w in ws}
    scored = []
    for pk, theirs in names.items():
        their_words = {w for n in theirs for w in n}
        shared = len(mine_words & their_words)
        if shared:
            scored.append((-shared / len(mine_words | their_words), pk))
    scored.sort()
    return NameMatch((), "no listing of that name", tuple(pk for _, pk in scored[:suggest]))
