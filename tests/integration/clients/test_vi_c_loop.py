"""The VI.C feedback loop end to end, through real requests.

Policy 04.9, VI.C: "For clients who are taking appropriately prescribed psychiatric
medication, referrals should not be made to self-help groups where members encourage clients
to stop taking their psychiatric medications against physician advice, or where mental health
consumers are not treated as full members of the group because of their prescribed medication
use." IX.B: the client's observations and concerns about groups are documented.

The loop: a group is suggested to a medicated client; a clinician documents the client's
feedback that members there encouraged stopping prescribed medication; the group leaves the
suggestions of every medicated client at once (and is listed under "Not suitable under VI.C"),
but not those of a client not on medication; the site admin finds the flag on their worklist,
naming the concern and not the client, and resolves it with a note; the group is suggested
again; the clinician sees the admin's resolution with the feedback on the client's page.
"""

from __future__ import annotations

import html

import pytest
from django.utils import timezone

from clients.models import Feedback
from directory.models import Language, Need, ReviewFlag, ServiceArea
from referrals.models import Referral
from tests.factories.clients import ClientFactory
from tests.factories.directory import GroupFactory
from tests.factories.referrals import ReferralFactory, ScreeningFactory

# A screening that refers for depression (IV.H), as tests/integration/referrals/test_referral.py
# has it.
REFER_SCREENING = {
    "indications": [{"code": "IV.H", "detail": "depression"}],
    "no_indication_found": False,
    "selection_criterion": "met",
    "violence_without_impulse_control": "no",
    "expressed_disinterest": "no",
    "explanation_given": True,
    "on_prescribed_medication": "no",
}
X = "Sunrise Circle"
RESOLUTION = "Spoke with the group's contact: one member's remark, addressed at their meeting."


@pytest.fixture
def taxonomy(db):
    depression = Need.objects.create(slug="depression", name="Depression")
    east = ServiceArea.objects.create(
        slug="east", name="East", kind=ServiceArea.Kind.SPA, spa_number=7
    )
    english = Language.objects.create(code="en", name="English")
    return {"need": depression, "area": east, "language": english}


def _listing(name, taxonomy):
    group = GroupFactory(name=name, slug=name.lower().replace(" ", "-"))
    group.needs.add(taxonomy["need"])
    group.service_areas.add(taxonomy["area"])
    group.languages.add(taxonomy["language"])
    return group


@pytest.fixture
def listings(taxonomy):
    # X, and another that fits, so that the suggestions are never empty (no SHARE! fallback).
    return {"x": _listing(X, taxonomy), "other": _listing("Evening Hope Group", taxonomy)}


def _approved_referral(clinic, clinician, taxonomy, *, medicated, first_name, last_name, number):
    client = ClientFactory(
        clinic=clinic,
        created_by=clinician,
        first_name=first_name,
        last_name=last_name,
        record_number=number,
        on_prescribed_medication=medicated,
    )
    screening = ScreeningFactory(client=client, screened_by=clinician, answers=REFER_SCREENING)
    return ReferralFactory(
        screening=screening,
        approval=Referral.Approval.APPROVED,
        preferred_area=taxonomy["area"],
        language="en",
    )


@pytest.fixture
def medicated(clinic, clinician, taxonomy):
    """Ximena takes prescribed psychiatric medication; her referral awaits its groups (VIII.C)."""
    return _approved_referral(
        clinic, clinician, taxonomy, medicated=True, first_name="Ximena", last_name="Uzcategui",
        number="424242",
    )  # fmt: skip


@pytest.fixture
def also_medicated(clinic, clinician, taxonomy):
    return _approved_referral(
        clinic, clinician, taxonomy, medicated=True, first_name="Luis", last_name="Ortega",
        number="535353",
    )  # fmt: skip


@pytest.fixture
def not_medicated(clinic, clinician, taxonomy):
    return _approved_referral(
        clinic, clinician, taxonomy, medicated=False, first_name="Marta", last_name="Soto",
        number="646464",
    )  # fmt: skip


def _suggested(client, referral) -> list[str]:
    response = client.get(f"/referrals/{referral.pk}/groups/")
    assert response.status_code == 200
    return [s.listing.name for s in response.context["result"].suggestions]


def _not_suitable(client, referral) -> dict[str, str]:
    response = client.get(f"/referrals/{referral.pk}/groups/")
    return {i.listing.name: i.reason for i in response.context["result"].not_suitable}


