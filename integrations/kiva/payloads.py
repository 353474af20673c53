"""Portal records -> the exact JSON Kiva documents, and Kiva's answers -> typed results.
Pure functions: no database writes, no HTTP.

Names are Kiva's (snake_case), dates `YYYY-MM-DD`, amounts JSON numbers written from Decimal
with the currency's precision (never through float, so 1200.50 is sent as 1200.50), text UTF-8.
`to_json` gives the bytes to send and to freeze as the record of what was sent.

Callers prefetch what the functions read (a loan's borrowers and schedule, its reference
values) when building many payloads.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from integrations.kiva.models import JournalBodyStyle, KivaConnection
from integrations.kiva.photos import photo_base64, scaled_photo_base64
from kivaportal.common.money import quantize
from kivaportal.lending.models import Loan
from kivaportal.partners.models import Partner
from kivaportal.repayments.selectors import ReportLine, report_send_lines


def to_json(value) -> bytes:
    """Serialise a payload as UTF-8 JSON, writing each Decimal exactly as it is."""
    return _encode(value).encode("utf-8")


def to_pretty_json(value) -> str:
    """The same JSON, indented for people to read (the review pages); same values, same order."""
    return _encode(value, indent="  ")


def _encode(value, indent="", level=0) -> str:
    # json.dumps cannot write a Decimal as a number without going through float, which may
    # change it (and drops trailing zeros), so numbers are written here and the rest by json.
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        return format(value, "f")
    if isinstance(value, dict | list | tuple):
        pairs = isinstance(value, dict)
        parts = [
            f"{json.dumps(str(k), ensure_ascii=False)}: {_encode(v, indent, level + 1)}"
            if pairs
            else _encode(k, indent, level + 1)
            for k, v in (value.items() if pairs else ((item, None) for item in value))
        ]
        opening, closing = ("{", "}") if pairs else ("[", "]")
        if not indent or not parts:
            return opening + ", ".join(parts) + closing
        inner, outer = "\n" + indent * (level + 1), "\n" + indent * level
        return opening + inner + ("," + inner).join(parts) + outer + closing
    if isinstance(value, float):
        raise TypeError("Amounts must be Decimal, never float")
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    return json.dumps(value, ensure_ascii=False)


def _money(amount: Decimal, currency: str) -> Decimal:
    return quantize(amount, currency)


# What a preview shows in place of the photo's base64 text (see `loan_draft`).
PHOTO_PLACEHOLDER = "<the photo, scaled down and base64-encoded when sent>"


def loan_draft(
    loan: Loan, *, connection: KivaConnection | None = None, encode_photo: bool = True
) -> dict:
    """The `POST loan_draft` body for `loan`.

    Optional fields the portal has no value for are left out rather than sent empty, and
    group-only fields are never on an individual loan (PA2 refuses to publish it otherwise).
    `encode_photo=False` puts a placeholder where the photo goes, for previews that should not
    read and scale the image on every view.
    """
    currency = loan.currency
    shares = list(loan.loan_borrowers.all())
    body: dict = {}
    if loan.activity_id:
        body["activity_id"] = loan.activity.kiva_id
    if loan.theme_id:
        body["theme_type_id"] = loan.theme.kiva_id  # omitted when unset: never 0
    if loan.description_language_id:
        body["description_language_id"] = loan.description_language.language_id
    body["currency"] = currency
    if loan.location_id:
        body["location"] = loan.location.full_name
    if loan.description:
        body["description"] = loan.description
    if loan.loan_use:
        body["loanuse"] = loan.loan_use
    body["client_waiver_signed"] = bool(loan.client_waiver_signed)
    if loan.disbursal_date:
        body["disburse_time"] = loan.disbursal_date.isoformat()
    if loan.photo:
        data_uri = (
            connection.image_data_uri
            if connection
            else KivaConnection._meta.get_field("image_data_uri").default
        )
        if not encode_photo:
            body["image_encoded"] = PHOTO_PLACEHOLDER
        elif loan.kiva_photo:  # scaled once, when the photo was stored
            body["image_encoded"] = scaled_photo_base64(loan.kiva_photo, data_uri=data_uri)
        else:
            body["image_encoded"] = photo_base64(loan.photo, data_uri=data_uri)
    body["entreps"] = [
        {
            "first_name": share.borrower.first_name,
            "last_name": share.borrower.last_name,
            "gender": share.borrower.gender,
            "amount": _money(share.amount, currency),
            "client_id": share.borrower.mis_client_id,
            "loan_id": share.effective_mis_loan_id,
        }
        for share in shares
    ]
    body["schedule"] = [
        {
            "date": line.due_date.isoformat(),
            "principal": _money(line.principal, currency),
            "interest": _money(line.interest, currency),
        }
        for line in loan.schedule.all()
    ]
    if loan.is_group:
        body["group_name"] = loan.group_name
        body["internal_client_id"] = loan.group_client_id
        body["internal_loan_id"] = loan.mis_loan_id
        body["not_pictured"] = [bool(share.not_pictured) for share in shares]
    return body


def repayment_line(line: ReportLine, *, partner: Partner) -> dict:
    item = {"loan_id": line.mis_loan_id}
    if partner.uses_client_id:  # three-column partners only
        item["client_id"] = line.client_id
    item["amount"] = line.amount  # already by the partner's amount rule, in its precision
    return item


def repayment_batches(
    lines: Iterable[ReportLine], *, partner: Partner, batch_size: int
) -> list[dict]:
    """`POST repayments` bodies for a report's lines, at most `batch_size` lines each."""
    if not 1 <= batch_size <= 300:
        raise ValueError("batch_size must be 1..300 (Kiva's advice)")
    items = [repayment_line(line, partner=partner) for line in lines]
    return [
        {"repayments": items[start : start + batch_size]}
        for start in range(0, len(items), batch_size)
    ]


