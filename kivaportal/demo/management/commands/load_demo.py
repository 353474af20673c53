from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kivaportal.demo.services import (
    DEMO_PASSWORD,
    USERS,
    DemoImportFailed,
    DemoSandboxUnreachable,
    demo_load,
)
from kivaportal.demo.serving import portal_served


class Command(BaseCommand):
    help = (
        "Load (or refresh) the invented demo data, sent to the Kiva sandbox through the same "
        "services as real records. Running it twice duplicates nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000/",
            help="Where the portal will be served (make run passes its HOST and PORT). The "
            "demo serves the portal there while it loads, to send to its Kiva sandbox.",
        )

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("Demo data is never loaded with PORTAL_PRODUCTION=true.")
        if not settings.KIVA_SANDBOX_ENABLED:
            raise CommandError("The demo sends to the Kiva sandbox: KIVA_SANDBOX_ENABLED is off.")
        url = options["url"].rstrip("/") + "/"
        sandbox = settings.KIVA_SANDBOX_URL.rstrip("/") + "/"
        if sandbox != url + "kiva-sandbox/":
            raise CommandError(
                f"The demo partners' Kiva connections point at KIVA_SANDBOX_URL={sandbox}, "
                f"which is not the portal at {url}: set KIVA_SANDBOX_URL={url}kiva-sandbox/ "
                "(make run does)."
            )
        try:
            with portal_served(url):
                counts = demo_load()
        except (DemoSandboxUnreachable, DemoImportFailed) as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            raise CommandError(
                f"Could not serve the portal at {url} to load the demo ({exc}): is something "
                "already running there? Stop it, or give another --url (and KIVA_SANDBOX_URL)."
            ) from exc
        self.stdout.write(
            "(The 400, 403 and 502 answers logged above are the demo's: Kiva rejecting a loan, "
            "and faults injected in the sandbox for the records that need attention or failed.)"
        )
        self.stdout.write(
            "Demo data ready: " + ", ".join(f"{n} {what}" for what, n in counts.items())
        )
        self.stdout.write(f"Open {url} and log in with password {DEMO_PASSWORD!r}")
        self.stdout.write("as one of: " + ", ".join(username for username, *_ in USERS))
        self.stdout.write(f"(the admin: {url}admin/)")
