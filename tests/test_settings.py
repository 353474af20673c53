"""The one settings module, read from the environment: safe development defaults with no
variables at all, and a production mode that refuses to start half-configured and passes
`manage.py check --deploy`.

Each case runs in a fresh interpreter with an environment built from scratch (PATH and HOME
only), so nothing from the caller or CI (DATABASE_URL, ...) leaks in.
"""

import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "PORTAL_PRODUCTION": "true",
    "SECRET_KEY": secrets.token_urlsafe(60),  # 80 random characters
    "ALLOWED_HOSTS": "portal.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/kp_found",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/9",
}

SHOW_SETTINGS = (
    "import django,os; os.environ['DJANGO_SETTINGS_MODULE']='kivaportal.settings'; "
    "django.setup(); from django.conf import settings; "
    "print(settings.DATABASES['default']['ENGINE'], settings.CELERY_TASK_ALWAYS_EAGER)"
)

SHOW_PRODUCTION_SETTINGS = (
    "import django,os; os.environ['DJANGO_SETTINGS_MODULE']='kivaportal.settings'; "
    "django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
    "s.SECURE_HSTS_SECONDS > 0, s.ALLOWED_HOSTS, s.DATABASES['default']['ENGINE'], "
    "s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL)"
)


def run(args, variables=None, cwd=BASE_DIR):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    env.update(variables or {})
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_installs_no_sandbox_app():
    result = run(
        [
            "-c",
            "import django,os; os.environ['DJANGO_SETTINGS_MODULE']='kivaportal.settings'; "
            "django.setup(); from django.apps import apps; "
            "print(apps.is_installed('integrations.kiva.sandbox'))",
        ],
        PRODUCTION,
    )

    assert result.stdout.split()[-1] == "False", result.stdout + result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_settings_turn_every_protection_on():
    result = run(["-c", SHOW_PRODUCTION_SETTINGS], PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[0] == (
        "False True True True True ['portal.example.org'] "
        "django.db.backends.postgresql False redis://127.0.0.1:6379/9"
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_settings_refuse_to_load_without_a_required_variable(missing):
    variables = {k: v for k, v in PRODUCTION.items() if k != missing}

    result = run(["manage.py", "check"], variables)

    assert result.returncode != 0
    assert missing in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_without_any_variables_settings_select_sqlite_and_eager_celery():
    result = run(["-c", SHOW_SETTINGS])

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3 True"


def test_without_any_variables_the_development_checks_pass():
    result = run(["manage.py", "check", "--fail-level", "WARNING"])

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_variable_the_settings_read_is_documented_with_its_default():
    source = (BASE_DIR / "kivaportal" / "settings.py").read_text()
    variables = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    documented = set(
        re.findall(
            r"^\| `([A-Z][A-Z0-9_]*)` \|",
            (BASE_DIR / "docs" / "configuration.md").read_text(),
            re.M,
        )
    )

    assert {"PORTAL_PRODUCTION", "SECRET_KEY", "DATABASE_URL"} <= variables
    assert variables - documented == set()


def test_production_ignores_a_local_env_file(tmp_path):
    # A copy of the project, so the test can place a .env next to it without touching ours.
    shutil.copytree(
        BASE_DIR / "kivaportal",
        tmp_path / "kivaportal",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    shutil.copytree(BASE_DIR / "integrations", tmp_path / "integrations")
    (tmp_path / ".env").write_text("DEBUG=true\n")

    result = run(["-c", SHOW_PRODUCTION_SETTINGS], PRODUCTION, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"
