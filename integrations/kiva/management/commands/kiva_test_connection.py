from django.core.management.base import BaseCommand, CommandError

from integrations.kiva.services import connection_test

from ._common import connections


class Command(BaseCommand):
    help = "Fetch a fresh token and the four reference lists for a partner (or every active one)."

    def add_arguments(self, parser):
        parser.add_argument("--partner", help="Kiva partner id or name; default: all active.")

    def handle(self, *args, **options):
        failed = []
        for connection in connections(options["partner"]):
            report = connection_test(connection=connection)
            self.stdout.write(f"{connection}:\n{report}")
            if not report.ok:
                failed.append(str(connection.partner))
        if failed:
            raise CommandError("Connection test failed for: " + ", ".join(failed))
