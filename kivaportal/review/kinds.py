"""The kinds of record staff review, and what the review pages need to know of each."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from kivaportal.journals.models import Journal
from kivaportal.lending.models import Loan
from kivaportal.repayments.models import RepaymentReport


@dataclass(frozen=True)
class RecordKind:
    slug: str
    model: type
    label: str
    # Related rows a queue row shows; fetched with the page, never one query per row.
    select_related: tuple[str, ...]


KINDS = {
    "loans": RecordKind("loans", Loan, _("Loans"), ("created_by", "updated_by")),
    "journals": RecordKind(
        "journals", Journal, _("Journals"), ("created_by", "updated_by", "loan", "borrower")
    ),
    "reports": RecordKind(
        "reports", RepaymentReport, _("Repayment reports"), ("created_by", "updated_by")
    ),
}


def kind_of(record) -> RecordKind:
    for kind in KINDS.values():
        if isinstance(record, kind.model):
            return kind
    raise LookupError(type(record).__name__)
