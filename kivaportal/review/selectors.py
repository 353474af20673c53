"""Reads for the review pages. Every function runs a fixed number of queries, whatever the
number of records, and reads only the partner it is given (callers scope the partner)."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from kivaportal.common.paging import capped_counts
from kivaportal.kinds import KINDS
from kivaportal.lending.selectors import loans_at_kiva
from kivaportal.partners.selectors import partner_kiva_environment
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import ATTENTION_STATES, RecordState


@dataclass
class KindSummary:
    slug: str
    label: str
    counts: dict[str, int]
    total: int
    oldest_waiting: object | None
    attention: list
    estimated: frozenset = frozenset()  # the states whose count is an estimate


def dashboard_summary(partner) -> list[KindSummary]:
    """Counts per state and kind (exact up to 10,000 a state, estimated above:
    kivaportal/common/paging.py), the oldest record waiting for review, and what Kiva
    rejected or needs a person's decision. Three queries per kind, and one more per state past
    10,000 records."""
    summaries = []
    for kind in KINDS.values():
        records = kind.model.objects.filter(partner=partner)
        counts, estimated = capped_counts(records, "state", RecordState.values)
        oldest = (
            records.filter(state=RecordState.SUBMITTED)
            .select_related(*kind.select_related)
            .order_by("state_changed_at", "id")
            .first()
        )
        attention = list(
            records.filter(state__in=ATTENTION_STATES)
            .select_related(*kind.select_related)
            .order_by("-state_changed_at", "-id")[:10]
        )
        summaries.append(
            KindSummary(
                slug=kind.slug,
                label=kind.label,
                counts={state: counts.get(state, 0) for state in RecordState.values},
                total=sum(counts.values()),
                oldest_waiting=oldest,
                attention=attention,
                estimated=frozenset(estimated),
            )
        )
    return summaries


# What a queue sorts by: a column's key -> the fields, for ?sort=key or ?sort=-key. The id
# last so that pages never overlap when values tie.
QUEUE_SORTS = {
    "record": {"loans": ("mis_loan_id",), "journals": ("subject",), "reports": ("month",)},
    "state": ("state",),
    "amount": ("amount",),
    "loan": ("loan__mis_loan_id",),
    "preparer": ("created_by__last_name", "created_by__username"),
    "created": ("created_at",),
    "errors": ("check_errors",),
    "warnings": ("check_warnings",),
}
SORTABLE = {
    "loans": ("record", "state", "amount", "preparer", "created", "errors", "warnings"),
    "journals": ("record", "state", "loan", "preparer", "created", "errors", "warnings"),
    "reports": ("record", "state", "preparer", "created", "errors", "warnings"),
}


def _sort_fields(kind, sort):
    key = (sort or "").lstrip("-")
    if key not in SORTABLE[kind.slug]:
        return None
    fields = QUEUE_SORTS[key]
    if isinstance(fields, dict):
        fields = fields[kind.slug]
    sign = "-" if sort.startswith("-") else ""
    return [f"{sign}{name}" for name in fields] + [f"{sign}id"]


# A search word found in at most this many loans is looked up first (two queries a word) and
# the queue filtered by those ids; a word found in more (a common name) is tested on each loan
# in the queue's order instead, which stops at the page's last row.
SEARCH_IDS_CAP = 1000


def _search(kind, partner, q):
    """Each word of `q` must match one of the record's names or ids (borrowers' included):
    "rosa quispe", "WK-L0001", "C0042".

    For loans, a word's loans are found first (two queries: the borrowers it names, then a
    UNION of the loans' own ids and group name, those borrowers' shares and the borrowers' own
    loan ids), each lookup answered by PostgreSQL from trigram indexes (lending migration
    0010), up to SEARCH_IDS_CAP of them. Tested on every loan instead (an OR with a subquery
    cannot use an index), a rare word read all the partner's loans: 546 ms at 20,000 loans."""
    from kivaportal.lending.models import Borrower, Loan, LoanBorrower

    condition = Q()
    for word in q.split():
        people = (
            Q(borrower__first_name__icontains=word)
            | Q(borrower__last_name__icontains=word)
            | Q(borrower__mis_client_id__icontains=word)
        )
        if kind.slug == "loans":
            own = (
                Q(mis_loan_id__icontains=word)
                | Q(group_name__icontains=word)
                | Q(group_client_id__icontains=word)
            )
            # Through the borrower's partner (already joined), not the loan's: no second join.
            shares = LoanBorrower.objects.filter(borrower__partner=partner)
            # The borrowers first, up to the cap: joined to their shares in one query,
            # PostgreSQL would test every borrower of the partner to build its hash.
            people_ids = list(
                Borrower.objects.filter(partner=partner)
                .filter(
                    Q(first_name__icontains=word)
                    | Q(last_name__icontains=word)
                    | Q(mis_client_id__icontains=word)
                )
                .order_by()
                .values_list("pk", flat=True)[: SEARCH_IDS_CAP + 1]
            )
            rows = []
            if len(people_ids) <= SEARCH_IDS_CAP:
                # UNION ALL, so that PostgreSQL stops at the cap (a UNION would read every
                # match to remove duplicates); duplicates are removed here.
                rows = list(
                    Loan.objects.filter(partner=partner)
                    .filter(own)
                    .order_by()
                    .values_list("pk", flat=True)
                    .union(
                        LoanBorrower.objects.filter(borrower_id__in=people_ids)
                        .order_by()
                        .values_list("loan_id", flat=True),
                        shares.filter(mis_loan_id__icontains=word)
                        .order_by()
                        .values_list("loan_id", flat=True),
                        all=True,
                    )[: SEARCH_IDS_CAP + 1]
                )
            if len(people_ids) <= SEARCH_IDS_CAP and len(rows) <= SEARCH_IDS_CAP:
                condition &= Q(pk__in=sorted(set(rows)))
            else:
                # Tested per loan in the queue's order, as far as the page reaches. The
                # redundant `loan_id >= pk` keeps it so: with only the equality PostgreSQL
                # turns the EXISTS into a hashed set of every loan the word matches (1.3 s
                # at 100,000 loans), whatever the page needs.
                matching = shares.filter(loan=OuterRef("pk"), loan_id__gte=OuterRef("pk")).filter(
                    people | Q(mis_loan_id__icontains=word)
                )
                condition &= own | Exists(matching)
        elif kind.slug == "journals":
            condition &= Q(subject__icontains=word) | Q(loan__mis_loan_id__icontains=word) | people
        else:
            condition &= Q(month__icontains=word)
    return condition


