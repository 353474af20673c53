"""A push workload made in bulk: loans, a month's repayment report and journals to approve,
for the tests on real parts (test_workers.py) and `make bench-push`.

Factories would take minutes for thousands of records, so rows are written with bulk_create.
The loans to approve are complete (they pass the checks and the sandbox's validation). The
repayment lines and the journals are about other loans, already at Kiva: the sandbox holds them
as published loans (its own table), so it accepts the journals and finds every repayment line.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction

from integrations.kiva.models import KivaConnection
from integrations.kiva.sandbox.models import SandboxLoan, SandboxPartner
from kivaportal.journals.models import Journal
from kivaportal.lending.models import Borrower, Loan, LoanAtKiva, LoanBorrower, ScheduleLine
from kivaportal.partners.models import Membership, Partner
from kivaportal.partners.roles import Role
from kivaportal.reference.models import Activity, Locale, Location
from kivaportal.repayments.models import Repayment, RepaymentReport
from kivaportal.review import services
from kivaportal.workflow.states import RecordState as S

MONTH = date(2026, 2, 1)
BATCH = 1000


@dataclass
class Workload:
    partner: Partner
    reviewer: object
    connection: KivaConnection
    sandboxed: SandboxPartner
    loans: list = field(default_factory=list)  # to approve: one loan draft each
    report: RepaymentReport | None = None  # to approve: one submission per chunk
    journals: list = field(default_factory=list)  # to approve: one journal each

    @property
    def records(self) -> list:
        return [*self.loans, *([self.report] if self.report else []), *self.journals]

    def approve_all(self, records=None):
        """Approve each record in its own transaction, as the review pages do."""
        for record in self.records if records is None else records:
            services.record_approve(record=record, by=self.reviewer)

    def faults(self, **faults):
        SandboxPartner.objects.filter(pk=self.sandboxed.pk).update(**faults)


def build(
    sandbox_url: str,
    *,
    loans: int,
    lines: int,
    journals: int,
    batch_size: int = 200,
    kiva_partner_id: str = "4242",
    read_timeout: float | None = None,
) -> Workload:
    """One partner connected to the sandbox at `sandbox_url`, with `loans` submitted loans, a
    submitted report of `lines` repayment lines and `journals` submitted journals."""
    from tests.kiva.fixtures import sandbox_partner

    with transaction.atomic():
        partner = Partner.objects.create(
            name=f"Cooperativa Carga {kiva_partner_id}",
            kiva_partner_id=kiva_partner_id,
            country="PE",
            default_currency="PEN",
        )
        users = get_user_model().objects
        preparer = users.create_user(f"prep{kiva_partner_id}", password="secret-pass-123")
        reviewer = users.create_user(f"rev{kiva_partner_id}", password="secret-pass-123")
        Membership.objects.create(user=preparer, partner=partner, role=Role.PREPARER)
        Membership.objects.create(user=reviewer, partner=partner, role=Role.REVIEWER)
        activity = Activity.objects.create(partner=partner, kiva_id=120, name="Agriculture")
        locale = Locale.objects.create(
            partner=partner,
            currency="PEN",
            language_code="es",
            language_name="Español",
            language_id=2,
        )
        location = Location.objects.create(
            partner=partner, country="Peru", location="Cusco", full_name="Cusco: Peru"
        )
        sandboxed, connection = sandbox_partner(partner, sandbox_url)
        connection.repayment_batch_size = batch_size
        connection.read_timeout = read_timeout
        connection.save()
        common = {"partner": partner, "created_by": preparer, "updated_by": preparer}
        loan_fields = {
            **common,
            "amount": Decimal("1200.00"),
            "currency": "PEN",
            "disbursal_date": date(2026, 1, 10),
            "activity": activity,
            "description_language": locale,
            "location": location,
            "description": "Rosa sells vegetables in the market of her town.",
            "loan_use": "To buy seeds and a cart.",
            "client_waiver_signed": True,
        }
        to_approve = _loans(
            "A", loans, {**loan_fields, "state": S.SUBMITTED}, common, schedule=True
        )
        at_kiva = _loans("K", max(lines, journals), {**loan_fields, "state": S.SENT}, common)
        SandboxLoan.objects.bulk_create(
            (
                SandboxLoan(
                    partner=sandboxed,
                    kiva_id=3_000_000 + i,
                    status="payingBack",
                    internal_loan_id=loan.mis_loan_id,
                    internal_client_id=f"K{i:06d}c",
                    loan_ids=[loan.mis_loan_id],
                    client_ids=[f"K{i:06d}c"],
                    name=f"Rosa Quispe K{i}",
                    currency="PEN",
                    amount=loan.amount,
                    payload={},
                )
                for i, loan in enumerate(at_kiva)
            ),
            batch_size=BATCH,
        )
        # What reconciliation reads of them: published, with their Kiva ids (journals are only
        # for loans Kiva knows).
        LoanAtKiva.objects.bulk_create(
            (
                LoanAtKiva(loan=loan, kiva_id=3_000_000 + i, status="payingBack")
                for i, loan in enumerate(at_kiva)
            ),
            batch_size=BATCH,
        )
        report = None
        if lines:
            Repayment.objects.bulk_create(
                (
                    Repayment(
                        partner=partner,
                        loan=loan,
                        mis_repayment_id=f"P{i:07d}",
                        date=MONTH + timedelta(days=9),
                        amount=Decimal("330.00"),
                        principal=Decimal("300.00"),
                        interest=Decimal("30.00"),
                    )
                    for i, loan in enumerate(at_kiva[:lines])
                ),
                batch_size=BATCH,
            )
            report = RepaymentReport.objects.create(month=MONTH, state=S.SUBMITTED, **common)
        made = Journal.objects.bulk_create(
            Journal(
                loan=loan,
                subject=f"Journal {i}: the stall is growing",
                body="With the loan Rosa bought a cart and now sells in two markets.",
                state=S.SUBMITTED,
                **common,
            )
            for i, loan in enumerate(at_kiva[:journals])
        )
    return Workload(
        partner=partner,
        reviewer=reviewer,
        connection=connection,
        sandboxed=sandboxed,
        loans=to_approve,
        report=report,
        journals=made,
    )


def _loans(prefix, count, loan_fields, common, *, schedule=False) -> list:
    partner = common["partner"]
    made = []
    for start in range(0, count, BATCH):
        idx = range(start, min(start + BATCH, count))
        borrowers = Borrower.objects.bulk_create(
            Borrower(
                partner=partner,
                mis_client_id=f"{prefix}{i:06d}c",
                first_name="Rosa",
                last_name=f"Quispe {prefix}{i}",
                gender="female",
            )
            for i in idx
        )
        loans = Loan.objects.bulk_create(
            Loan(mis_loan_id=f"{prefix}{i:06d}", **loan_fields) for i in idx
        )
        LoanBorrower.objects.bulk_create(
            LoanBorrower(loan=loan, borrower=borrower, amount=loan.amount, position=0)
            for loan, borrower in zip(loans, borrowers, strict=True)
        )
        if schedule:
            ScheduleLine.objects.bulk_create(
                ScheduleLine(
                    loan=loan,
                    due_date=loan.disbursal_date + timedelta(days=30 * (k + 1)),
                    principal=Decimal("300.00"),
                    interest=Decimal("30.00"),
                )
                for loan in loans
                for k in range(4)
            )
        made += loans
    return made
