"""The sandbox's own writes and reads: registering partners and clients, storing drafts,
judging repayment lines, and moving loans through Kiva's lifecycle as PA2, lenders and
borrowers would (publishing a draft, fundraising, repaying, ending)."""

import hashlib
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from kivaportal.common.money import quantize

from .models import SandboxClient, SandboxLoan, SandboxPartner

# Repayments are due for loans in these statuses (Kiva's docs).
REPAYING = ("payingBack", "defaulted")
FIRST_KIVA_ID = 2_000_001

# A draft that nobody has published yet. Kiva's status list has no "draft"; a loan in PA2 that
# is not yet public is `inactive` there (the sandbox's reading of Kiva's list; docs/kiva.md).
DRAFT = "inactive"
DELETED = "deleted"
# Every status GET loans may show (Kiva's docs, and the three only its .NET sample lists).
STATUSES = (
    "inactive",
    "inactive_expired",
    "reviewed",
    "issue",
    "issue_revising",
    "issue_approving",
    "fundRaising",
    "expired",
    "raised",
    "payingBack",
    "ended",
    "defaulted",
    "refunded",
    "deleted",
)
# Where a loan may go from each status. Publishing a draft makes it fundRaising; lenders fund
# it (raised), the partner disburses (payingBack); the end is ended, defaulted or refunded; a
# loan not fully funded in time expires. A draft deleted in PA2 disappears from GET loans.
LIFECYCLE = {
    "inactive": ("reviewed", "issue", "fundRaising", "inactive_expired", "deleted"),
    "reviewed": ("fundRaising", "issue", "deleted"),
    "issue": ("issue_revising", "inactive", "deleted"),
    "issue_revising": ("issue_approving", "inactive", "deleted"),
    "issue_approving": ("reviewed", "fundRaising", "issue"),
    "fundRaising": ("raised", "expired"),
    "raised": ("payingBack", "refunded"),
    "payingBack": ("ended", "defaulted", "refunded"),
    "defaulted": ("ended",),
}
# The usual road: moving a loan further along it takes every step between (see
# `sandbox_loan_move`), so "make it payingBack" works from a draft.
ROAD = ("inactive", "fundRaising", "raised", "payingBack")
ENDINGS = ("ended", "defaulted", "refunded", "expired", "inactive_expired")


class SandboxLifecycleError(ValueError):
    """A move Kiva's lifecycle does not allow (the message says which)."""


@transaction.atomic
def sandbox_partner_register(
    *,
    partner_id: str,
    client_id: str,
    client_secret: str,
    audience: str,
    name: str = "",
    config: dict | None = None,
    three_columns: bool = False,
    **fields,
) -> SandboxPartner:
    """Create or update a sandbox partner with one registered client; idempotent."""
    values = {"name": name, "three_columns": three_columns, **(config or {}), **fields}
    partner, _created = SandboxPartner.objects.update_or_create(
        partner_id=partner_id, defaults=values
    )
    SandboxClient.objects.update_or_create(
        client_id=client_id,
        defaults={
            "partner": partner,
            "secret_sha256": hashlib.sha256(client_secret.encode()).hexdigest(),
            "audience": audience,
        },
    )
    return partner


def sandbox_faults_set(*, partner: SandboxPartner, **faults) -> SandboxPartner:
    """Change fault settings (latency_ms, error_share, hang_share, ...); the rest stay."""
    for name, value in faults.items():
        setattr(partner, name, value)
    partner.save()
    return partner


def sandbox_tokens_revoke(*, partner: SandboxPartner) -> None:
    """Every token issued so far stops working (401), as an early expiry would."""
    SandboxPartner.objects.filter(pk=partner.pk).update(token_epoch=partner.token_epoch + 1)


def loan_from_draft(partner: SandboxPartner, data: dict) -> SandboxLoan:
    entreps = data["entreps"]
    first = entreps[0]
    group = "group_name" in data
    return SandboxLoan.objects.create(
        partner=partner,
        internal_loan_id=data.get("internal_loan_id") if group else first["loan_id"],
        internal_client_id=data.get("internal_client_id", "") if group else first["client_id"],
        loan_ids=[e["loan_id"] for e in entreps],
        client_ids=[e["client_id"] for e in entreps],
        name=data["group_name"] if group else f"{first['first_name']} {first['last_name']}",
        location=data.get("location", ""),
        borrower_count=len(entreps),
        currency=data.get("currency", ""),
        amount=sum((Decimal(e["amount"]) for e in entreps), Decimal("0")),
        payload=_plain(data),
    )


def _plain(value):
    """JSON-storable copy: Decimals as strings, exactly as they arrived."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, Decimal) else value


def find_loan(partner: SandboxPartner, loan_id: str) -> SandboxLoan | None:
    """The loan whose internal id, or one of whose borrowers' loan ids, is `loan_id`."""
    return (
        SandboxLoan.objects.filter(partner=partner)
        .exclude(status=DELETED)
        .filter(Q(internal_loan_id=loan_id) | Q(loan_ids__icontains=f'"{loan_id}"'))
        .first()
    )


