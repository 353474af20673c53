from django.core.management.base import BaseCommand

from kivaportal.pipeline.sweep import submissions_sweep


class Command(BaseCommand):
    help = (
        "Run the outbox sweeper once: enqueue due submissions, settle those whose worker died. "
        "Celery beat runs it periodically; this is for development without a broker."
    )

    def handle(self, *args, **options):
        result = submissions_sweep()
        self.stdout.write(f"enqueued {result['enqueued']}, settled {result['stale']} stale")