def queue_queryset(
    kind,
    partner,
    *,
    state=None,
    preparer=None,
    since=None,
    until=None,
    warnings=None,
    errors=None,
    q=None,
    activity=None,
    location=None,
    sort=None,
    kiva_status=None,
):
    records = kind.model.objects.filter(partner=partner).select_related(*kind.select_related)
    if q:
        records = records.filter(_search(kind, partner, q))
    if activity and kind.slug == "loans":
        records = records.filter(activity_id=activity)
    if location and kind.slug == "loans":
        records = records.filter(location_id=location)
    if kind.slug == "loans":
        environment = partner_kiva_environment(partner.pk) if kiva_status else ""
        records = loans_at_kiva(records.select_related("kiva"), kiva_status, environment)
    if state:
        records = records.filter(state=state)
    if preparer:
        records = records.filter(created_by_id=preparer)
    if since:
        records = records.filter(created_at__date__gte=since)
    if until:
        records = records.filter(created_at__date__lte=until)
    if warnings is not None:
        records = (
            records.filter(check_warnings__gt=0) if warnings else records.filter(check_warnings=0)
        )
    if errors is not None:
        records = records.filter(check_errors__gt=0) if errors else records.filter(check_errors=0)
    # By default oldest waiting first: what has waited longest is reviewed first.
    return records.order_by(*(_sort_fields(kind, sort) or ("state_changed_at", "created_at", "id")))


def next_in_queue(record):
    """The next record of the same kind waiting for review, oldest first, or None."""
    return (
        type(record)
        .objects.filter(partner_id=record.partner_id, state=RecordState.SUBMITTED)
        .exclude(pk=record.pk)
        .order_by("state_changed_at", "created_at", "id")
        .only("pk")
        .first()
    )


def record_audit_entries(record, limit=200):
    return list(
        AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(record), object_id=record.pk
        )
        .select_related("actor")
        .order_by("-created_at", "-id")[:limit]
    )


def record_changes_request(record):
    """The reviewer's request (its audit entry: who, when, the comment) that a record whose
    changes were requested waits on, or None in any other state."""
    if record.state != RecordState.CHANGES_REQUESTED:
        return None
    return (
        AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            action=AuditAction.CHANGES_REQUESTED,
        )
        .select_related("actor")
        .order_by("-created_at", "-id")
        .first()
    )


@dataclass
class Returned:
    slug: str
    label: str
    records: list
    count: int


RETURNED_SHOWN = 20


def returned_to(partner, user) -> list[Returned]:
    """Per kind (the kinds with any), the partner's records sent back to `user`: in *changes
    requested*, prepared or last changed by them. Two queries per kind."""
    returned = []
    for kind in KINDS.values():
        records = kind.model.objects.filter(
            partner=partner, state=RecordState.CHANGES_REQUESTED
        ).filter(Q(created_by=user) | Q(updated_by=user))
        shown = list(
            records.select_related(*kind.select_related).order_by("state_changed_at", "id")[
                :RETURNED_SHOWN
            ]
        )
        count = records.count()
        if count:
            returned.append(Returned(kind.slug, kind.label, shown, count))
    return returned


@dataclass
class TimeSaved:
    """This month's loans: how many were approved, the median review time of those with one
    (docs/architecture.md, "Review time"), PA2's baseline, and the hours saved against it."""

    approved: int
    measured: int
    median_minutes: float | None
    baseline_minutes: tuple[int, int]
    hours_saved: tuple[float, float] | None


def time_saved(partner, now=None) -> TimeSaved:
    """Hours saved = loans approved this month × (PA2 baseline − median review time) / 60, for
    each end of the baseline (10–12 minutes per profile), never below zero. Two queries."""
    now = timezone.localtime(now)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    loans = KINDS["loans"].model.objects.filter(partner=partner, approved_at__gte=month_start)
    totals = loans.aggregate(approved=Count("id"), measured=Count("review_seconds"))
    low, high = settings.REVIEW_PA2_MINUTES_PER_PROFILE
    median = None
    if totals["measured"]:
        n = totals["measured"]
        middle = list(
            loans.filter(review_seconds__isnull=False)
            .order_by("review_seconds")
            .values_list("review_seconds", flat=True)[(n - 1) // 2 : n // 2 + 1]
        )
        median = sum(middle) / len(middle) / 60
    hours = None
    if median is not None:
        hours = tuple(
            round(max(0.0, totals["approved"] * (baseline - median) / 60), 1)
            for baseline in (low, high)
        )
    return TimeSaved(totals["approved"], totals["measured"], median, (low, high), hours)
