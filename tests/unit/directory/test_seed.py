"""The directory seed's converter (directory/rules/seed.py), without the database.

The appendix (revised 2008-11-07) is turned into fixture records: phones normalised to E.164
with their extension apart (VIII.D's 1-877-SHARE-49 included), the one certain correction
(a doubled http://) made while keeping what was printed, and every malformed entry refused
with a message naming the listing and the field.
"""

import copy
import json

import pytest

from directory.rules import seed
from directory.rules.seed import SeedError, build_records, correct_url, normalise_phone

# ---- Phones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("printed", "e164", "extension"),
    [
        ("(310) 305-8878", "+13103058878", ""),
        ("310-534-1815", "+13105341815", ""),
        ("(213) 639 2670", "+12136392670", ""),  # printed without the hyphen
        ("(323) 777- 0130 Ext. 223", "+13237770130", "223"),  # a stray space, an extension
        ("(562) 436-8585 Ext. 291", "+15624368585", "291"),
        ("(877) 742-7349 Ext.1234", "+18777427349", "1234"),  # no space before the digits
        ("(310) 555-0123 ext 45", "+13105550123", "45"),
        ("(310) 555-0123 x7", "+13105550123", "7"),
        # VIII.D: vanity letters are the keypad's digits; the appendix prints both forms.
        ("1-877-SHARE-49", "+18777427349", ""),
        ("1-877-share-49", "+18777427349", ""),
        ("1-877-742-7349", "+18777427349", ""),
        ("(888) 448-9777", "+18884489777", ""),
        ("+1 213 637 2370", "+12136372370", ""),
    ],
)
def test_phone_normalised_to_e164_with_extension(printed, e164, extension):
    assert normalise_phone(printed) == seed.Phone(e164, extension)


@pytest.mark.parametrize(
    ("printed", "message"),
    [
        ("", "is not a phone number"),
        (None, "is not a phone number"),
        (3103058878, "is not a phone number"),  # YAML read it as a number: must be text
        ("(310) 305-887", "is not a valid phone number"),  # a digit short
        ("305-8878", "is not a valid phone number"),  # no area code
        ("(310) 305-88789", "is not a valid phone number"),  # a digit too many
        ("(011) 305-8878", "is not a valid phone number"),
        ("call Bob", "phone number"),
    ],
)
def test_malformed_phone_refused(printed, message):
    with pytest.raises(SeedError, match=message):
        normalise_phone(printed)


def test_national_format_of_a_phone():
    assert normalise_phone("1-877-SHARE-49").national == "(877) 742-7349"


# ---- Web addresses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("printed", "url", "correction"),
    [
        ("http://www.na.org/", "http://www.na.org/", ""),
        ("http://www.ddaworlwide.org", "http://www.ddaworlwide.org", ""),  # a doubt, not fixed
        # The appendix's Debtors Anonymous line: the doubled scheme is certain, so corrected.
        ("http://http://www.socalda.org/", "http://www.socalda.org/", "doubled http://"),
        ("HTTP://http://www.socalda.org/", "HTTP://www.socalda.org/", "doubled http://"),
        ("https://https://example.org/a", "https://example.org/a", "doubled http://"),
        ("http://http://http://x.example.org", "http://x.example.org", "doubled http://"),
    ],
)
def test_url_doubled_scheme_is_the_only_automatic_correction(printed, url, correction):
    got_url, got_correction = correct_url(printed)
    assert got_url == url
    assert (correction in got_correction) if correction else got_correction == ""


@pytest.mark.parametrize(
    "printed", ["", None, "www.na.org", "://www.oa.org/", "ftp://example.org", "http://"]
)
def test_malformed_url_refused(printed):
    with pytest.raises(SeedError, match="web address"):
        correct_url(printed)


def test_printed_text_compared_without_layout():
    assert seed.normalise_printed("1-877-SHARE-\n49]") == "1-877-SHARE-49]"
    assert seed.normalise_printed("[(888)\n448-9777,  6:00") == "[(888) 448-9777, 6:00"


