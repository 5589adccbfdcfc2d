"""VIII.B: the client's most convenient location for group attendance, mapped to a SPA.

directory/rules/places.py reads directory/data/la-county-places.yaml (no database). These tests
check known cities and ZIP codes from every part of the county, ZIP codes of other counties, the
City of Los Angeles (which spans several SPAs), how typed text is normalised, malformed input,
and the data file's own consistency."""

import re

import pytest

from directory.rules import places
from directory.rules.places import (
    AmbiguousPlace,
    OutsideCounty,
    Place,
    PlaceNotFound,
    normalise,
    place_names,
    resolve_place,
)

# ---- Known places -> SPA (VIII.B) ------------------------------------------------------------

# At least eight per SPA, from different parts of each: cities, unincorporated communities and
# neighbourhoods of the City of Los Angeles.
KNOWN_NAMES = {
    1: [
        "Lancaster",
        "Palmdale",
        "Quartz Hill",
        "Lake Los Angeles",
        "Littlerock",
        "Lake Hughes",
        "Pearblossom",
        "Leona Valley",
    ],
    2: [
        "Burbank",
        "Glendale",
        "Santa Clarita",
        "San Fernando",
        "Van Nuys",
        "North Hollywood",
        "Sylmar",
        "Calabasas",
        "Woodland Hills",
        "La Crescenta",
    ],
    3: [
        "Pasadena",
        "Pomona",
        "El Monte",
        "Alhambra",
        "Altadena",
        "Hacienda Heights",
        "Rowland Heights",
        "Claremont",
        "West Covina",
        "Monterey Park",
    ],
    4: [
        "Hollywood",
        "Koreatown",
        "Boyle Heights",
        "Eagle Rock",
        "Highland Park",
        "West Hollywood",
        "Silver Lake",
        "Downtown Los Angeles",
        "Echo Park",
    ],
    5: [
        "Santa Monica",
        "Culver City",
        "Venice",
        "Westwood",
        "Beverly Hills",
        "Malibu",
        "Marina del Rey",
        "Pacific Palisades",
        "Westchester",
    ],
    6: [
        "Compton",
        "Watts",
        "Florence-Firestone",
        "Lynwood",
        "Willowbrook",
        "Crenshaw",
        "Leimert Park",
        "Hyde Park",
        "Westmont",
    ],
    7: [
        "Whittier",
        "Downey",
        "East Los Angeles",
        "Norwalk",
        "Bellflower",
        "Huntington Park",
        "South Gate",
        "Cerritos",
        "Montebello",
        "La Mirada",
    ],
    8: [
        "Long Beach",
        "Torrance",
        "San Pedro",
        "Wilmington",
        "Inglewood",
        "Carson",
        "Redondo Beach",
        "Gardena",
        "Avalon",
        "Hawthorne",
    ],
}

KNOWN_ZIPS = {
    1: ["93534", "93535", "93536", "93550", "93551", "93552", "93510", "93543"],
    # Burbank, Glendale, Santa Clarita, Van Nuys, North Hollywood, Sylmar, Chatsworth, Encino
    2: ["91502", "91205", "91355", "91405", "91601", "91342", "91311", "91316"],
    # Pasadena, Pomona, El Monte, Alhambra, Altadena, Hacienda Heights, Covina, Arcadia
    3: ["91101", "91766", "91731", "91801", "91001", "91745", "91722", "91006"],
    # Downtown (90012), Hollywood, Koreatown, Boyle Heights, Eagle Rock, Highland Park,
    # Westlake, West Hollywood
    4: ["90012", "90028", "90010", "90033", "90041", "90042", "90057", "90069"],
    # Santa Monica, Culver City, Venice, Westwood, Beverly Hills, Malibu, Westchester, Palms
    5: ["90401", "90232", "90291", "90024", "90210", "90265", "90045", "90034"],
    # Compton, Watts, Florence-Firestone, Lynwood, Willowbrook, Crenshaw, Leimert Park,
    # South Los Angeles
    6: ["90220", "90002", "90001", "90262", "90059", "90008", "90043", "90003"],
    # Whittier, Downey, East Los Angeles, Norwalk, Bellflower, Huntington Park, South Gate,
    # Cerritos
    7: ["90601", "90241", "90022", "90650", "90706", "90255", "90280", "90703"],
    # Long Beach, Torrance, San Pedro, Wilmington, Inglewood, Carson, Redondo Beach, Avalon
    8: ["90802", "90503", "90731", "90744", "90301", "90745", "90277", "90704"],
}


