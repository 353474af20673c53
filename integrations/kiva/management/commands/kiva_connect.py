import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from integrations.kiva.models import Environment, JournalBodyStyle
from integrations.kiva.services import connection_configure, connection_test

from ._common import find_partner


class Command(BaseCommand):
    help = (
        "Create or update a partner's Kiva connection, non-interactively. The client secret is "
        "read from an environment variable (--secret-env) or standard input (--secret-stdin), "
        "never from the command line, where other users and shell history would see it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--partner", required=True, help="Kiva partner id or name.")
        parser.add_argument("--environment", required=True, choices=[e.value for e in Environment])
        parser.add_argument("--client-id", required=True)
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument("--secret-env", metavar="VAR", help="Read the secret from $VAR.")
        secret.add_argument("--secret-stdin", action="store_true", help="Read it from stdin.")
        parser.add_argument("--token-url", default="")
        parser.add_argument("--api-url", default="", help="API base URL.")
        parser.add_argument("--audience", default="")
        parser.add_argument("--kiva-partner-id", help="Default: the partner's Kiva id.")
        parser.add_argument("--scopes", help="Space-separated; default: all four.")
        parser.add_argument("--journal-path")
        parser.add_argument("--journal-style", choices=[s.value for s in JournalBodyStyle])
        parser.add_argument("--test", action="store_true", help="Test the connection after.")

    def handle(self, *args, **o):
        partner = find_partner(o["partner"])
        secret = None
        if o["secret_env"]:
            secret = os.environ.get(o["secret_env"])
            if not secret:
                raise CommandError(f"${o['secret_env']} is empty or not set.")
        elif o["secret_stdin"]:
            secret = sys.stdin.readline().strip()
            if not secret:
                raise CommandError("No secret on standard input.")
        try:
            connection = connection_configure(
                partner=partner,
                environment=o["environment"],
                client_id=o["client_id"],
                client_secret=secret,
                token_url=o["token_url"],
                api_base_url=o["api_url"],
                audience=o["audience"],
                kiva_partner_id=o["kiva_partner_id"],
                scopes=o["scopes"],
                journal_path=o["journal_path"],
                journal_body_style=o["journal_style"],
            )
        except (ValidationError, ValueError) as exc:
            raise CommandError(f"Not saved: {exc}") from exc
        self.stdout.write(
            f"Saved {connection}: token {connection.token_url}, API {connection.api_base_url}, "
            f"audience {connection.audience}, client id {connection.client_id}, "
            f"Kiva partner {connection.kiva_partner_id}."
        )
        if o["test"]:
            report = connection_test(connection=connection)
            self.stdout.write(str(report))
            if not report.ok:
                raise CommandError("The connection test failed.")
