"""Matching a feed's meeting to a listing by name (VII.D bulk meetings): table-driven."""

import pytest

from directory.rules.name_matching import match_name, words

LISTINGS = {
    1: ["Emotions Anonymous", "EA"],
    2: ["Recovery International", "Recovery, Inc."],
    3: ["Depression and Bipolar Support Alliance", "DBSA"],
    4: ["Dual Recovery Anonymous"],
    5: ["Dual Recovery Anonymous"],  # two listings of one name
}


def test_words_ignore_case_accents_punctuation_and_filler():
    assert words("The  Neuróticos-Anónimos Group!") == ("neuroticos", "anonimos")


@pytest.mark.parametrize(
    ("texts", "ids", "how"),
    [
        (["Emotions Anonymous", ""], (1,), "same name"),
        (["", "EA"], (1,), "same name"),  # an other name, exactly
        (["emotions  anonymous group", "Tuesday"], (1,), "same name"),
        (["Emotions Anonymous of Pasadena", "Tuesday"], (1,), "name contains"),
        (["", "DBSA Glendale"], (), "no listing of that name"),  # one word: exact only
        (["Recovery Inc Long Beach", ""], (2,), "name contains"),
        (["Dual Recovery Anonymous", ""], (4, 5), "same name: 2 listings"),  # ambiguous
        (["Tuesday Night Serenity", "Big Book"], (), "no listing of that name"),
    ],
)
def test_match_name(texts, ids, how):
    found = match_name(texts, LISTINGS)
    assert found.listing_ids == ids
    assert found.how == how


def test_unmatched_items_get_the_nearest_names_as_suggestions_only():
    found = match_name(["Anonymous Emotions Circle", ""], LISTINGS)
    assert found.listing_ids == ()
    assert found.suggestions[0] == 1  # shares the most words
    assert set(found.suggestions) <= set(LISTINGS)