# ---- Building records ----------------------------------------------------------------------

SPAS = [
    "antelope-valley",
    "san-fernando",
    "san-gabriel",
    "metro",
    "west",
    "south",
    "east",
    "south-bay-harbor",
]


def taxonomy():
    return {
        "categories": [
            {"slug": "twelve-step-mh", "name": "Twelve-Step Groups", "description": "12"},
            {"slug": "other-programs", "name": "Other Programs", "description": "other"},
        ],
        "group_types": [{"code": "A", "name": "Support", "description": "verbal"}],
        "needs": [
            {"slug": "debt", "name": "Debt"},
            {"slug": "depression", "name": "Depression"},
        ],
        "languages": [{"code": "en", "name": "English"}, {"code": "es", "name": "Spanish"}],
        "service_areas": [
            *(
                {"slug": slug, "name": slug, "kind": "spa", "spa_number": n}
                for n, slug in enumerate(SPAS, start=1)
            ),
            {"slug": "countywide", "name": "Countywide", "kind": "countywide"},
        ],
    }


def listing(**overrides):
    entry = {
        "slug": "debtors-anonymous",
        "name": "Debtors Anonymous",
        "description": "A twelve-step group for debt.",
        "format": "III.F",
        "is_twelve_step": True,
        "types": ["A"],
        "needs": ["debt"],
        "printed": [
            {
                "under": "other-programs",
                "text": "Debtors Anonymous http://www.debtorsanonymous.org/ or "
                "http://http://www.socalda.org/\no Long Beach (626) 794-0001 Ext. 12",
            }
        ],
        "contacts": [
            {"url": "http://www.debtorsanonymous.org/"},
            {"url": "http://http://www.socalda.org/"},
            {"phone": "(626) 794-0001 Ext. 12", "area": "Long Beach"},
        ],
    }
    entry.update(overrides)
    return entry


def appendix(*listings, resources=None):
    return {
        "source": {"document": "04.9", "part": "APPENDIX", "revised": "2008-11-07"},
        "last_verified_on": "2008-11-07",
        "area_labels": {"Long Beach": ["south-bay-harbor"]},
        "defaults": {"languages": ["en"], "medication_stance": "not-known"},
        "listings": list(listings) if listings else [listing()],
        "referral_resources": resources if resources is not None else [resource()],
    }


def resource(**overrides):
    entry = {
        "key": "share",
        "name": "SHARE! the Self-Help And Recovery Exchange",
        "description": "VIII.D",
        "printed": [
            {
                "where": "VIII.D",
                "text": "SHARE! the Self-Help And Recovery Exchange [toll free 1-877-SHARE-\n49]",
            }
        ],
        "phones": [{"phone": "1-877-SHARE-49", "label": "Toll free", "source": "VIII.D"}],
    }
    entry.update(overrides)
    return entry


def build(*listings, **kwargs):
    return build_records(taxonomy(), appendix(*listings, **kwargs))


def by_model(records, model):
    return [r["fields"] for r in records if r["model"] == f"directory.{model}"]


def test_listing_becomes_natural_keyed_records():
    records = build()
    assert all("pk" not in r for r in records)
    (group,) = by_model(records, "group")
    assert group["categories"] == [["other-programs"]]  # the heading it is printed under
    assert group["needs"] == [["debt"]] and group["types"] == [["A"]]
    assert group["languages"] == [["en"]]  # the default
    assert group["medication_stance"] == "not-known"  # VI.C: unknown unless stated
    assert group["last_verified_on"] == "2008-11-07"
    # A twelve-step listing gets no invented note: the note is printed on the client's sheet.
    assert group["etiquette_note"] == ""
    assert group["service_areas"] == [["south-bay-harbor"]]  # from its contacts
    assert group["source_note"] == (
        "Appendix (revised November 7, 2008), under “Other Programs”:\n"
        "Debtors Anonymous http://www.debtorsanonymous.org/ or http://http://www.socalda.org/\n"
        "o Long Beach (626) 794-0001 Ext. 12"
    )
    # The fixture holds data only: II.A–H rows are made, unconfirmed, by seed_directory.
    assert not by_model(records, "criterionconfirmation")
    assert [r["model"] for r in records[-6:]] == [
        "directory.group",
        "directory.contact",
        "directory.contact",
        "directory.contact",
        "directory.referralresource",
        "directory.resourcephone",
    ]


