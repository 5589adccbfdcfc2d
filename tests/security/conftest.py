import pytest

from tests.security import url_matrix as m
from tests.security import world as w


@pytest.fixture
def people(clinician, supervisor, site_admin, outsider, superuser):
    """The six people of the role matrix, by role (``anonymous`` is None)."""
    return w.people(
        clinician=clinician,
        supervisor=supervisor,
        site_admin=site_admin,
        outsider=outsider,
        superuser=superuser,
    )


@pytest.fixture
def world(clinic, clinician):
    """One record of every kind a URL can name, all of the first clinic."""
    return w.build_world(clinic=clinic, clinician=clinician)


@pytest.fixture
def prober(people):
    """The matrix's prober, each of the six people signed in with both factors."""
    return m.Prober(people)