def _cases(table):
    return [(text, spa) for spa, texts in table.items() for text in texts]


@pytest.mark.parametrize(("text", "spa"), _cases(KNOWN_NAMES))
def test_known_place_resolves_to_its_spa(text, spa):
    place = resolve_place(text)
    assert place == Place(spa_number=spa, label=text)


@pytest.mark.parametrize(("code", "spa"), _cases(KNOWN_ZIPS))
def test_known_zip_resolves_to_its_spa(code, spa):
    assert resolve_place(code) == Place(spa_number=spa, label=f"ZIP {code}")


def test_every_spa_has_at_least_eight_known_cases_each_way():
    for table in (KNOWN_NAMES, KNOWN_ZIPS):
        assert sorted(table) == list(range(1, 9))
        assert all(len(set(texts)) >= 8 for texts in table.values())


def test_place_carries_the_service_area_slug_of_taxonomy_yaml():
    # The slugs directory.ServiceArea rows are seeded with (taxonomy.yaml, kind "spa").
    assert places.spa_slugs() == {
        1: "antelope-valley",
        2: "san-fernando",
        3: "san-gabriel",
        4: "metro",
        5: "west",
        6: "south",
        7: "east",
        8: "south-bay-harbor",
    }
    assert resolve_place("Pasadena").service_area_slug == "san-gabriel"
    assert resolve_place("90731").service_area_slug == "south-bay-harbor"


def test_po_box_zip_resolves_where_its_post_office_is():
    assert resolve_place("91102").spa_number == 3  # Pasadena PO boxes
    assert resolve_place("93590").spa_number == 1  # Palmdale PO boxes
    assert resolve_place("90095").spa_number == 5  # UCLA


def test_county_line_zip_resolves_to_the_spa_of_its_los_angeles_county_part():
    # 90631 is La Habra (Orange County) but takes in La Habra Heights; 91361 takes in the city
    # of Westlake Village. Both are the nearest SPA for whoever lives there.
    assert resolve_place("90631").spa_number == resolve_place("La Habra Heights").spa_number
    assert resolve_place("91361").spa_number == resolve_place("Westlake Village").spa_number


# ---- Outside the county ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "92614",  # Irvine, Orange County
        "94103",  # San Francisco
        "10001",  # New York
        "91901",  # Alpine, San Diego County (just past the 918xx Alhambra range)
        "90620",  # Buena Park, Orange County, inside the 906xx range
        "90740",  # Seal Beach, Orange County, inside the 907xx range
        "91320",  # Newbury Park, Ventura County, inside the 913xx range
        "91710",  # Chino, San Bernardino County, inside the 917xx range
        "93560",  # Rosamond, Kern County, inside the 935xx range
        "93501",  # Mojave, Kern County
        "92397",  # Wrightwood, San Bernardino County
    ],
)
def test_zip_outside_county_refused_with_a_way_forward(code):
    with pytest.raises(OutsideCounty) as refused:
        resolve_place(code)
    assert str(refused.value) == (
        f"ZIP code {code} is outside Los Angeles County. Choose a service area instead."
    )


