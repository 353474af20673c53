"""The reads a Kiva client makes, answered from the portal: the partner's reference lists
(config/*), as synced from Kiva, and the partner's loans with Kiva's paging and filters."""

from datetime import UTC

from django.db.models import Count, Max, Prefetch, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.mis.importers.base import Problem
from kivaportal.common.money import quantize
from kivaportal.lending.models import KivaStatus, Loan, LoanBorrower, LoanType
from kivaportal.reference.models import Activity, Locale, Location, Theme
from kivaportal.workflow.states import RecordState

# Kiva's list name -> (model, the item as Kiva shapes it).
CONFIG_LISTS = {
    "activities": (Activity, lambda a: {"activity_id": a.kiva_id, "activity": a.name}),
    "locales": (
        Locale,
        lambda loc: {
            "currency": loc.currency,
            "language_code": loc.language_code,
            "language_name": loc.language_name,
            "language_id": loc.language_id,
        },
    ),
    "themes": (Theme, lambda t: {"theme_type_id": t.kiva_id, "theme_type": t.name}),
    "locations": (
        Location,
        lambda loc: {"country": loc.country, "location": loc.location, "full_name": loc.full_name},
    ),
}
LOANS_DEFAULT_LIMIT = 20
LOANS_MAX_LIMIT = 300  # what Kiva asks clients never to exceed
# Kiva's loan statuses: `status` filters on the Kiva status reconciliation last read (the
# loan's `kiva` side); the portal's own states are accepted too.
KIVA_STATUSES = frozenset(KivaStatus.values)


class BadQuery(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


def _z(moment) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def config_answer(*, partner, name) -> dict:
    """Kiva's envelope for one reference list; retired values are no longer in Kiva's list."""
    model, shape = CONFIG_LISTS[name]
    values = model.objects.filter(partner=partner, retired=False)
    synced = values.aggregate(at=Max("synced_at"))["at"]
    return {
        "as_of_date_time": _z(synced or timezone.now()),
        name: [shape(value) for value in values],
        "code": "api.success",
        "message": _("Successfully retrieved %(name)s") % {"name": name},
    }


def _bounded_int(params, name, default, low, high) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise BadQuery(
            Problem(
                None,
                name,
                _("An integer from %(low)d to %(high)d.") % {"low": low, "high": high},
            )
        )
    return value


def loans_answer(*, partner, params, link) -> dict:
    """Kiva's `GET loans` over the partner's loans: `{"total_records", "data"}`, oldest first.

    `params` are the query parameters (`offset`, `limit`, `query`, `status`); `link(path)`
    makes an absolute URL of a review page.
    """
    offset = _bounded_int(params, "offset", 0, 0, 10**9)
    limit = _bounded_int(params, "limit", LOANS_DEFAULT_LIMIT, 1, LOANS_MAX_LIMIT)
    loans = Loan.objects.filter(partner=partner)
    status = (params.get("status") or "").strip()
    if status in RecordState.values:
        loans = loans.filter(state=status)
    elif status in KIVA_STATUSES:
        loans = loans.filter(kiva__status=status)
    elif status:
        raise BadQuery(Problem(None, "status", _("Not a Kiva loan status or a portal state.")))
    query = (params.get("query") or "").strip()
    if query:
        condition = (
            Q(mis_loan_id=query)
            | Q(group_client_id=query)
            | Q(group_name__icontains=query)
            | Q(loan_borrowers__mis_loan_id=query)
            | Q(loan_borrowers__borrower__mis_client_id=query)
            | Q(loan_borrowers__borrower__first_name__icontains=query)
            | Q(loan_borrowers__borrower__last_name__icontains=query)
        )
        if query.isdigit():
            condition |= Q(kiva__kiva_id=int(query))
        loans = loans.filter(pk__in=Loan.objects.filter(partner=partner).filter(condition))
    total = loans.count()
    page = (
        loans.order_by("created_at", "id")
        .select_related("location", "kiva")
        .annotate(borrower_count=Count("loan_borrowers"))
        .prefetch_related(
            Prefetch(
                "loan_borrowers",
                queryset=LoanBorrower.objects.select_related("borrower").order_by("position"),
            )
        )[offset : offset + limit]
    )
    return {"total_records": total, "data": [_loan_item(loan, link) for loan in page]}


def _kiva_side(loan):
    try:
        return loan.kiva  # Kiva's side, once sent or reconciled (LoanAtKiva)
    except Loan.kiva.RelatedObjectDoesNotExist:
        return None


def _loan_item(loan, link) -> dict:
    shares = list(loan.loan_borrowers.all())
    kiva = _kiva_side(loan)
    first = shares[0].borrower if shares else None
    group = loan.loan_type == LoanType.GROUP
    if group:
        name, client_id = loan.group_name, loan.group_client_id
    else:
        name = f"{first.first_name} {first.last_name}".strip() if first else ""
        client_id = first.mis_client_id if first else ""
    return {
        # Kiva's fields, as Kiva's GET loans names them.
        "kiva_id": kiva.kiva_id if kiva else None,
        "uuid": str(kiva.draft_uuid) if kiva and kiva.draft_uuid else None,
        "internal_loan_id": loan.mis_loan_id,
        "internal_client_id": client_id,
        "name": name,
        "location": loan.location.full_name if loan.location else None,
        "status": (kiva.status or None) if kiva else None,
        "borrower_count": loan.borrower_count,
        "loan_currency": loan.currency,
        "loan_local_price": str(quantize(loan.amount, loan.currency)),
        "create_time": _z(loan.created_at),
        # The portal's own: its id, its review state and version, the page to review it.
        "portal_id": loan.pk,
        "portal_state": loan.state,
        "portal_version": loan.version,
        "borrowers": [
            {"client_id": s.borrower.mis_client_id, "loan_id": s.mis_loan_id or loan.mis_loan_id}
            for s in shares
        ],
        "review_url": link(reverse("review:record", args=[loan.partner_id, "loans", loan.pk])),
    }
