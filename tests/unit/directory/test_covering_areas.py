"""The areas that serve a chosen area, from the rows the filter's menu already read."""

from directory.models import ServiceArea
from directory.selectors.browse import covering_ids

K = ServiceArea.Kind
AREAS = [
    ServiceArea(pk=3, slug="san-gabriel", kind=K.SPA),
    ServiceArea(pk=4, slug="metro", kind=K.SPA),
    ServiceArea(pk=9, slug="countywide", kind=K.COUNTYWIDE),
    ServiceArea(pk=11, slug="orange-county", kind=K.OUT_OF_COUNTY),
    ServiceArea(pk=12, slug="national", kind=K.NATIONAL),
]


def test_a_service_planning_area_is_served_by_countywide_and_national_listings():
    assert covering_ids(AREAS[0], AREAS) == [3, 9, 12]


def test_countywide_and_out_of_county_are_served_by_national_listings_only():
    assert covering_ids(AREAS[2], AREAS) == [9, 12]
    assert covering_ids(AREAS[3], AREAS) == [11, 12]


def test_national_is_served_by_itself():
    assert covering_ids(AREAS[4], AREAS) == [12]