def find_loans(partner: SandboxPartner, loan_ids: list[str]) -> dict[str, SandboxLoan | None]:
    """`find_loan` for many ids: one query for the ids that are a loan's own internal id (the
    usual case), then one query each for the others (a group borrower's own loan id)."""
    found: dict[str, SandboxLoan | None] = {}
    # Oldest first, so the newest loan with an id wins, as `find_loan`'s ordering has it.
    for loan in (
        SandboxLoan.objects.filter(partner=partner, internal_loan_id__in=set(loan_ids))
        .exclude(status=DELETED)
        .order_by("created_at", "id")
    ):
        found[loan.internal_loan_id] = loan
    for loan_id in set(loan_ids) - found.keys():
        found[loan_id] = find_loan(partner, loan_id)
    return found


def repayment_problems(partner: SandboxPartner, lines: list[dict]) -> list[dict]:
    """Kiva's problems per line: `loan_id`, `code`, `severity`, `details` (the fields of a
    Kiva engineer's client, whose contracts come from Kiva's OpenAPI document), with the
    line's `index` in the call."""
    problems = []
    loans = find_loans(partner, [line["loan_id"] for line in lines])
    for i, line in enumerate(lines):
        loan = loans[line["loan_id"]]
        if loan is None:
            problems.append(
                {
                    "index": i,
                    "loan_id": line["loan_id"],
                    "code": "loan.not_found",
                    "severity": "error",
                    "details": f"Unknown loan id {line['loan_id']}",
                }
            )
        elif loan.status not in REPAYING:
            problems.append(
                {
                    "index": i,
                    "loan_id": line["loan_id"],
                    "code": "loan.not_repaying",
                    "severity": "warning",
                    "details": f"Loan is {loan.status}, not payingBack: the line will not count",
                }
            )
    return problems


def sandbox_loan_publish(*, loan: SandboxLoan) -> SandboxLoan:
    """Play the partner publishing the draft in PA2: a Kiva id and status fundRaising."""
    return sandbox_loan_move(loan=loan, status="fundRaising")


@transaction.atomic
def sandbox_loan_move(*, loan: SandboxLoan, status: str, delinquent: bool | None = None):
    """Move a loan to `status` as Kiva would; further along the usual road (draft,
    fundRaising, raised, payingBack) it takes every step between. Moving to the status it has
    changes nothing. Raises SandboxLifecycleError for a move the lifecycle does not allow."""
    loan = SandboxLoan.objects.select_for_update().get(pk=loan.pk)
    if status not in STATUSES:
        raise SandboxLifecycleError(f"{status!r} is not a Kiva loan status")
    if status != loan.status:
        for step in _steps(loan.status, status):
            _enter(loan, step)
        loan.save()
    if delinquent is not None and loan.delinquent != delinquent:
        loan.delinquent = delinquent
        loan.save(update_fields=["delinquent"])
    return loan


def sandbox_loans_move(
    *, partner: SandboxPartner, status: str, loans=None, delinquent: bool | None = None
) -> int:
    """`sandbox_loan_move` for many loans of a partner (all of them when `loans` is None);
    the number moved. The first illegal move stops it with SandboxLifecycleError."""
    found = SandboxLoan.objects.filter(partner=partner) if loans is None else loans
    moved = 0
    for loan in found.order_by("created_at", "id"):
        before = (loan.status, loan.delinquent)
        loan = sandbox_loan_move(loan=loan, status=status, delinquent=delinquent)
        moved += (loan.status, loan.delinquent) != before
    return moved


def next_statuses(current: str) -> list[str]:
    """Where a loan may be moved from `current` (for the sandbox's loans page)."""
    ahead = list(ROAD[ROAD.index(current) + 1 :]) if current in ROAD else []
    return ahead + [s for s in LIFECYCLE.get(current, ()) if s not in ahead]


def _steps(current: str, target: str) -> list[str]:
    if current in ROAD and target in ROAD and ROAD.index(target) > ROAD.index(current):
        return list(ROAD[ROAD.index(current) + 1 : ROAD.index(target) + 1])
    if target in LIFECYCLE.get(current, ()):
        return [target]
    allowed = ", ".join(LIFECYCLE.get(current, ())) or "nothing (it is final)"
    raise SandboxLifecycleError(f"A {current} loan cannot become {target}; it may become {allowed}")


def _enter(loan: SandboxLoan, status: str) -> None:
    now = timezone.now()
    if status == "fundRaising" and loan.kiva_id is None:
        highest = SandboxLoan.objects.aggregate(m=Max("kiva_id"))["m"]
        loan.kiva_id = (highest or FIRST_KIVA_ID - 1) + 1
        loan.published_at = now
    if status == "raised":
        loan.funded_amount = loan.amount
    if status in ENDINGS:
        loan.ended_at = now
    loan.status = status
    loan.status_changed_at = now


def loan_item(loan: SandboxLoan) -> dict:
    """A loan as GET loans lists it. `funded_amount` and `delinquent` are the sandbox's names
    for what Kiva's list carries beyond the documented fields (docs/kiva.md)."""
    return {
        "kiva_id": loan.kiva_id,
        "uuid": str(loan.uuid),
        "internal_loan_id": loan.internal_loan_id,
        "internal_client_id": loan.internal_client_id,
        "name": loan.name,
        "location": loan.location,
        "status": loan.status,
        "borrower_count": loan.borrower_count,
        "loan_currency": loan.currency,
        "loan_local_price": str(quantize(loan.amount, loan.currency)),
        "funded_amount": str(quantize(loan.funded_amount, loan.currency)),
        "delinquent": loan.delinquent,
        "create_time": _z(loan.created_at),
        "published_time": _z(loan.published_at),
        "ended_time": _z(loan.ended_at),
    }


def _z(moment) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None
