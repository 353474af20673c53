"""Who may do what in which partner (roles), and the one queryset scoping every list."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group

from kivaportal.common.scoping import scope_queryset
from kivaportal.lending.models import Borrower, Loan, LoanBorrower, ScheduleLine
from kivaportal.partners.models import Membership, Partner
from kivaportal.partners.roles import Action, Role, role_allows
from kivaportal.partners.selectors import partner_ids_where, user_can, user_roles
from kivaportal.repayments.models import Repayment
from tests.factories import (
    LoanFactory,
    MembershipFactory,
    PartnerFactory,
    RepaymentFactory,
    SuperuserFactory,
    UserFactory,
    member,
)

pytestmark = pytest.mark.django_db

EXPECTED = {
    Role.PREPARER: {Action.VIEW, Action.EDIT, Action.SUBMIT, Action.EXPORT},
    Role.REVIEWER: {Action.VIEW, Action.APPROVE, Action.EXPORT},
    Role.PARTNER_ADMIN: set(Action),
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_role_table(role, action):
    assert role_allows(role, action) is (action in EXPECTED[role])


def test_unknown_role_allows_nothing():
    assert not any(role_allows("", action) for action in Action)


def test_reviewer_may_approve_but_not_edit_in_their_partner_only():
    mine, other = PartnerFactory(), PartnerFactory()
    reviewer = member(mine, Role.REVIEWER)

    assert user_can(reviewer, Action.APPROVE, mine.pk)
    assert not user_can(reviewer, Action.EDIT, mine.pk)
    assert not user_can(reviewer, Action.VIEW, other.pk)


def test_roles_are_per_partner_for_a_user_in_several_partners():
    first, second = PartnerFactory(), PartnerFactory()
    user = UserFactory()
    MembershipFactory(user=user, partner=first, role=Role.PREPARER)
    MembershipFactory(user=user, partner=second, role=Role.REVIEWER)

    assert user_roles(user) == {first.pk: Role.PREPARER, second.pk: Role.REVIEWER}
    assert partner_ids_where(user, Action.EDIT) == {first.pk}
    assert partner_ids_where(user, Action.APPROVE) == {second.pk}
    assert user_can(user, Action.EDIT)  # somewhere
    assert not user_can(user, Action.MANAGE)


def test_inactive_membership_grants_nothing():
    partner = PartnerFactory()
    user = UserFactory()
    MembershipFactory(user=user, partner=partner, role=Role.PARTNER_ADMIN, is_active=False)

    assert user_roles(user) == {}
    assert not user_can(user, Action.VIEW, partner.pk)


def test_inactive_user_may_do_nothing():
    partner = PartnerFactory()
    user = member(partner, Role.PARTNER_ADMIN)
    user.is_active = False

    assert not user_can(user, Action.VIEW, partner.pk)
    assert Loan.objects.for_user(user).count() == 0


def test_anonymous_user_may_do_nothing_and_sees_nothing():
    LoanFactory()

    assert not user_can(AnonymousUser(), Action.VIEW)
    assert Loan.objects.for_user(AnonymousUser()).count() == 0


def test_superuser_may_do_everything_everywhere():
    superuser = SuperuserFactory()
    partner = PartnerFactory()

    assert all(user_can(superuser, action, partner.pk) for action in Action)
    assert partner_ids_where(superuser, Action.MANAGE) is None


@pytest.mark.parametrize(
    ("model", "record_of"),
    [
        (Partner, lambda loan: loan.partner),
        (Loan, lambda loan: loan),
        (Borrower, lambda loan: loan.loan_borrowers.get().borrower),
        (LoanBorrower, lambda loan: loan.loan_borrowers.get()),
        (ScheduleLine, lambda loan: loan.schedule.first()),
        (Repayment, lambda loan: RepaymentFactory(loan=loan)),
        (Membership, lambda loan: MembershipFactory(partner=loan.partner)),
    ],
)
def test_scoped_queryset_holds_only_the_users_partners_records(model, record_of):
    mine, theirs = LoanFactory(), LoanFactory()
    user = member(mine.partner, Role.PREPARER)
    own, foreign = record_of(mine), record_of(theirs)

    visible = set(scope_queryset(model._default_manager.all(), user))

    assert own in visible
    assert foreign not in visible
    assert foreign in set(scope_queryset(model._default_manager.all(), SuperuserFactory()))


def test_scoping_a_model_without_partner_refuses():
    with pytest.raises(TypeError, match="partner_path"):
        scope_queryset(Group.objects.all(), UserFactory())
