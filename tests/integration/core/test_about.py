"""The About page: the plainest signed-in page, and the benchmark's floor (scale/)."""

import pytest

from tests.factories.clients import ClientFactory

ABOUT = "/about/"


@pytest.mark.parametrize("role", ["clinician", "supervisor", "site_admin", "outsider"])
def test_every_signed_in_role_reads_it(request, sign_in, role):
    response = sign_in(request.getfixturevalue(role)).get(ABOUT)
    assert response.status_code == 200
    assert b"policy 04.9" in response.content


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(ABOUT)
    assert response.status_code == 302
    assert "/account/" in response["Location"]


def test_it_reads_nothing_but_the_session_whatever_the_data(sign_in, clinician, count_queries):
    client = sign_in(clinician)
    client.get(ABOUT)  # the session's first request writes its activity stamp
    few = count_queries(client, ABOUT)
    ClientFactory.create_batch(30, clinic=clinician.clinic)
    assert count_queries(client, ABOUT) == few <= 5
