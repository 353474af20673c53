"""The kinds of record staff review and the portal sends to Kiva, one entry each: its model,
how to load it with what its pages and payloads read, what its review page shows beyond the
record, and its Kiva adapter (integrations/kiva/adapters.py). Its checks are the model's own
(`findings()`). Code that works on "any record" asks this registry instead of the record's
type.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from integrations.kiva import adapters
from integrations.kiva.adapters import KivaAdapter
from kivaportal.journals.models import Journal
from kivaportal.lending.models import Loan
from kivaportal.lending.selectors import loan_page, loans_with_details
from kivaportal.repayments.models import RepaymentReport
from kivaportal.repayments.pages import report_page


@dataclass(frozen=True)
class RecordKind:
    slug: str  # in the review pages' URLs
    model: type
    label: str
    # Related rows a queue row shows; fetched with the page, never one query per row.
    select_related: tuple[str, ...]
    kiva: KivaAdapter
    # (record, page number, the page's query) -> what its review page shows beyond the record
    # and its findings
    page: Callable[..., dict]
    # queryset -> the same records with what their checks, payloads and page read
    with_details: Callable = lambda queryset: queryset

    def load(self, queryset):
        """`queryset` with everything a record page reads, in a fixed number of queries."""
        return self.with_details(queryset.select_related(*self.select_related))


KINDS = {
    kind.slug: kind
    for kind in (
        RecordKind(
            "loans",
            Loan,
            _("Loans"),
            ("created_by", "updated_by"),
            kiva=adapters.LOAN_DRAFT,
            page=loan_page,
            with_details=loans_with_details,
        ),
        RecordKind(
            "journals",
            Journal,
            _("Journals"),
            ("created_by", "updated_by", "loan__kiva", "borrower", "partner__kiva_connection"),
            kiva=adapters.JOURNAL,
            page=lambda journal, page_number=None, params=None: {"findings": journal.findings()},
            # Its checks read what Kiva last said of its loan.
            with_details=lambda journals: journals.select_related("loan__kiva"),
        ),
        RecordKind(
            "reports",
            RepaymentReport,
            _("Repayment reports"),
            ("created_by", "updated_by"),
            kiva=adapters.REPAYMENTS,
            page=report_page,
        ),
    )
}
_BY_MODEL = {kind.model: kind for kind in KINDS.values()}


def kind_of(record_or_model) -> RecordKind:
    model = record_or_model if isinstance(record_or_model, type) else type(record_or_model)
    try:
        return _BY_MODEL[model]
    except KeyError:
        raise LookupError(model.__name__) from None
