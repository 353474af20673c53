"""Reads of loans."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Prefetch
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from kivaportal.common.money import money_text
from kivaportal.lending.models import (
    KIVA_ISSUE,
    KivaStatus,
    Loan,
    LoanAtKiva,
    LoanBorrower,
    kiva_status_known_in,
    known_in_q,
)
from kivaportal.workflow.states import RecordState

# Queue filter values beside Kiva's statuses.
NOT_LISTED = "not_listed"
NO_LONGER_LISTED = "no_longer_listed"
# Sent, and not yet public at Kiva: a person at the partner still has to publish it in PA2.
UNPUBLISHED = ("", KivaStatus.INACTIVE, KivaStatus.REVIEWED)


def loans_with_details(queryset):
    """Loans with what their checks, payloads and review page read (reference values,
    borrowers, schedule), fetched with them: a fixed number of queries for any number of loans."""
    return queryset.select_related(
        "activity", "theme", "description_language", "location"
    ).prefetch_related(
        Prefetch("loan_borrowers", LoanBorrower.objects.select_related("borrower")),
        "schedule",
    )


def loan_page(loan, page_number=None, params=None) -> dict:
    """What a loan's review page shows beyond the loan itself: shares, schedule, totals, its
    checks, and the history of its parts for the timeline."""
    from kivaportal.lending.models import ScheduleLine

    shares = list(loan.loan_borrowers.all())
    schedule = list(loan.schedule.all())
    currency = loan.currency
    return {
        "shares": shares,
        "schedule": schedule,
        "shares_total": sum((s.amount for s in shares), Decimal(0)),
        "principal_total": sum((line.principal for line in schedule), Decimal(0)),
        "interest_total": sum((line.interest for line in schedule), Decimal(0)),
        "findings": loan.findings(),
        "timeline_related": (
            (
                LoanBorrower.history.filter(loan_id=loan.pk).select_related("borrower"),
                lambda row: _("Borrower %(name)s, share %(amount)s")
                % {"name": row.borrower.full_name, "amount": money_text(row.amount, currency)},
            ),
            (
                ScheduleLine.history.filter(loan_id=loan.pk),
                lambda row: _("Instalment %(date)s: %(principal)s + %(interest)s")
                % {
                    "date": date_format(row.due_date, "SHORT_DATE_FORMAT"),
                    "principal": money_text(row.principal, currency),
                    "interest": money_text(row.interest, currency),
                },
            ),
        ),
    }


def loans_at_kiva(queryset, kiva_status=None, environment=""):
    """Loans narrowed by their status at Kiva as `environment` knows it (`known_in_q`): one
    of Kiva's statuses, NOT_LISTED (Kiva has not listed it there) or NO_LONGER_LISTED (Kiva
    stopped listing it); None leaves them all."""
    if not kiva_status:
        return queryset
    if kiva_status == NOT_LISTED:
        return queryset.alias(known_status=kiva_status_known_in(environment, "kiva__")).filter(
            known_status=""
        )
    known = known_in_q(environment, "kiva__environment")
    if kiva_status == NO_LONGER_LISTED:
        return queryset.filter(known, kiva__missing_since__isnull=False)
    return queryset.filter(known, kiva__status=kiva_status)


@dataclass
class KivaSummary:
    counts: list  # (status, label, n) for each status Kiva shows the partner's loans in
    not_listed: int  # sent loans Kiva has not listed
    no_longer_listed: int
    waiting_days: int
    waiting: list  # sent over `waiting_days` ago and still not published in PA2 (oldest 10)
    waiting_count: int
    issues: list  # sent back with an issue by Kiva (newest 10)
    issue_count: int
    last_seen: object  # when reconciliation last saw one of the partner's loans


def kiva_summary(partner, *, waiting_days: int, environment: str = "") -> KivaSummary:
    """The partner's loans as Kiva shows them in `environment` (the partner's active one:
    another's rows are what stage knew, `known_in_q`), for the dashboard: six queries."""
    rows = LoanAtKiva.objects.filter(known_in_q(environment), loan__partner=partner)
    by_status = dict(
        rows.exclude(status="").values_list("status").annotate(n=Count("pk")).order_by()
    )
    sent = Loan.objects.filter(partner=partner, state=RecordState.SENT)
    cutoff = timezone.now() - timedelta(days=waiting_days)
    waiting = (
        sent.alias(known_status=kiva_status_known_in(environment, "kiva__"))
        .filter(known_status__in=UNPUBLISHED, state_changed_at__lt=cutoff)
        .order_by("state_changed_at", "id")
    )
    issues = Loan.objects.filter(
        known_in_q(environment, "kiva__environment"),
        partner=partner,
        kiva__status__in=KIVA_ISSUE,
    )
    return KivaSummary(
        counts=[(s, label, by_status[s]) for s, label in KivaStatus.choices if s in by_status],
        not_listed=loans_at_kiva(sent, NOT_LISTED, environment).count(),
        no_longer_listed=rows.filter(missing_since__isnull=False).count(),
        waiting_days=waiting_days,
        waiting=list(waiting[:10]),
        waiting_count=waiting.count(),
        issues=list(issues.order_by("-kiva__status_changed_at", "-id")[:10]),
        issue_count=issues.count(),
        last_seen=rows.order_by("-seen_at").values_list("seen_at", flat=True).first(),
    )