def test_outside_county_is_a_place_not_found():
    # Callers catching PlaceNotFound catch every refusal.
    assert issubclass(OutsideCounty, PlaceNotFound)
    assert issubclass(AmbiguousPlace, PlaceNotFound)
    assert issubclass(PlaceNotFound, ValueError)


@pytest.mark.parametrize("code", ["90079", "90053", "90189"])
def test_county_zip_we_cannot_place_is_not_called_outside(code):
    # City of Los Angeles PO-box and business ZIP codes: in the county, SPA unknown.
    with pytest.raises(PlaceNotFound) as refused:
        resolve_place(code)
    assert not isinstance(refused.value, OutsideCounty)
    assert f"ZIP code {code}" in str(refused.value)
    assert "city or neighbourhood" in str(refused.value)


# ---- The City of Los Angeles spans several SPAs ----------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Los Angeles",
        "los angeles",
        "  LOS   ANGELES ",
        "Los Angeles, CA",
        "Los Angeles, California",
        "LA",
        "L.A.",
        "la, ca",
        "City of Los Angeles",
    ],
)
def test_los_angeles_is_ambiguous(text):
    with pytest.raises(AmbiguousPlace) as refused:
        resolve_place(text)
    assert str(refused.value) == (
        "Los Angeles spans several service areas: give a ZIP code or a neighbourhood."
    )


def test_los_angeles_with_a_zip_uses_the_zip():
    assert resolve_place("Los Angeles, CA 90012") == Place(4, "ZIP 90012")
    assert resolve_place("Los Angeles 90731") == Place(8, "ZIP 90731")


def test_the_county_itself_is_ambiguous():
    with pytest.raises(AmbiguousPlace, match="Los Angeles County spans several service areas"):
        resolve_place("LA County")


# ---- Normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("pasadena", "Pasadena"),
        ("  PASADENA  ", "Pasadena"),
        ("Pasadena, CA", "Pasadena"),
        ("Pasadena CA", "Pasadena"),
        ("Pasadena, California", "Pasadena"),
        ("Pasadena, Calif.", "Pasadena"),
        ("Pasadena, CA, USA", "Pasadena"),
        ("West   Covina", "West Covina"),
        ("W. Covina", "West Covina"),
        ("N Hollywood", "North Hollywood"),
        ("So. Pasadena", "South Pasadena"),
        ("S. El Monte", "South El Monte"),
        ("E LA", "East Los Angeles"),
        ("East L.A.", "East Los Angeles"),
        ("Mt. Washington", "Mount Washington"),
        ("Mount Washington", "Mount Washington"),
        ("Hacienda Hts", "Hacienda Heights"),
        ("Florence Firestone", "Florence-Firestone"),
        ("florence–firestone", "Florence-Firestone"),  # an en dash
        ("Pico Union", "Pico-Union"),
        ("La Cañada Flintridge", "La Cañada Flintridge"),
        ("La Canada Flintridge", "La Cañada Flintridge"),
        ("la canada", "La Cañada Flintridge"),
        ("City of Industry", "Industry"),
        ("City of Commerce", "Commerce"),
        ("Playa Del Rey", "Playa del Rey"),
        ("Catalina", "Santa Catalina Island"),
    ],
)
def test_typed_variants_resolve_to_the_same_place(text, label):
    assert resolve_place(text).label == label


def test_saint_and_st_are_the_same_word():
    # No Los Angeles County place is a "Saint ...", but typed names are read the same way.
    assert normalise("St. Andrews") == normalise("Saint Andrews") == "saint andrews"
    assert normalise("Mt Wilson") == normalise("Mount Wilson")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("90012-1234", "ZIP 90012"),
        ("900121234", "ZIP 90012"),
        ("90012 1234", "ZIP 90012"),
        (" 91101 ", "ZIP 91101"),
        ("Pasadena, CA 91101", "ZIP 91101"),
        ("91101 Pasadena", "ZIP 91101"),
        ("90012\u20131234", "ZIP 90012"),  # ZIP+4 with an en dash
    ],
)
def test_zip_shapes_accepted(text, label):
    assert resolve_place(text).label == label


