from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.kiva.sandbox.server import make_server


class Command(BaseCommand):
    help = (
        "Run the Kiva sandbox as its own server process (threaded WSGI) at "
        "http://HOST:PORT/kiva-sandbox/. It shares the portal's database, so drafts, uploads "
        "and the request log are the same ones the portal's /kiva-sandbox/ pages show."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("The Kiva sandbox never runs with PORTAL_PRODUCTION=true.")
        server = make_server(options["host"], options["port"])
        host, port = server.server_address[:2]
        self.stdout.write(f"Kiva sandbox on http://{host}:{port}/kiva-sandbox/ (Ctrl-C stops)")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
