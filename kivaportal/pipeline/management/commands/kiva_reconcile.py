from django.core.management.base import BaseCommand, CommandError

from integrations.kiva.models import KivaConnection
from kivaportal.pipeline.reconcile import reconcile_partner


class Command(BaseCommand):
    help = (
        "Reconcile partners' loans with Kiva's GET loans: Kiva id, status and its history, "
        "loans Kiva no longer lists, loan drafts needing attention that Kiva holds "
        "(docs/kiva.md). Every active connection, or --partner ID."
    )

    def add_arguments(self, parser):
        parser.add_argument("--partner", help="The partner's Kiva partner id.")

    def handle(self, *args, **options):
        connections = KivaConnection.objects.filter(is_active=True).select_related("partner")
        if options["partner"]:
            connections = connections.filter(partner__kiva_partner_id=options["partner"])
            if not connections:
                raise CommandError(f"No active Kiva connection for partner {options['partner']}.")
        failed = False
        for connection in connections:
            run = reconcile_partner(connection=connection)
            if run is None:
                self.stdout.write(f"{connection.partner}: already running, skipped.")
                continue
            failed |= run.state != "done"
            self.stdout.write(
                f"{connection.partner}: {run.state}; {run.seen} loans read in {run.pages} "
                f"pages, {run.matched} matched, {run.changed} status changes, "
                f"{run.unknown} not in the portal, {run.flagged} no longer listed, "
                f"{run.settled} needing attention settled"
                + (f"; error: {run.error}" if run.error else "")
            )
        if failed:
            raise CommandError("Some reconciliations stopped; the next run resumes them.")
