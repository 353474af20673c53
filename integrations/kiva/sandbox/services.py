"""The sandbox's own writes and reads: registering partners and clients, storing drafts,
judging repayment lines, and "publishing" a draft as a person would in PA2."""

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
        .filter(Q(internal_loan_id=loan_id) | Q(loan_ids__icontains=f'"{loan_id}"'))
        .first()
    )


def find_loans(partner: SandboxPartner, loan_ids: list[str]) -> dict[str, SandboxLoan | None]:
    """`find_loan` for many ids: one query for the ids that are a loan's own internal id (the
    usual case), then one query each for the others (a group borrower's own loan id)."""
    found: dict[str, SandboxLoan | None] = {}
    # Oldest first, so the newest loan with an id wins, as `find_loan`'s ordering has it.
    for loan in SandboxLoan.objects.filter(
        partner=partner, internal_loan_id__in=set(loan_ids)
    ).order_by("created_at", "id"):
        found[loan.internal_loan_id] = loan
    for loan_id in set(loan_ids) - found.keys():
        found[loan_id] = find_loan(partner, loan_id)
    return found


def repayment_problems(partner: SandboxPartner, lines: list[dict]) -> list[dict]:
    problems = []
    loans = find_loans(partner, [line["loan_id"] for line in lines])
    for i, line in enumerate(lines):
        loan = loans[line["loan_id"]]
        if loan is None:
            problems.append(
                {
                    "index": i,
                    "loan_id": line["loan_id"],
                    "severity": "error",
                    "message": f"Unknown loan id {line['loan_id']}",
                }
            )
        elif loan.status not in REPAYING:
            problems.append(
                {
                    "index": i,
                    "loan_id": line["loan_id"],
                    "severity": "warning",
                    "message": f"Loan is {loan.status}, not payingBack: the line will not count",
                }
            )
    return problems


@transaction.atomic
def sandbox_loan_publish(*, loan: SandboxLoan) -> SandboxLoan:
    """Play the partner publishing the draft in PA2: a Kiva id and status payingBack."""
    loan = SandboxLoan.objects.select_for_update().get(pk=loan.pk)
    if loan.kiva_id is None:
        highest = SandboxLoan.objects.aggregate(m=Max("kiva_id"))["m"]
        loan.kiva_id = (highest or FIRST_KIVA_ID - 1) + 1
        loan.status = "payingBack"
        loan.published_at = timezone.now()
        loan.save()
    return loan


def loan_item(loan: SandboxLoan) -> dict:
    """A loan as GET loans lists it."""
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
        "create_time": loan.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "published_time": loan.published_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if loan.published_at
        else None,
        "ended_time": None,
    }
