"""VIII.C direct referral, II.A–H "does not meet" and the VI.C stance tiers on the choose-groups
page, through real requests.

VIII.C: "Clinician may directly refer a client to a specific self-help group, based upon his/her
personal knowledge or clinic referral lists." So the page also finds any active listing by name
(a search box: htmx in place, a plain GET without JavaScript), and a listing so found may be
chosen, unless II (a criterion recorded as not met) or VI.C rules it out, which is said.
"""

# The referral page's fixtures are imported by name, so pytest finds them; their use as test
# arguments is what ruff reads as a redefinition.
# ruff: noqa: F811

from __future__ import annotations

import html

import pytest
import time_machine
from django.utils import timezone

from clients.models import Client
from directory.models import CriterionConfirmation, Group
from referrals.models import ReferredGroup
from tests.factories.directory import CriterionConfirmationFactory
from tests.integration.referrals.test_referral import (  # noqa: F401 (fixtures)
    _group,
    approved_referral,
    client_record,
    flagged,
    listings,
    taxonomy,
)


def _url(referral) -> str:
    return f"/referrals/{referral.pk}/groups/"


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_search_finds_any_active_listing_by_name(sign_in, clinician, approved_referral, listings):
    """VIII.C: "Gamblers Table" shares none of the client's needs, so matching never offers
    it; the clinician finds it by name and may choose it."""
    client = sign_in(clinician)
    page = client.get(_url(approved_referral))
    assert "Gamblers Table" not in [s.listing.name for s in page.context["result"].suggestions]
    found = client.get(_url(approved_referral), {"q": "gambl"})
    assert found.status_code == 200
    direct = found.context["direct"]
    assert [v.listing.name for v in direct] == ["Gamblers Table"]
    assert "chosen directly by the clinician" in _text(found)
    assert "shares none of the client's needs" in _text(found)
    # htmx: the results alone, swapped in place.
    partial = client.get(_url(approved_referral), {"q": "gambl"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert "<html" not in partial.text and "Gamblers Table" in partial.text
    # Chosen with a suggestion: both recorded, the direct one without a rank.
    spanish = listings["spanish"].pk
    response = client.post(
        _url(approved_referral), {"groups": [spanish, listings["unrelated"].pk], "q": "gambl"}
    )
    assert response.status_code == 302
    rows = {r.group.name: r for r in ReferredGroup.objects.select_related("group")}
    assert set(rows) == {"Grupo Depresion", "Gamblers Table"}
    assert rows["Gamblers Table"].suggested_rank is None
    assert rows["Gamblers Table"].reasons[0] == "chosen directly by the clinician"


def test_direct_choice_still_enforces_vi_c(
    sign_in, clinician, approved_referral, listings, flagged
):
    Client.objects.filter(pk=approved_referral.client_id).update(on_prescribed_medication=True)
    client = sign_in(clinician)
    found = client.get(_url(approved_referral), {"q": "pill free"})
    assert "Pill Free Peers</strong>: cannot be chosen (VI.C)" in _text(found)
    response = client.post(_url(approved_referral), {"groups": [listings["discourages"].pk]})
    assert response.status_code == 400
    text = _text(response)
    assert "Nothing was saved." in text
    assert "Pill Free Peers cannot be chosen (VI.C): recorded as a group where members" in text
    assert not ReferredGroup.objects.exists()


def test_ii_does_not_meet_excludes_from_suggestions_and_direct_choice(
    sign_in, clinician, approved_referral, listings
):
    """II: a listing recorded as not meeting a criterion is excluded with the criterion named;
    "not confirmed" is shown on the suggestion cards."""
    CriterionConfirmationFactory(
        group=listings["english"],
        criterion="II.B",
        status=CriterionConfirmation.Status.DOES_NOT_MEET,
    )
    client = sign_in(clinician)
    page = client.get(_url(approved_referral))
    names = [s.listing.name for s in page.context["result"].suggestions]
    assert "Depression Circle" not in names
    excluded = {e.listing.name: e for e in page.context["result"].not_suitable}
    assert excluded["Depression Circle"].clause == "II"
    text = _text(page)
    assert (
        "Depression Circle</strong> (II): does not meet II.B (everyone in the group is a peer)"
        in text
    )
    assert "criteria II.A–H not confirmed" in text  # the other listings' cards
    response = client.post(_url(approved_referral), {"groups": [listings["english"].pk]})
    assert response.status_code == 400
    assert "Depression Circle cannot be chosen (II): does not meet II.B" in _text(response)
    assert not ReferredGroup.objects.exists()


def test_stance_not_confirmed_is_shown_apart_below_confirmed_safe(
    sign_in, clinician, approved_referral, listings
):
    """VI.C: for a medicated client, a listing whose stance is not confirmed is ranked below
    every confirmed-safe one and shown apart, "ask before referring"."""
    Client.objects.filter(pk=approved_referral.client_id).update(on_prescribed_medication=True)
    Group.objects.filter(pk=listings["english"].pk).update(
        medication_stance=Group.MedicationStance.AFFIRMING
    )
    page = sign_in(clinician).get(_url(approved_referral))
    assert [s.listing.name for s in page.context["confirmed_safe"]] == ["Depression Circle"]
    unknown = [s.listing.name for s in page.context["stance_unknown"]]
    assert "Grupo Depresion" in unknown and "Depression Circle" not in unknown
    text = _text(page)
    assert "Suggested: stance not confirmed — ask before referring" in text
    assert text.index("Suggested: confirmed to treat members on medication") < text.index(
        "Suggested: stance not confirmed"
    )
    # The panel's promise is what matching does: both limbs, and no claim beyond the data.
    assert "encourage clients to stop taking their psychiatric medications" in text
    assert "not treating members as full members" in text


@pytest.fixture
def still():
    """Time stands still: the session's activity is saved at most once a minute, and building
    many rows between two counts can take longer than that on a busy machine."""
    with time_machine.travel(timezone.now(), tick=False):
        yield


def test_the_search_with_many_listings_costs_a_fixed_number_of_queries(
    sign_in, clinician, approved_referral, taxonomy, count_queries, still
):
    client = sign_in(clinician)
    _group("Circle One", needs=["alcohol"], taxonomy=taxonomy)
    few = count_queries(client, _url(approved_referral), {"q": "circle"})
    for n in range(30):
        _group(f"Circle {n:02}", needs=["alcohol"], taxonomy=taxonomy)
    many = count_queries(client, _url(approved_referral), {"q": "circle"})
    assert len(many.response.context["direct"]) == 15
    assert many == few


@pytest.mark.parametrize(
    ("person", "status"),
    [("supervisor", 403), ("site_admin", 403), ("outsider", 404)],
)
def test_the_search_per_role(request, sign_in, approved_referral, listings, person, status):
    user = request.getfixturevalue(person)
    response = sign_in(user).get(_url(approved_referral), {"q": "gambl"})
    assert response.status_code == status