def report_batches(report, *, connection: KivaConnection | None = None) -> list[dict]:
    """Every `POST repayments` body of a month's report, by the connection's batch size."""
    size = (
        connection.repayment_batch_size
        if connection
        else KivaConnection._meta.get_field("repayment_batch_size").default
    )
    return repayment_batches(report_send_lines(report), partner=report.partner, batch_size=size)


def journal_item(journal, *, partner: Partner, image_url: str = "") -> dict:
    item = {"internal_loan_id": journal.loan.mis_loan_id}
    if partner.uses_client_id:
        item["internal_client_id"] = _journal_client_id(journal)
    item["subject"] = journal.subject
    item["body"] = journal.body
    if image_url:  # Kiva takes a URL it can fetch; a portal-only media URL is no use to it
        item["image_url"] = image_url
    return item


def _journal_client_id(journal) -> str:
    if journal.borrower_id:
        return journal.borrower.mis_client_id
    loan = journal.loan
    if loan.is_group and loan.group_client_id:
        return loan.group_client_id
    first = loan.loan_borrowers.select_related("borrower").first()
    return first.borrower.mis_client_id if first else ""


def journals_body(items: list[dict], *, connection: KivaConnection) -> dict | list:
    """Journal items in the connection's body style: `{"journals": [...]}` or a bare list."""
    if connection.journal_body_style == JournalBodyStyle.BARE_LIST:
        return list(items)
    return {"journals": list(items)}


# -- Kiva's answers -> typed results ------------------------------------------------------
#
# Kiva documents no answer schema, and the known clients disagree on shapes (an object or a
# list; snake_case or camelCase). These functions read every documented shape and never
# raise: what they cannot read is reported as `readable=False`, and the caller keeps the raw
# answer for staff to see.


@dataclass(frozen=True)
class KivaProblem:
    """One problem Kiva reported: for a repayment line, a draft or a journal."""

    loan_id: str
    code: str
    severity: str  # "error" or "warning" as Kiva says it; "" when it does not say
    details: str  # Kiva's text: `details`, else `message`
    index: int | None = None

    def as_dict(self) -> dict:
        return {
            "loan_id": self.loan_id,
            "code": self.code,
            "severity": self.severity,
            "details": self.details,
            "index": self.index,
        }


@dataclass(frozen=True)
class KivaAnswer:
    """What a POST's answer said: the reference it gave (draft uuid, upload id, first
    confirm URL), every confirm URL, and its problems. `readable` is False when the answer
    has none of the shapes Kiva's material shows."""

    readable: bool
    reference: str = ""
    confirm_urls: tuple[str, ...] = ()
    problems: tuple[KivaProblem, ...] = ()


@dataclass(frozen=True)
class KivaLoan:
    """One item of GET loans."""

    kiva_id: int | None
    uuid: str
    internal_loan_id: str
    internal_client_id: str
    status: str
    funded_amount: Decimal | None
    delinquent: bool | None


@dataclass(frozen=True)
class LoansPage:
    total: int | None
    loans: tuple[KivaLoan, ...]
    received: int  # items on the page, readable or not (for paging)
    unreadable: int  # items that were not loan objects


def _get(item: dict, *names, default=None):
    for name in names:
        if name in item and item[name] is not None:
            return item[name]
    return default


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def _int(value) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _decimal(value) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None
    return amount if amount.is_finite() else None