def test_phone_contact_stored_e164_with_extension_area_and_printed_text():
    phone = by_model(build(), "contact")[2]
    assert phone["group"] == ["debtors-anonymous"]
    assert (phone["kind"], phone["phone"], phone["extension"]) == ("phone", "+16267940001", "12")
    assert phone["area_label"] == "Long Beach"
    assert phone["service_areas"] == [["south-bay-harbor"]]
    assert phone["as_printed"] == "(626) 794-0001 Ext. 12"
    assert phone["order"] == 3


def test_doubled_scheme_corrected_and_printed_text_kept():
    web = by_model(build(), "contact")[1]
    assert web["url"] == "http://www.socalda.org/"
    assert web["as_printed"] == "http://http://www.socalda.org/"
    assert "As printed: http://http://www.socalda.org/" in web["note"]
    assert web["service_areas"] == []  # a web address is not a place


def test_transcriber_correction_needs_printed_text_and_reason():
    entry = listing(
        printed=[{"under": "other-programs", "text": "ARTS http://www.artsanonymous.org/o (310)"}],
        contacts=[
            {
                "url": "http://www.artsanonymous.org/",
                "printed": "http://www.artsanonymous.org/o",
                "correction": "the next bullet run in",
            }
        ],
    )
    (web,) = by_model(build(entry), "contact")
    assert web["url"] == "http://www.artsanonymous.org/"
    assert web["as_printed"] == "http://www.artsanonymous.org/o"
    assert web["note"] == "As printed: http://www.artsanonymous.org/o (the next bullet run in)"


def test_a_phone_printed_without_an_area_has_none():
    """Seed faithful: no area printed is no area recorded, never countywide."""
    entry = listing(
        printed=[{"under": "other-programs", "text": "Debtors Anonymous o (626) 794-0001"}],
        contacts=[{"phone": "(626) 794-0001"}],
    )
    (phone,) = by_model(build(entry), "contact")
    assert phone["service_areas"] == [] and phone["area_label"] == ""


def test_vanity_number_of_a_referral_resource():
    (phone,) = by_model(build(), "resourcephone")
    assert phone == {
        "resource": ["share"],
        "phone": "+18777427349",
        "extension": "",
        "label": "Toll free",
        "as_printed": "1-877-SHARE-49",
        "source": "VIII.D",
        "order": 1,
    }


def test_resource_hours_and_confirmation():
    entry = resource(
        key="friendship-line",
        name="Friendship Line",
        hours="6:00 p.m.-10:00 p.m.",
        opens_at="18:00",
        closes_at="22:00",
        needs_confirmation=True,
        confirmation_note="Two numbers printed.",
        flags=[{"summary": "Confirm the number"}],
    )
    records = build(resources=[entry])
    (fields,) = by_model(records, "referralresource")
    assert (fields["opens_at"], fields["closes_at"]) == ("18:00:00", "22:00:00")
    assert fields["needs_confirmation"] is True
    (flag,) = by_model(records, "reviewflag")
    assert flag["resource"] == ["friendship-line"] and flag["group"] is None
    assert flag["source"] == "seed"


def test_output_is_deterministic_json():
    first = seed.render_fixture(build())
    assert first == seed.render_fixture(build())
    assert json.loads(first) == build()
    assert first.endswith("\n")


