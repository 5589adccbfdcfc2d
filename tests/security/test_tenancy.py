"""A client's record asked for from another clinic answers 404, as a missing one, and is logged.

Every URL naming a client, screening, referral, follow-up or peer contact
(``url_matrix.tenancy_routes``) is probed, with every method another clinic's staff get past the
method and permission gates with, by:

* ``outsider``, clinician and supervisor of another clinic: 404 and one ``not-found`` row with
  the record's type, the id asked for, the prober and their clinic;
* the superuser (every permission, no clinic): the same 404 and row, with no clinic;
* a site admin of another clinic: the permission refusal comes first, 403 and one ``denied``
  row that names no record.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import AccessEvent, Role
from referrals.models import FollowUp
from tests.factories.accounts import UserFactory
from tests.factories.referrals import ReferralFactory
from tests.security import url_matrix as m

# What differs between two renderings of one page: the CSP nonce and the CSRF token.
VARYING = re.compile(
    rb'nonce="[^"]*"|"X-CSRFToken": "[^"]*"|name="csrfmiddlewaretoken" value="[^"]*"'
)


@pytest.fixture
def other_site_admin(other_clinic):
    return UserFactory(username="other-siteadmin", clinic=other_clinic, roles=[Role.SITE_ADMIN])


@pytest.fixture
def prober(people, other_site_admin):
    """The people tenancy is about: the first clinic's clinician, the other clinic's staff,
    the superuser (no clinic), and another clinic's site admin."""
    roles = ("clinician", "other_clinic", "superuser")
    return m.Prober(
        {**{role: people[role] for role in roles}, "other_site_admin": other_site_admin}
    )


def tenancy_probes():
    """(pattern name, method) for every method the other clinic gets a 404 with."""
    return [
        (name, method)
        for name, route in sorted(m.tenancy_routes().items())
        for method in m.METHODS
        if route.expected(method)["other_clinic"] == m.NOT_FOUND
    ]


def new_rows(since_id):
    def read(response):
        return list(AccessEvent.objects.filter(pk__gt=since_id).order_by("id"))

    return read


def last_id() -> int:
    return AccessEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_the_tenancy_urls_are_the_client_record_urls():
    """Every URL naming a client's record is here, and each is probed with at least one
    method (a URL the other clinic could reach with no method at all would be suspicious)."""
    names = set(m.tenancy_routes())
    assert names == {
        "clients:detail",
        "clients:edit",
        "clients:feedback-new",
        "clients:peer-contact-withdraw",
        "referrals:screen",
        "referrals:screen-decision",
        "referrals:screening",
        "referrals:start",
        "referrals:detail",
        "referrals:client-input",
        "referrals:groups",
        "referrals:find-listing",
        "referrals:sheet",
        "referrals:fhir",
        "referrals:vic-decision",
        "clients:part2-consents",
        "referrals:step-done",
        "referrals:step-not-applicable",
        "referrals:introduction",
        "referrals:advocate",
        "referrals:contact-answer",
        "referrals:followup-add",
        "referrals:followup-done",
        "referrals:close",
        "clients:record-note",
        "clients:record-note-text",
        "clients:attendance-new",
    }
    assert {name for name, _ in tenancy_probes()} == names


def test_another_clinic_gets_404_and_the_attempt_is_logged(world, prober, outsider, superuser):
    problems = []
    probes = 0
    for name, method in tenancy_probes():
        route = m.MATRIX[name]
        url = world.url(name, route)
        log = route.log[method]
        for role, user in (("other_clinic", outsider), ("superuser", superuser)):
            probe = prober.send(role, method, url, world.query(route), inspect=new_rows(last_id()))
            probes += 1
            where = f"{method} {url} ({name}) as {role}"
            if probe.status != 404:
                problems.append(f"{where}: answered {probe.status or probe.error}")
                continue
            rows = probe.seen
            if len(rows) != 1:
                problems.append(f"{where}: {len(rows)} access-log rows, not 1")
                continue
            row = rows[0]
            got = (row.action, row.outcome, row.object_type, row.object_id, row.user_id)
            want = (
                log.action,
                "not-found",
                log.type_when_refused,
                m.expected_object_id(world, log.when_refused()),
            )
            if got != (*want, user.pk) or row.clinic_id != user.clinic_id:
                problems.append(f"{where}: logged {got} clinic {row.clinic_id}, wanted {want}")
    print(f"tenancy: {probes} probes from outside the clinic, {len(problems)} problems")
    assert probes == 2 * len(tenancy_probes())
    assert not problems, "\n".join(problems)