def _bool(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def parse_problem(item, index: int | None = None) -> KivaProblem | None:
    if not isinstance(item, dict):
        return None
    return KivaProblem(
        loan_id=_text(_get(item, "loan_id", "loanId", "internal_loan_id")),
        code=_text(_get(item, "code")),
        severity=_text(_get(item, "severity")).lower(),
        details=_text(_get(item, "details", "message", "detail")),
        index=_int(_get(item, "index", default=index)),
    )


def _problems(items) -> tuple[KivaProblem, ...]:
    if not isinstance(items, list):
        return ()
    found = (parse_problem(item, i) for i, item in enumerate(items))
    return tuple(p for p in found if p is not None)


def parse_loan_draft_answer(data) -> KivaAnswer:
    """`{"loan_draft_uuid": ...}` (seen) or `{"loanDraftUuid": ...}`, with any warnings."""
    if not isinstance(data, dict):
        return KivaAnswer(readable=False)
    uuid = _text(_get(data, "loan_draft_uuid", "loanDraftUuid", "uuid"))
    problems = _problems(_get(data, "problems", "warnings"))
    return KivaAnswer(readable=bool(uuid), reference=uuid, problems=problems)


def parse_repayments_answer(data) -> KivaAnswer:
    """An object `{"upload_id": ..., "problems": [...]}` (a production connector) or a list
    (Kiva's .NET client): of problems, or of objects that each carry problems."""
    if isinstance(data, dict):
        upload = _text(_get(data, "upload_id", "uploadId", "id"))
        problems = _problems(_get(data, "problems", default=[]))
        known = upload or "problems" in data or _get(data, "code") == "api.success"
        return KivaAnswer(readable=bool(known), reference=upload, problems=problems)
    if isinstance(data, list):
        if not all(isinstance(item, dict) for item in data):
            return KivaAnswer(readable=False)
        if any("problems" in item for item in data):
            parts = [parse_repayments_answer(item) for item in data]
            return KivaAnswer(
                readable=all(p.readable for p in parts),
                reference=next((p.reference for p in parts if p.reference), ""),
                problems=tuple(problem for p in parts for problem in p.problems),
            )
        return KivaAnswer(readable=True, problems=_problems(data))
    return KivaAnswer(readable=False)


def parse_journals_answer(data) -> KivaAnswer:
    """`{"journals": [...]}` (docs) or a bare list (a Kiva client), each item with its
    `confirm_url` (or `confirmUrl`); items without one are problems if they say why."""
    items = _get(data, "journals") if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return KivaAnswer(readable=False)
    urls = tuple(
        url for url in (_text(_get(item, "confirm_url", "confirmUrl")) for item in items) if url
    )
    problems = tuple(
        p
        for i, item in enumerate(items)
        if not _get(item, "confirm_url", "confirmUrl") and _get(item, "code", "message", "details")
        for p in [parse_problem(item, i)]
        if p is not None
    )
    return KivaAnswer(
        readable=True, reference=urls[0] if urls else "", confirm_urls=urls, problems=problems
    )


def parse_loan(item) -> KivaLoan | None:
    """A GET loans item, or None when it is not a loan object Kiva's docs describe."""
    if not isinstance(item, dict):
        return None
    loan = KivaLoan(
        kiva_id=_int(_get(item, "kiva_id", "kivaId", "id")),
        uuid=_text(_get(item, "uuid", "loan_draft_uuid", "loanDraftUuid")).lower(),
        internal_loan_id=_text(_get(item, "internal_loan_id", "internalLoanId")),
        internal_client_id=_text(_get(item, "internal_client_id", "internalClientId")),
        status=_text(_get(item, "status")),
        funded_amount=_decimal(_get(item, "funded_amount", "fundedAmount")),
        delinquent=_bool(_get(item, "delinquent")),
    )
    if not (loan.kiva_id or loan.uuid or loan.internal_loan_id):
        return None
    return loan


def parse_loans_page(data) -> LoansPage:
    """`{"total_records": n, "data": [...]}`; a bare list is read as a page without a total."""
    items = _get(data, "data", default=[]) if isinstance(data, dict) else data
    if not isinstance(items, list):
        return LoansPage(total=None, loans=(), received=0, unreadable=0)
    total = _int(_get(data, "total_records", "totalRecords")) if isinstance(data, dict) else None
    loans = [parse_loan(item) for item in items]
    readable = tuple(loan for loan in loans if loan is not None)
    return LoansPage(
        total=total, loans=readable, received=len(items), unreadable=len(items) - len(readable)
    )
