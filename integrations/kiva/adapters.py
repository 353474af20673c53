"""One adapter per kind of Kiva write: what bodies a record becomes, which endpoint takes
them, how the client posts one, and what Kiva's answer says (its reference, confirm link and
problems). The outbox (kivaportal.pipeline) and the review pages' preview use these instead of
asking which model a record is.
"""

from collections.abc import Callable
from dataclasses import dataclass

from integrations.kiva import payloads
from integrations.kiva.models import KivaConnection
from kivaportal.lending.selectors import loans_with_details
from kivaportal.repayments.selectors import (
    report_lines,
    report_resend_count,
    report_send_lines,
    report_totals,
)


@dataclass(frozen=True)
class Answer:
    """What the portal keeps of Kiva's answer to one write."""

    reference: str = ""  # the draft uuid, the repayment upload id, or the journal's link
    confirm_url: str = ""
    problems: list = ()  # Kiva's problems, each {loan_id, code, severity, details, index}
    # False when the answer has none of the shapes Kiva's material shows (kept raw).
    readable: bool = True


def _answer(parsed: payloads.KivaAnswer) -> Answer:
    return Answer(
        reference=parsed.reference,
        confirm_url=parsed.confirm_urls[0] if parsed.confirm_urls else "",
        problems=[p.as_dict() for p in parsed.problems],
        readable=parsed.readable,
    )


@dataclass(frozen=True)
class Preview:
    endpoint: str
    body: object
    calls: int  # how many API calls the record will take


@dataclass(frozen=True)
class KivaAdapter:
    kind: str  # the outbox's SubmissionKind value
    endpoint: str
    bodies: Callable[..., list]  # (record, connection) -> every body to send, in order
    # (record, connection, line_count, first_lines) -> the first body
    preview: Callable[..., Preview]
    post: Callable  # (client, body bytes) -> KivaResponse
    read_answer: Callable[[object], Answer]  # Kiva's decoded JSON -> Answer
    # A lost answer can be settled by looking the record up with GET loans.
    lookup: bool = False


def _batch_size(connection) -> int:
    if connection:
        return connection.repayment_batch_size
    return KivaConnection._meta.get_field("repayment_batch_size").default


# -- loan drafts -----------------------------------------------------------------------------


def _loan_bodies(loan, connection):
    if "schedule" not in getattr(loan, "_prefetched_objects_cache", {}):
        # Read with its details, unless the caller did (bulk approval reads them for all).
        loan = loans_with_details(type(loan).objects.all()).get(pk=loan.pk)
    return [payloads.loan_draft(loan, connection=connection)]


def _loan_preview(loan, connection, line_count=None, first_lines=None):
    body = payloads.loan_draft(loan, connection=connection, encode_photo=False)
    return Preview("POST loan_draft", body, 1)


def _loan_answer(data) -> Answer:
    return _answer(payloads.parse_loan_draft_answer(data))


# -- repayment reports -----------------------------------------------------------------------


def _report_bodies(report, connection):
    return payloads.report_batches(report, connection=connection)


def _report_preview(report, connection, line_count=None, first_lines=None):
    """`first_lines`: the report's first lines when the page already read them."""
    size = _batch_size(connection)
    again = report_resend_count(report)
    if again:  # a version that sends again the lines Kiva refused: those only
        lines = report_send_lines(report)[:size]
        batches = payloads.repayment_batches(lines, partner=report.partner, batch_size=size)
        return Preview("POST repayments", batches[0], -(-again // size))
    total = report_totals(report).lines if line_count is None else line_count
    if first_lines is not None and len(first_lines) >= min(size, total):
        lines = first_lines[:size]
    else:
        lines = report_lines(report, limit=size)
    batches = payloads.repayment_batches(lines, partner=report.partner, batch_size=size)
    body = batches[0] if batches else {"repayments": []}
    return Preview("POST repayments", body, max(1, -(-total // size)))


def _repayments_answer(data) -> Answer:
    return _answer(payloads.parse_repayments_answer(data))


# -- journals --------------------------------------------------------------------------------


def _journal_body(journal, connection):
    item = payloads.journal_item(journal, partner=journal.partner)
    if connection is None:  # a preview before the partner is connected: the docs' shape
        return {"journals": [item]}
    return payloads.journals_body([item], connection=connection)


def _journal_preview(journal, connection, line_count=None, first_lines=None):
    return Preview("POST journals", _journal_body(journal, connection), 1)


def _journals_answer(data) -> Answer:
    return _answer(payloads.parse_journals_answer(data))


LOAN_DRAFT = KivaAdapter(
    kind="loan_draft",
    endpoint="loan_draft",
    bodies=_loan_bodies,
    preview=_loan_preview,
    post=lambda client, body: client.create_loan_draft(body),
    read_answer=_loan_answer,
    lookup=True,
)
REPAYMENTS = KivaAdapter(
    kind="repayments",
    endpoint="repayments",
    bodies=_report_bodies,
    preview=_report_preview,
    post=lambda client, body: client.post_repayments(body),
    read_answer=_repayments_answer,
)
JOURNAL = KivaAdapter(
    kind="journal",
    endpoint="journals",
    bodies=lambda journal, connection: [_journal_body(journal, connection)],
    preview=_journal_preview,
    post=lambda client, body: client.post_journals(body),
    read_answer=_journals_answer,
)
ADAPTERS = {adapter.kind: adapter for adapter in (LOAN_DRAFT, REPAYMENTS, JOURNAL)}