def test_the_real_source_builds():
    """The committed transcription is valid (what build_directory_fixture runs)."""
    records = json.loads(seed.build_fixture_text())
    # 51 printed entries less the five "Other Types", which are categories (taxonomy.yaml).
    assert len(by_model(records, "group")) == 46


# ---- Malformed input: a clear error naming the listing and the field -------------------------


def _set(path, value):
    """A mutation of the default listing: set `value` at `path` (keys and indexes)."""

    def mutate(entry):
        target = entry
        for key in path[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return entry

    return mutate


DELETE = object()
SHARED = "(626) 794-0001"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            _set(["contacts", 2, "phone"], "(626) 794-000"),
            r"listing 'debtors-anonymous': contacts\[2\]\.phone: .*not a valid phone number",
        ),
        (
            _set(["contacts", 2, "phone"], 6267940001),
            r"listing 'debtors-anonymous': contacts\[2\]\.phone: .*not a phone number",
        ),
        (
            _set(["contacts", 0, "url"], "www.debtorsanonymous.org"),
            r"listing 'debtors-anonymous': contacts\[0\]\.url: .*not a valid web address",
        ),
        (
            _set(["contacts", 0], {"email": "not-an-address"}),
            r"listing 'debtors-anonymous': contacts\[0\]\.email: .*not an e-mail address",
        ),
        (
            _set(["contacts", 0], {"phone": "(626) 794-0001", "email": "a@example.org"}),
            r"contacts\[0\]: needs exactly one of phone, email or url",
        ),
        (
            _set(["contacts", 2, "area"], "Mars"),
            r"contacts\[2\]\.area: 'Mars' is not in area_labels",
        ),
        (
            _set(["contacts", 2, "phone"], "(626) 555-0100"),
            r"contacts\[2\]\.phone: '\(626\) 555-0100' does not appear in the entry's printed",
        ),
        (
            _set(["contacts", 2, "phne"], "x"),
            r"contacts\[2\]: phne: is not a known field",
        ),
        (
            _set(["contacts", 1, "correction"], "why"),
            r"contacts\[1\]\.correction: needs `printed`",
        ),
        (_set(["aliasses"], ["DA"]), r"listing 'debtors-anonymous': aliasses: is not a known"),
        (_set(["name"], DELETE), r"listing 'debtors-anonymous': name: is required"),
        (_set(["name"], "  "), r"listing 'debtors-anonymous': name: must not be empty"),
        (_set(["name"], "x" * 201), r"name: is 201 characters, more than 200"),
        (_set(["slug"], "Debtors Anonymous"), r"slug: 'Debtors Anonymous' is not a slug"),
        (_set(["format"], "III.Z"), r"format: 'III.Z' is not one of section III's formats"),
        (_set(["is_twelve_step"], "yes"), r"is_twelve_step: must be true or false"),
        (_set(["medication_stance"], "fine"), r"medication_stance: 'fine' is not one of"),
        (_set(["needs"], ["debts"]), r"needs\[0\]: 'debts' is not in the taxonomy"),
        (_set(["needs"], []), r"needs: must name at least one need"),
        (_set(["types"], ["F"]), r"types\[0\]: 'F' is not in the taxonomy"),
        (_set(["languages"], ["xx"]), r"languages\[0\]: 'xx' is not in the taxonomy"),
        (_set(["printed", 0, "under"], "nowhere"), r"printed\[0\]\.under: 'nowhere' is not a"),
        (
            _set(["printed", 0], {"text": "Debtors Anonymous"}),
            r"printed\[0\]: needs exactly one of `under`",
        ),
        (
            _set(["printed", 0], {"where": "VIII.Z", "text": "x"}),
            r"printed\[0\]\.where: 'VIII.Z' is not a clause",
        ),
        (
            _set(["printed"], [{"where": "VIII.E", "text": "(626) 794-0001"}]),
            r"printed: no block is `under` an appendix heading",
        ),
        (_set(["flags"], [{"detail": "no summary"}]), r"flags\[0\]: summary: is required"),
        (_set(["service_areas"], ["countywide"]), r"service_areas: come from the contacts"),
    ],
)
def test_malformed_listing_refused_naming_listing_and_field(mutate, message):
    entry = mutate(copy.deepcopy(listing()))
    with pytest.raises(SeedError, match=message):
        build(entry)


