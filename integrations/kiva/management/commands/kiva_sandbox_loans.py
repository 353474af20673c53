import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from integrations.kiva.sandbox.models import SandboxLoan, SandboxPartner
from integrations.kiva.sandbox.services import (
    STATUSES,
    SandboxLifecycleError,
    sandbox_loans_move,
)


class Command(BaseCommand):
    help = (
        "Move a sandbox partner's loans through Kiva's lifecycle, as PA2, lenders and "
        "borrowers would: publish (fundRaising), raised, payingBack, ended, defaulted, "
        "refunded, expired, deleted... (see docs/kiva.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("partner_id", help="The sandbox partner's Kiva partner id.")
        parser.add_argument("--to", required=True, choices=STATUSES, help="The new status.")
        parser.add_argument(
            "--loan",
            action="append",
            default=[],
            help="A loan's draft uuid, Kiva id or internal loan id (repeatable). "
            "Without --loan: every loan of the partner (narrowed by --from).",
        )
        parser.add_argument("--from", dest="from_status", choices=STATUSES)
        parser.add_argument("--limit", type=int, help="Move at most this many loans.")
        delinquency = parser.add_mutually_exclusive_group()
        delinquency.add_argument("--delinquent", action="store_true", default=None)
        delinquency.add_argument("--current", dest="delinquent", action="store_false")

    def handle(self, *args, **o):
        partner = SandboxPartner.objects.filter(partner_id=o["partner_id"]).first()
        if partner is None:
            raise CommandError(f"No sandbox partner {o['partner_id']}.")
        loans = SandboxLoan.objects.filter(partner=partner)
        if o["loan"]:
            wanted = Q()
            for ref in o["loan"]:
                wanted |= Q(internal_loan_id=ref)
                if _is_uuid(ref):
                    wanted |= Q(uuid=ref)
                if ref.isdigit():
                    wanted |= Q(kiva_id=int(ref))
            loans = loans.filter(wanted)
        if o["from_status"]:
            loans = loans.filter(status=o["from_status"])
        if o["limit"] is not None:
            loans = SandboxLoan.objects.filter(
                pk__in=list(loans.order_by("created_at", "id").values_list("pk", flat=True))[
                    : o["limit"]
                ]
            )
        try:
            moved = sandbox_loans_move(
                partner=partner, status=o["to"], loans=loans, delinquent=o["delinquent"]
            )
        except SandboxLifecycleError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Sandbox partner {partner.partner_id}: {moved} loan(s) changed.")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
