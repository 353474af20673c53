import pytest

from kivaportal.partners.roles import Role
from kivaportal.workflow.states import RecordState
from tests.factories import (
    KivaConnectionFactory,
    LoanFactory,
    PartnerFactory,
    UserFactory,
    member,
)


@pytest.fixture
def partner(db):
    partner = PartnerFactory(name="Cooperativa Uno")
    # Approval writes the outbox, which needs the partner's Kiva connection.
    KivaConnectionFactory(partner=partner)
    return partner


@pytest.fixture
def other_partner(db):
    return PartnerFactory(name="Crédit Deux")


@pytest.fixture
def preparer(partner):
    return member(partner, Role.PREPARER, username="prep")


@pytest.fixture
def reviewer(partner):
    return member(partner, Role.REVIEWER, username="rev")


@pytest.fixture
def partner_admin(partner):
    return member(partner, Role.PARTNER_ADMIN, username="padmin")


@pytest.fixture
def outsider(other_partner):
    """A reviewer and partner admin — of the other partner."""
    return member(other_partner, Role.PARTNER_ADMIN, username="outsider")


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def make_loan(partner, preparer):
    def make(state=RecordState.DRAFT, by=None, **kwargs):
        by = by or preparer
        return LoanFactory(partner=partner, state=state, created_by=by, updated_by=by, **kwargs)

    return make