def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_vi_c_loop_end_to_end(
    sign_in, clinician, site_admin, medicated, also_medicated, not_medicated, listings
):
    client_record = medicated.client
    clinic_side = sign_in(clinician)

    # 1. X fits Ximena and is suggested.
    assert X in _suggested(clinic_side, medicated)

    # 2. The clinician documents Ximena's feedback (IX.B): members encouraged stopping medication.
    response = clinic_side.post(
        f"/clients/{client_record.pk}/feedback/new/",
        {
            "group": str(listings["x"].pk),
            "given_on": timezone.localdate().isoformat(),
            "frequency": Feedback.Frequency.OCCASIONALLY,
            "observations": "Friendly, but one member kept talking about pills.",
            "concerns": "Ximena Uzcategui (424242) was told to stop taking her medication.",
            "concern_kinds": [Feedback.Concern.STOP_MEDICATION],
        },
    )
    assert response.status_code == 302
    flag = ReviewFlag.objects.get(group=listings["x"])
    assert flag.is_open and flag.concerns_medication
    assert Feedback.objects.get(client=client_record).review_flag == flag

    # 3. At once, X is not suggested to Ximena, nor to any client on medication (VI.C) ...
    assert X not in _suggested(clinic_side, medicated)
    assert X not in _suggested(clinic_side, also_medicated)
    # ... and is listed apart, with the reason.
    reasons = _not_suitable(clinic_side, medicated)
    assert "open review flag" in reasons[X] and "medication concern" in reasons[X]
    groups_page = _text(clinic_side.get(f"/referrals/{medicated.pk}/groups/"))
    assert "Not suitable under VI.C" in groups_page
    unsuitable = groups_page[groups_page.index("Not suitable under VI.C") :]
    assert X in unsuitable
    # A tampered form naming X for a medicated client is refused.
    refused = clinic_side.post(f"/referrals/{medicated.pk}/groups/", {"groups": [listings["x"].pk]})
    assert refused.status_code == 400
    # 4. A client not on medication is still offered X: the flag is a VI.C matter only.
    assert X in _suggested(clinic_side, not_medicated)

    # 5. The flag names the concern, never the client.
    text = f"{flag.summary}\n{flag.detail}"
    assert "Members encouraged stopping prescribed medication" in flag.summary
    for identifying in ["Ximena", "Uzcategui", "424242", "pills"]:
        assert identifying not in text

    # 6. The site admin sees it on their worklist and resolves it with a note.
    admin_side = sign_in(site_admin)
    worklist = _text(admin_side.get("/directory/manage/"))
    assert flag.summary in worklist and "VI.C medication" in worklist
    assert "Ximena" not in worklist and "424242" not in worklist
    resolved = admin_side.post(
        f"/directory/flags/{flag.pk}/resolve/",
        {"outcome": "unfounded", "resolution_note": RESOLUTION},
    )
    assert resolved.status_code == 302
    flag.refresh_from_db()
    assert not flag.is_open and flag.resolved_by == site_admin
    assert flag.summary not in _text(admin_side.get("/directory/manage/"))

    # 7. X is suggested again, to every medicated client.
    clinic_side = sign_in(clinician)
    assert X in _suggested(clinic_side, medicated)
    assert X in _suggested(clinic_side, also_medicated)
    assert X not in _not_suitable(clinic_side, medicated)

    # 8. The clinician who documented the concern sees the admin's resolution on Ximena's page.
    page = _text(clinic_side.get(f"/clients/{client_record.pk}/"))
    feedback = page[page.index('id="feedback"') :]
    assert X in feedback
    assert "Resolved" in feedback and RESOLUTION in feedback
    assert site_admin.get_full_name() in feedback


def test_the_listing_stays_excluded_until_every_medication_report_is_resolved(
    sign_in, clinician, site_admin, medicated, also_medicated, listings
):
    """Two reports, two flags: resolving one does not clear a report nobody has read."""
    clinic_side = sign_in(clinician)
    for referral in (medicated, also_medicated):
        clinic_side.post(
            f"/clients/{referral.client_id}/feedback/new/",
            {
                "group": str(listings["x"].pk),
                "given_on": timezone.localdate().isoformat(),
                "frequency": Feedback.Frequency.ONCE,
                "concerns": "Was not treated as a full member.",
                "concern_kinds": [Feedback.Concern.NOT_FULL_MEMBER],
            },
        )
    first, second = ReviewFlag.objects.filter(group=listings["x"]).order_by("id")
    admin_side = sign_in(site_admin)
    admin_side.post(
        f"/directory/flags/{first.pk}/resolve/",
        {"outcome": "unfounded", "resolution_note": RESOLUTION},
    )
    clinic_side = sign_in(clinician)
    assert X not in _suggested(clinic_side, medicated)
    sign_in(site_admin).post(
        f"/directory/flags/{second.pk}/resolve/",
        {"outcome": "unfounded", "resolution_note": RESOLUTION},
    )
    assert X in _suggested(sign_in(clinician), medicated)


def test_a_safety_concern_does_not_change_matching(sign_in, clinician, medicated, listings):
    """Only a medication concern is a VI.C exclusion; a safety flag asks an admin to look."""
    clinic_side = sign_in(clinician)
    clinic_side.post(
        f"/clients/{medicated.client_id}/feedback/new/",
        {
            "group": str(listings["x"].pk),
            "given_on": timezone.localdate().isoformat(),
            "frequency": Feedback.Frequency.WEEKLY_OR_MORE,
            "concerns": "The parking lot is dark.",
            "concern_kinds": [Feedback.Concern.SAFETY],
        },
    )
    assert ReviewFlag.objects.get(group=listings["x"]).is_open
    assert X in _suggested(clinic_side, medicated)
