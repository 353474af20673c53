import pytest

from kivaportal.partners.roles import Role
from tests.factories import (
    ActivityFactory,
    BorrowerFactory,
    LocaleFactory,
    LocationFactory,
    PartnerFactory,
    ThemeFactory,
    member,
)


@pytest.fixture
def partner(db):
    """A partner with one of each reference value and two borrowers, C1 and C2.

    The Kiva ids (7120, 7007, 7002) lie outside the factories' sequences, so loans made by
    LoanFactory for the same partner never collide with them.
    """
    found = PartnerFactory(default_currency="PEN")
    ActivityFactory(partner=found, kiva_id=7120)
    ThemeFactory(partner=found, kiva_id=7007)
    LocaleFactory(partner=found, language_id=7002, currency="PEN")
    LocationFactory(partner=found, country="Peru", location="Pisac", full_name="Pisac: Peru")
    BorrowerFactory(partner=found, mis_client_id="C1")
    BorrowerFactory(partner=found, mis_client_id="C2")
    return found


@pytest.fixture
def preparer(partner):
    return member(partner, Role.PREPARER)
