"""The role and clinic matrix (design notes, section 5): every URL pattern of
the URL configuration, with GET and with POST, as each of six people, against the declared
table ``tests/security/url_matrix.py::MATRIX``. Zero mismatches.

Reproduce the figure (patterns × roles × methods):
    pytest tests/security/test_url_matrix.py -q -p no:cacheprovider -rP
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.security import url_matrix as m

# --- the table and the URL configuration agree ---------------------------------------------


def test_every_url_pattern_is_named():
    """The table is keyed by name, and a name is what ``reverse`` builds the URL from."""
    unnamed = [p.route for p in m.url_patterns() if not p.name]
    assert unnamed == []


def test_the_table_lists_every_url_pattern():
    """A URL missing from the table fails here (and a stale row of a removed URL too)."""
    names = [p.name for p in m.url_patterns()]
    assert len(names) == len(set(names)), "two patterns share a name"
    assert sorted(set(names) - set(m.MATRIX)) == [], "URL patterns with no row in MATRIX"
    assert sorted(set(m.MATRIX) - set(names)) == [], "rows of MATRIX with no URL pattern"


def test_every_url_argument_is_filled_from_the_world(world):
    for pattern in m.url_patterns():
        route = m.MATRIX[pattern.name]
        assert set(route.kwargs) == m.converters_named(pattern), pattern.name
        for key in route.kwargs.values():
            assert world.value(key) not in (None, ""), (pattern.name, key)


def test_exactly_the_public_pages_are_open_to_anonymous_people():
    """The public directory adds these addresses and nothing else to what anyone may open."""
    open_to_all = {
        name for name, route in m.MATRIX.items() if route.expected("GET")["anonymous"] != m.SIGN_IN
    }
    assert open_to_all == m.PUBLIC


def test_the_table_is_well_formed():
    for name, route in m.MATRIX.items():
        for method in m.METHODS:
            outcomes = route.expected(method)
            assert set(outcomes.values()) <= m.DECLARABLE, (name, method)
        # Deny by default: only sign-in, the health check and the public directory (VII.A)
        # are open to anonymous people (the admin's sign-in answers them with a redirect to
        # the product's).
        if name not in m.PUBLIC:
            assert route.expected("GET")["anonymous"] == m.SIGN_IN, name
            assert route.expected("POST")["anonymous"] == m.SIGN_IN, name
        # Access-log expectations only on client-related rows, and for a method that gets in.
        assert bool(route.log) == route.client_related, name
        for method in route.log:
            assert m.ALLOWED in route.expected(method).values(), (name, method)
    # Every URL naming a client's record is a client page.
    for name, route in m.tenancy_routes().items():
        assert route.client_related, name


@pytest.mark.parametrize(
    ("status", "location", "outcome"),
    [
        (200, None, m.ALLOWED),
        (400, None, m.ALLOWED),
        (409, None, m.ALLOWED),
        (422, None, m.ALLOWED),
        (302, "/clients/7/", m.ALLOWED),
        (302, "/account/sign-in/", m.ALLOWED),  # after signing out: no next
        (302, "/account/sign-in/?next=/clients/", m.SIGN_IN),
        (302, "/admin/login/?next=/admin/", m.SIGN_IN),
        (302, "/elsewhere/?next=/clients/", m.ALLOWED),
        (403, None, m.DENIED),
        (404, None, m.NOT_FOUND),
        (405, None, m.NO_METHOD),
        (500, None, m.ERROR),
        (503, None, m.ERROR),
    ],
)
def test_the_outcome_classes(status, location, outcome):
    response = SimpleNamespace(status_code=status, headers={"Location": location or ""})
    assert m.classify(response) == outcome


# --- the matrix itself ---------------------------------------------------------------------


@pytest.mark.parametrize("role", m.ROLES)
def test_every_url_as_every_role(role, world, prober):
    mismatches = []
    requests = 0
    for pattern in m.url_patterns():
        route = m.MATRIX[pattern.name]
        url = world.url(pattern.name, route)
        for method in m.METHODS:
            expected = route.expected(method)[role]
            probe = prober.send(role, method, url, world.query(route))
            requests += 1
            if probe.outcome != expected:
                mismatches.append(
                    f"{method} {url} ({pattern.name}) as {role}: expected {expected}, "
                    f"got {probe.outcome} ({probe.status or probe.error})"
                )
    print(f"matrix as {role}: {requests} requests, {len(mismatches)} mismatches")
    assert requests == len(m.MATRIX) * len(m.METHODS)
    assert not mismatches, "\n".join(mismatches)


def test_the_figure():
    """URL patterns × roles × methods, as docs/SECURITY.md reports it."""
    patterns = len(m.url_patterns())
    figure = patterns * len(m.ROLES) * len(m.METHODS)
    roles, methods = len(m.ROLES), len(m.METHODS)
    print(f"matrix: {patterns} URL patterns × {roles} roles × {methods} methods = {figure}")
    assert patterns == len(m.MATRIX)
