from django.core.management.base import BaseCommand, CommandError

from integrations.kiva.sandbox.models import FaultTarget, SandboxPartner
from integrations.kiva.sandbox.services import sandbox_faults_set, sandbox_tokens_revoke

FIELDS = {
    "latency_ms": int,
    "error_share": float,
    "error_statuses": str,
    "rate_limit_share": float,
    "retry_after": int,
    "hang_share": float,
    "hang_seconds": float,
    "reset_share": float,
}


class Command(BaseCommand):
    help = "Set the sandbox's fault injection for one sandbox partner (see docs/kiva.md)."

    def add_arguments(self, parser):
        parser.add_argument("partner_id", help="The sandbox partner's Kiva partner id.")
        for name, kind in FIELDS.items():
            parser.add_argument("--" + name.replace("_", "-"), type=kind)
        parser.add_argument("--target", choices=[t.value for t in FaultTarget])
        parser.add_argument("--count", type=int, help="Inject this many faults, then stop.")
        parser.add_argument("--unlimited", action="store_true", help="No fault count limit.")
        parser.add_argument("--token-valid-seconds", type=int, help="0: tokens never expire early.")
        parser.add_argument("--revoke-tokens", action="store_true")
        parser.add_argument("--off", action="store_true", help="Turn every fault off.")

    def handle(self, *args, **o):
        partner = SandboxPartner.objects.filter(partner_id=o["partner_id"]).first()
        if partner is None:
            raise CommandError(f"No sandbox partner {o['partner_id']}.")
        changes = {name: o[name] for name in FIELDS if o[name] is not None}
        if o["off"]:
            changes = {
                "latency_ms": 0,
                "error_share": 0.0,
                "rate_limit_share": 0.0,
                "hang_share": 0.0,
                "reset_share": 0.0,
                "faults_remaining": None,
                "token_valid_seconds": None,
            }
        if o["target"]:
            changes["fault_target"] = o["target"]
        if o["count"] is not None:
            changes["faults_remaining"] = o["count"]
        if o["unlimited"]:
            changes["faults_remaining"] = None
        if o["token_valid_seconds"] is not None:
            changes["token_valid_seconds"] = o["token_valid_seconds"] or None
        partner = sandbox_faults_set(partner=partner, **changes)
        if o["revoke_tokens"]:
            sandbox_tokens_revoke(partner=partner)
        self.stdout.write(f"Sandbox partner {partner.partner_id}: {changes or 'unchanged'}")
