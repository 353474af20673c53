"""The checks of any reviewed record, whatever its type."""

from kivaportal.common.checks import Finding


def record_findings(record) -> list[Finding]:
    from kivaportal.journals.checks import journal_findings
    from kivaportal.journals.models import Journal
    from kivaportal.lending.checks import loan_findings
    from kivaportal.lending.models import Loan
    from kivaportal.repayments.checks import report_findings
    from kivaportal.repayments.models import RepaymentReport

    checks = {Loan: loan_findings, Journal: journal_findings, RepaymentReport: report_findings}
    return checks[type(record)](record)
