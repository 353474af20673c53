"""What the review pages show as "the JSON that will go to Kiva", before approval.

The exact bytes sent are frozen at approval (the outbox); this preview is built by the same
payload functions from the record as it is now, with the photo shown as a placeholder rather
than read and encoded on every view, and a repayment report's first call only.
"""

from dataclasses import dataclass

from integrations.kiva import payloads
from integrations.kiva.models import KivaConnection
from kivaportal.journals.models import Journal
from kivaportal.lending.models import Loan
from kivaportal.repayments.models import RepaymentReport
from kivaportal.repayments.selectors import report_lines, report_totals


@dataclass(frozen=True)
class PayloadPreview:
    endpoint: str
    json: str
    calls: int  # how many API calls the record will take


def _connection(partner):
    return KivaConnection.objects.filter(partner_id=partner.pk).first()


def payload_preview(record, *, line_count=None, first_lines=None) -> PayloadPreview:
    """`line_count`: a report's number of lines, when the caller already counted them;
    `first_lines`: its first lines (at least one call's worth), when the caller read them."""
    connection = _connection(record.partner)
    if isinstance(record, Loan):
        body = payloads.loan_draft(record, connection=connection, encode_photo=False)
        return PayloadPreview("POST loan_draft", payloads.to_pretty_json(body), 1)
    if isinstance(record, Journal):
        item = payloads.journal_item(record, partner=record.partner)
        body = (
            payloads.journals_body([item], connection=connection)
            if connection
            else {"journals": [item]}
        )
        return PayloadPreview("POST journals", payloads.to_pretty_json(body), 1)
    if isinstance(record, RepaymentReport):
        size = (
            connection.repayment_batch_size
            if connection
            else KivaConnection._meta.get_field("repayment_batch_size").default
        )
        total = report_totals(record).lines if line_count is None else line_count
        if first_lines is not None and len(first_lines) >= min(size, total):
            lines = first_lines[:size]
        else:
            lines = report_lines(record, limit=size)
        batches = payloads.repayment_batches(lines, partner=record.partner, batch_size=size)
        body = batches[0] if batches else {"repayments": []}
        calls = max(1, -(-total // size))
        return PayloadPreview("POST repayments", payloads.to_pretty_json(body), calls)
    raise TypeError(type(record).__name__)