def test_zip_wins_over_the_city_typed_with_it():
    # The ZIP code is the more precise of the two.
    assert resolve_place("Pasadena 90731") == Place(8, "ZIP 90731")


# ---- Malformed and unknown input -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["9001", "900123", "90O12", "9OO12", "90012-12", "ABC12", "12345678", "90012 91101", "9-0012"],
)
def test_malformed_zip_refused_with_a_clear_sentence(text):
    with pytest.raises(PlaceNotFound) as refused:
        resolve_place(text)
    assert not isinstance(refused.value, OutsideCounty | AmbiguousPlace)
    message = str(refused.value)
    assert f"“{text}” isn't a ZIP code" in message
    assert "five digits" in message


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_input_asks_for_a_place(text):
    with pytest.raises(PlaceNotFound, match="Type a city, neighbourhood or ZIP code"):
        resolve_place(text)


def test_unknown_place_suggests_a_zip_or_a_service_area():
    with pytest.raises(PlaceNotFound) as refused:
        resolve_place("Springfield")
    message = str(refused.value)
    assert message.startswith("“Springfield” isn't a city or neighbourhood we know")
    assert "ZIP code" in message
    assert "choose a service area" in message
    assert "Did you mean" not in message


def test_a_near_miss_names_the_likely_place():
    with pytest.raises(PlaceNotFound, match="Did you mean Pasadena?"):
        resolve_place("Pasadina")


def test_a_place_outside_the_county_by_name_is_not_known():
    with pytest.raises(PlaceNotFound, match="isn't a city or neighbourhood we know"):
        resolve_place("Irvine")


# ---- Suggestions -----------------------------------------------------------------------------


def test_place_names_are_sorted_unique_and_each_resolves_to_itself():
    names = place_names()
    assert len(names) == len(set(names))
    assert names == sorted(names, key=normalise)
    assert {"Pasadena", "Lancaster", "San Pedro", "Koreatown"} <= set(names)
    for name in names:
        assert resolve_place(name).label == name


def test_place_names_leave_out_places_that_span_several_spas():
    assert "Los Angeles" not in place_names()
    assert "Los Angeles County" not in place_names()


# ---- The data file's consistency -------------------------------------------------------------

# The 88 incorporated cities of Los Angeles County.
INCORPORATED_CITIES = """
Agoura Hills, Alhambra, Arcadia, Artesia, Avalon, Azusa, Baldwin Park, Bell, Bell Gardens,
Bellflower, Beverly Hills, Bradbury, Burbank, Calabasas, Carson, Cerritos, Claremont, Commerce,
Compton, Covina, Cudahy, Culver City, Diamond Bar, Downey, Duarte, El Monte, El Segundo, Gardena,
Glendale, Glendora, Hawaiian Gardens, Hawthorne, Hermosa Beach, Hidden Hills, Huntington Park,
Industry, Inglewood, Irwindale, La Cañada Flintridge, La Habra Heights, La Mirada, La Puente,
La Verne, Lakewood, Lancaster, Lawndale, Lomita, Long Beach, Los Angeles, Lynwood, Malibu,
Manhattan Beach, Maywood, Monrovia, Montebello, Monterey Park, Norwalk, Palmdale,
Palos Verdes Estates, Paramount, Pasadena, Pico Rivera, Pomona, Rancho Palos Verdes,
Redondo Beach, Rolling Hills, Rolling Hills Estates, Rosemead, San Dimas, San Fernando,
San Gabriel, San Marino, Santa Clarita, Santa Fe Springs, Santa Monica, Sierra Madre,
Signal Hill, South El Monte, South Gate, South Pasadena, Temple City, Torrance, Vernon, Walnut,
West Covina, West Hollywood, Westlake Village, Whittier
"""


