from django.core.management.base import BaseCommand

from kivaportal.notifications.models import Event
from kivaportal.notifications.services import (
    FINDERS,
    notifications_send,
    notifications_send_digest,
)


class Command(BaseCommand):
    help = (
        "Send the notification emails that are due (what the beat does): records returned, "
        "waiting for review, needing attention, sent with problems; --digest for the daily "
        "digest. An event already told to someone is never sent to them again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--only", choices=[str(e) for e in FINDERS], help="one kind of event only"
        )
        parser.add_argument("--digest", action="store_true", help="send the daily digest")

    def handle(self, *args, only=None, digest=False, **options):
        if digest:
            self.stdout.write(f"{Event.DIGEST}: {notifications_send_digest()} sent")
            return
        for event in [only] if only else FINDERS:
            self.stdout.write(f"{event}: {notifications_send(event)} sent")