def test_listing_that_is_not_a_mapping():
    with pytest.raises(SeedError, match=r"listings\[0\]: expected a mapping"):
        build("Debtors Anonymous")


def test_same_listing_twice_refused():
    with pytest.raises(SeedError, match=r"listing 'debtors-anonymous': slug: repeats"):
        build(listing(), listing())
    with pytest.raises(SeedError, match=r"listing 'debtors-2': name: repeats"):
        build(listing(), listing(slug="debtors-2"))


def test_number_printed_for_two_listings_must_be_flagged_on_each():
    other = listing(
        slug="divorce-anonymous",
        name="Divorce Anonymous",
        printed=[{"under": "other-programs", "text": "Divorce Anonymous o (626) 794-0001"}],
        contacts=[{"phone": SHARED}],
    )
    with pytest.raises(SeedError, match=r"listing 'debtors-anonymous': flags: \(626\) 794-0001"):
        build(listing(), other)
    flag = {"summary": f"{SHARED} is printed for both Debtors and Divorce Anonymous"}
    with pytest.raises(SeedError, match=r"listing 'divorce-anonymous': flags: .*add a flag"):
        build(listing(flags=[flag]), other)
    records = build(listing(flags=[flag]), {**other, "flags": [flag]})
    assert len(by_model(records, "reviewflag")) == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"opens_at": 1080, "closes_at": "22:00"}, r"'share': opens_at: .*write it quoted"),
        ({"opens_at": "18:00"}, r"'share': closes_at: give both hours or neither"),
        ({"opens_at": "22:00", "closes_at": "18:00"}, r"closes_at: must be after opens_at"),
        ({"needs_confirmation": True}, r"'share': confirmation_note: is required"),
        ({"phones": []}, r"'share': phones: must hold at least one number"),
        (
            {"phones": [{"phone": "1-877-SHARE-4", "source": "VIII.D"}]},
            r"'share': phones\[0\]\.phone: .*not a valid phone number",
        ),
        (
            {"phones": [{"phone": "1-877-SHARE-49", "source": "VIII.Q"}]},
            r"phones\[0\]\.source: 'VIII.Q' is not a clause",
        ),
        (
            {"printed": [{"under": "other-programs", "text": "1-877-SHARE-49"}]},
            r"printed\[0\]\.under: a referral resource is not under a heading",
        ),
    ],
)
def test_malformed_resource_refused(overrides, message):
    with pytest.raises(SeedError, match=message):
        build(resources=[resource(**overrides)])


def test_malformed_taxonomy_refused():
    broken = taxonomy()
    broken["service_areas"] = broken["service_areas"][1:]
    with pytest.raises(SeedError, match="all eight Service Planning Areas"):
        build_records(broken, appendix())
    broken = taxonomy()
    broken["needs"].append({"slug": "debt", "name": "Debt again"})
    with pytest.raises(SeedError, match=r"taxonomy: needs 'debt': slug: 'debt' is given twice"):
        build_records(broken, appendix())


def test_area_label_naming_an_unknown_area_refused():
    source = appendix()
    source["area_labels"]["Long Beach"] = ["long-beach"]
    with pytest.raises(SeedError, match=r"area_labels: Long Beach\[0\]: 'long-beach' is not"):
        build_records(taxonomy(), source)


def test_invalid_yaml_named(tmp_path):
    path = tmp_path / "appendix.yaml"
    path.write_text("listings: [unclosed\n", encoding="utf-8")
    with pytest.raises(SeedError, match="appendix.yaml: not valid YAML"):
        seed.read_yaml(path)
