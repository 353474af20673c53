"""Shared set-up for the benchmarks: a dedicated PostgreSQL database, migrated."""

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/kivaportal_bench"


def setup_django(url=None, reconfigure=False):
    """Django set up on `url` (created if missing) and migrated; `reconfigure`: switch the
    already set-up process to another database of the same server."""
    url = url or os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    _ensure_database(url)
    if reconfigure:
        from django.core.management import call_command
        from django.db import connections

        connections.close_all()
        connections["default"].settings_dict["NAME"] = urlparse(url).path.lstrip("/")
        call_command("migrate", verbosity=0, interactive=False)
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()  # ids of the previous database
        return
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kivaportal.settings")
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def _ensure_database(url):
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
