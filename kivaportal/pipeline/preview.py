"""What the review pages show as "the JSON that will go to Kiva", before approval.

The exact bytes sent are frozen at approval (the outbox); this preview is built by the same
adapters from the record as it is now, with the photo shown as a placeholder rather than read
and encoded on every view, and a repayment report's first call only.
"""

from dataclasses import dataclass

from integrations.kiva import payloads
from integrations.kiva.selectors import partner_connection
from kivaportal.kinds import kind_of


@dataclass(frozen=True)
class PayloadPreview:
    endpoint: str
    json: str
    calls: int  # how many API calls the record will take


def payload_preview(record, *, line_count=None, first_lines=None) -> PayloadPreview:
    """`line_count`: a report's number of lines, when the caller already counted them;
    `first_lines`: its first lines (at least one call's worth), when the caller read them."""
    preview = kind_of(record).kiva.preview(
        record, partner_connection(record.partner_id), line_count, first_lines
    )
    return PayloadPreview(preview.endpoint, payloads.to_pretty_json(preview.body), preview.calls)
