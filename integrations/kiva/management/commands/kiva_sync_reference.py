from django.core.management.base import BaseCommand, CommandError

from integrations.kiva.errors import KivaError
from integrations.kiva.services import reference_sync

from ._common import connections


class Command(BaseCommand):
    help = "Fetch Kiva's reference lists (activities, locales, themes, locations) and upsert them."

    def add_arguments(self, parser):
        parser.add_argument("--partner", help="Kiva partner id or name; default: all active.")

    def handle(self, *args, **options):
        failed = []
        for connection in connections(options["partner"]):
            try:
                counts = reference_sync(connection=connection)
            except KivaError as exc:
                self.stderr.write(f"{connection.partner}: {exc}")
                failed.append(str(connection.partner))
                continue
            for name, c in counts.items():
                self.stdout.write(f"{connection.partner} {name}: {c}")
        if failed:
            raise CommandError("Sync failed for: " + ", ".join(failed))
