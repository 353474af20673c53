"""The pipeline against the real sandbox on a socket. Celery runs eagerly here (the default
without a broker): the send task runs in the test's process when the approval commits. The
tests with real worker processes, Redis and PostgreSQL are in tests/pipeline/test_workers.py.
"""

from datetime import date

import pytest

from integrations.kiva.sandbox.models import SandboxLoan, SandboxRequest
from kivaportal.partners.roles import Role
from kivaportal.review import services
from kivaportal.workflow.states import RecordState as S
from tests.factories import JournalFactory, LoanFactory, PartnerFactory, RepaymentFactory, member
from tests.kiva.fixtures import sandbox_partner


class Setup:
    def __init__(self, sandbox):
        self.partner = PartnerFactory(name="Cooperativa Envíos")
        self.preparer = member(self.partner, Role.PREPARER, username="prep")
        self.reviewer = member(self.partner, Role.REVIEWER, username="rev")
        # A first loan creates the partner's reference data, which the sandbox then knows.
        self.first = self.loan()
        self.sandboxed, self.connection = sandbox_partner(self.partner, sandbox.url)

    def loan(self, **kwargs):
        kwargs.setdefault("state", S.SUBMITTED)
        existing = getattr(self, "first", None)
        if existing is not None:
            for field in ("activity", "description_language", "location"):
                kwargs.setdefault(field, getattr(existing, field))
        return LoanFactory(
            partner=self.partner, created_by=self.preparer, updated_by=self.preparer, **kwargs
        )

    def journal(self, loan, **kwargs):
        return JournalFactory(
            loan=loan, partner=self.partner, state=S.SUBMITTED, created_by=self.preparer, **kwargs
        )

    def repayment(self, loan, day=10, **kwargs):
        return RepaymentFactory(loan=loan, date=date(2026, 2, day), **kwargs)

    def approve(self, record):
        services.record_approve(record=record, by=self.reviewer)
        record.refresh_from_db()
        return record

    def faults(self, **faults):
        for name, value in faults.items():
            setattr(self.sandboxed, name, value)
        self.sandboxed.save()

    @staticmethod
    def drafts():
        return SandboxLoan.objects.count()

    @staticmethod
    def posts(path_end):
        return SandboxRequest.objects.filter(method="POST", path__endswith=path_end).count()


@pytest.fixture
def setup(kiva_sandbox):
    return Setup(kiva_sandbox)
