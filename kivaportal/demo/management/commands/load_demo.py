from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kivaportal.demo.services import DEMO_PASSWORD, USERS, demo_load


class Command(BaseCommand):
    help = "Load (or refresh) the invented demo data. Running it twice duplicates nothing."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded with PORTAL_PRODUCTION=true.")
        counts = demo_load()
        self.stdout.write(
            "Demo data ready: " + ", ".join(f"{n} {what}" for what, n in counts.items())
        )
        self.stdout.write(f"Log in at http://127.0.0.1:8000/admin/ with password {DEMO_PASSWORD!r}")
        self.stdout.write("as one of: " + ", ".join(username for username, *_ in USERS))
