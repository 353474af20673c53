from django.core.management.base import BaseCommand

from integrations.mis.retention import import_files_purge


class Command(BaseCommand):
    help = (
        "Delete uploaded MIS files of imports over for more than INTAKE_FILE_RETENTION_DAYS "
        "(or --days); the imported records and the jobs' results stay."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, help="Default: INTAKE_FILE_RETENTION_DAYS.")

    def handle(self, *args, **options):
        purged = import_files_purge(days=options["days"])
        self.stdout.write(f"Deleted the files of {purged} import(s).")