@pytest.fixture(scope="module")
def data():
    return places.load_data()


def _all_zips(data):
    return [
        (section, spa, code)
        for section in places.ZIP_SECTIONS
        for spa, codes in data[section].items()
        for code in codes
    ]


def test_all_88_incorporated_cities_are_listed_as_cities(data):
    expected = {name.strip() for name in INCORPORATED_CITIES.replace("\n", " ").split(",")}
    assert len(expected) == 88
    listed = {row["name"] for row in data["cities"] if row["kind"] == "city"}
    assert listed == expected


def test_every_entry_is_well_formed(data):
    for row in data["cities"]:
        assert set(row) <= {"name", "kind", "spa", "aliases", "note"}, row
        assert row["kind"] in {"city", "community", "neighbourhood", "region"}, row
        assert row["spa"] is None or row["spa"] in range(1, 9), row
        if row["spa"] is None:
            assert row.get("note"), f"{row['name']}: an ambiguous place needs a note"


def test_no_place_listed_twice(data):
    # No name or alias, once normalised, belongs to two entries.
    seen = {}
    for row in data["cities"]:
        for spelling in [row["name"], *row.get("aliases", [])]:
            key = normalise(spelling)
            assert key not in seen, f"{spelling!r} repeats {seen[key]!r}"
            seen[key] = row["name"]


def test_every_spa_has_places_and_zip_codes(data):
    spas_named = {row["spa"] for row in data["cities"] if row["spa"] is not None}
    assert spas_named == set(range(1, 9))
    assert sorted(data["zip_codes"]) == list(range(1, 9))
    for section in places.ZIP_SECTIONS:
        assert set(data[section]) <= set(range(1, 9)), section


def test_every_zip_is_five_digits_and_listed_once(data):
    entries = _all_zips(data)
    codes = [code for _, _, code in entries]
    for section, spa, code in entries:
        assert isinstance(code, int) and 10000 <= code <= 99999, (section, spa, code)
    repeated = sorted({code for code in codes if codes.count(code) > 1})
    assert repeated == []


def test_residential_coverage_is_broad(data):
    # The county has about 290 residential ZIP codes; nearly all are mapped.
    assert sum(len(codes) for codes in data["zip_codes"].values()) >= 280


def test_every_mapped_zip_is_in_the_county_ranges_and_not_outside(data):
    ranges = data["county_zip_ranges"]
    outside = {code for codes in data["outside_county_zip_codes"].values() for code in codes}
    for section, spa, code in _all_zips(data):
        assert any(low <= code <= high for low, high in ranges), (section, spa, code)
        assert code not in outside, (section, spa, code)
    for codes in data["outside_county_zip_codes"].values():
        for code in codes:
            assert any(low <= code <= high for low, high in ranges), code


def test_every_listed_zip_resolves_to_the_spa_it_is_listed_under(data):
    for _, spa, code in _all_zips(data):
        assert resolve_place(f"{code:05d}") == Place(spa, f"ZIP {code:05d}")


def test_every_listed_outside_zip_is_refused_as_outside(data):
    for codes in data["outside_county_zip_codes"].values():
        for code in codes:
            with pytest.raises(OutsideCounty):
                resolve_place(str(code))


def test_header_states_provenance_and_straddlers():
    text = places.PLACES_FILE.read_text(encoding="utf-8")
    header = text.split("\ncities:", 1)[0]
    assert "general knowledge" in header
    assert "site admin" in header
    assert "census tracts" in header
    # Each straddler named in the header is a mapped ZIP code.
    block = header.split("Known straddlers", 1)[1].split("\n#\n", 1)[0]
    straddlers = {int(code) for code in re.findall(r"\b(9\d{4})\b", block)}
    mapped = {code for _, _, code in _all_zips(places.load_data())}
    assert straddlers and straddlers <= mapped


def test_data_is_read_once():
    assert places.load_data() is places.load_data()
