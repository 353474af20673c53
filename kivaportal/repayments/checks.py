"""Checks on a month's repayment report, each naming its field."""

from kivaportal.common.checks import Finding


def report_findings(report) -> list[Finding]:
    """The anomalies of a month's report (see `repayments.anomalies`)."""
    from kivaportal.repayments.anomalies import report_anomalies

    return report_anomalies(report)
