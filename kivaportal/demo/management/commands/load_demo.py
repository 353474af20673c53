from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kivaportal.demo.services import DEMO_PASSWORD, USERS, demo_load


class Command(BaseCommand):
    help = "Load (or refresh) the invented demo data. Running it twice duplicates nothing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/",
            help="Where the portal is served, for the message (make run passes its HOST and PORT).",
        )

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded with PORTAL_PRODUCTION=true.")
        counts = demo_load()
        self.stdout.write(
            "Demo data ready: " + ", ".join(f"{n} {what}" for what, n in counts.items())
        )
        url = options["url"].rstrip("/") + "/"
        self.stdout.write(f"Open {url} and log in with password {DEMO_PASSWORD!r}")
        self.stdout.write("as one of: " + ", ".join(username for username, *_ in USERS))
        self.stdout.write(f"(the admin: {url}admin/)")