def test_a_record_of_another_clinic_looks_like_one_that_does_not_exist(world, prober):
    """The other clinic's staff get the same 404 page, and the same kind of row, for the
    clinic's real ids as for ids that exist nowhere: a 404 tells nothing about whether the
    record exists in another clinic."""
    missing = {key: 900_000 + n for n, key in enumerate(sorted(m.TENANCY_KINDS))}
    problems = []
    for name, method in tenancy_probes():
        route = m.MATRIX[name]
        kwargs = {
            arg: missing[key] if key in m.TENANCY_KINDS else world.value(key)
            for arg, key in route.kwargs.items()
        }
        nowhere = prober.send(
            "other_clinic",
            method,
            reverse(name, kwargs=kwargs),
            world.query(route),
            inspect=new_rows(last_id()),
        )
        elsewhere = prober.send("other_clinic", method, world.url(name, route), world.query(route))
        where = f"{method} {name}"
        if nowhere.status != 404 or elsewhere.status != 404:
            problems.append(f"{where}: {nowhere.status} for a missing id, {elsewhere.status}")
            continue
        if VARYING.sub(b"", nowhere.body) != VARYING.sub(b"", elsewhere.body):
            problems.append(f"{where}: the two 404 pages differ")
        log = route.log[method]
        first_kind = next(key for key in route.kwargs.values() if key in m.TENANCY_KINDS)
        rows = [(r.outcome, r.object_type, r.object_id) for r in nowhere.seen]
        if rows != [("not-found", log.type_when_refused, str(missing[first_kind]))]:
            problems.append(f"{where}: logged {rows}")
    assert not problems, "\n".join(problems)


def test_a_follow_up_of_another_clinic_through_ones_own_referral(
    world, prober, outsider, other_clinic
):
    """VIII.J: the follow-up id is checked against the referral, not only the referral
    against the clinic: the other clinic's own referral with this clinic's follow-up is 404.
    The row names the referral (the record the page is about, looked up first)."""
    own = ReferralFactory(
        screening__client__clinic=other_clinic, screening__client__created_by=outsider
    )
    route = m.MATRIX["referrals:followup-done"]
    url = reverse(
        "referrals:followup-done", kwargs={"pk": own.pk, "followup_id": world.value("followup")}
    )
    probe = prober.send("other_clinic", "POST", url, inspect=new_rows(last_id()))
    assert probe.status == 404
    assert [(r.action, r.outcome, r.object_type, r.object_id) for r in probe.seen] == [
        (route.log["POST"].action, "not-found", "referral", str(own.pk))
    ]
    assert FollowUp.objects.get(pk=world.value("followup")).done_at is None


def test_a_permission_refusal_comes_first_for_a_role_without_client_permissions(world, prober):
    """A site admin of another clinic holds no client permission: every probe is refused by
    the permission gate (403) before the view reads its arguments; the single row is a
    ``denied`` one with the permission lacking, and names no record."""
    problems = []
    for name, method in tenancy_probes():
        route = m.MATRIX[name]
        probe = prober.send(
            "other_site_admin",
            method,
            world.url(name, route),
            world.query(route),
            inspect=new_rows(last_id()),
        )
        rows = [(r.action, r.outcome, r.object_id, r.reason[:6]) for r in probe.seen]
        if probe.status != 403 or rows != [("denied", "denied", "", "lacks ")]:
            problems.append(f"{method} {name}: {probe.status}, logged {rows}")
    assert not problems, "\n".join(problems)
