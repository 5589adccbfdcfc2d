"""The world every security test probes: one record of each kind a URL can name, all of the
first clinic, and the six people of the role matrix.

The records carry sentinel names that no page may show unless it is marked client-related
(``test_access_log_coverage``). ``tests/security/conftest.py`` serves them as the ``world``,
``people`` and ``prober`` fixtures; a test that needs more (another clinic's records, people
half-way through signing in) builds on these rather than starting again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils import timezone

if TYPE_CHECKING:
    from tests.security.url_matrix import Route

# Names no page may show unless it is marked client_related (test_access_log_coverage).
SENTINEL_FIRST_NAME = "Quillonette"
SENTINEL_LAST_NAME = "Zarathustrova"
SENTINEL_PEER_NAME = "Perpetuanne"


def people(*, clinician, supervisor, site_admin, outsider, superuser) -> dict[str, object | None]:
    """The six people of the matrix (``url_matrix.ROLES``), by role; ``anonymous`` is None."""
    return {
        "anonymous": None,
        "clinician": clinician,
        "supervisor": supervisor,
        "site_admin": site_admin,
        "other_clinic": outsider,
        "superuser": superuser,
    }


@dataclass
class World:
    objects: dict[str, object]
    values: dict[str, object]

    def value(self, key: str):
        if key in self.values:
            return self.values[key]
        return self.objects[key].pk

    def kwargs_for(self, route: Route) -> dict:
        return {arg: self.value(key) for arg, key in route.kwargs.items()}

    def url(self, name: str, route: Route | None = None) -> str:
        from tests.security.url_matrix import MATRIX

        route = route or MATRIX[name]
        return reverse(name, kwargs=self.kwargs_for(route))

    def query(self, route: Route) -> dict:
        return dict(self.values[route.query]) if route.query else {}


def build_world(*, clinic, clinician) -> World:
    """One of everything a URL can name, all of ``clinic``: a listing (with a meeting, an open
    review flag), a referral resource, and a client with a screening, a referral that chose
    the listing, a follow-up, a peer contact, an attendance and a feedback."""
    from directory.selectors.change_requests import make_token
    from tests.factories.clients import (
        AttendanceFactory,
        ClientFactory,
        FeedbackFactory,
        PeerContactFactory,
    )
    from tests.factories.directory import (
        ChangeRequestFactory,
        GroupFactory,
        MeetingFactory,
        ReferralResourceFactory,
        ReviewFlagFactory,
        VerificationLinkFactory,
    )
    from tests.factories.referrals import (
        FollowUpFactory,
        ReferralFactory,
        ReferredGroupFactory,
        ScreeningFactory,
    )

    today = timezone.localdate()
    group = GroupFactory(slug="matrix-anonymous", name="Matrix Anonymous")
    MeetingFactory(group=group)
    resource = ReferralResourceFactory(key="share", name="SHARE!")
    flag = ReviewFlagFactory(group=group, summary="Check the meeting time")
    change_request = ChangeRequestFactory(group=group)
    link = VerificationLinkFactory(group=group, sent_by=clinician)
    client = ClientFactory(
        clinic=clinic,
        created_by=clinician,
        first_name=SENTINEL_FIRST_NAME,
        last_name=SENTINEL_LAST_NAME,
    )
    screening = ScreeningFactory(client=client, screened_by=clinician)
    referral = ReferralFactory(screening=screening)
    ReferredGroupFactory(referral=referral, group=group, chosen_by=clinician)
    followup = FollowUpFactory(referral=referral, due_on=today + timedelta(days=7))
    peer_contact = PeerContactFactory(
        client=client,
        group=group,
        first_name=SENTINEL_PEER_NAME,
        phone="+13235550188",
        consented_on=today - timedelta(days=30),
        recorded_by=clinician,
    )
    attendance = AttendanceFactory(
        client=client, group=group, on_date=today - timedelta(days=3), recorded_by=clinician
    )
    feedback = FeedbackFactory(
        client=client,
        group=group,
        given_on=today - timedelta(days=2),
        recorded_by=clinician,
    )
    start: date = today - timedelta(days=30)
    return World(
        objects={
            "client": client,
            "screening": screening,
            "referral": referral,
            "followup": followup,
            "peer_contact": peer_contact,
            "attendance": attendance,
            "feedback": feedback,
            "flag": flag,
            "change_request": change_request,
            "group": group,
            "resource": resource,
            "clinic": clinic,
        },
        values={
            "group_slug": group.slug,
            "resource_key": resource.key,
            "verify_token": make_token(link),
            "step_letter": "a",  # VIII.A
            "review_period": {"start": start.isoformat(), "end": today.isoformat()},
        },
    )
