"""``check --deploy`` in a fresh process, the way an operator runs it."""

import os
import secrets
import string
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "portal.settings",
    "PORTICO_ENV": "production",
    "SECRET_KEY": "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(64)),
    "PORTICO_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "portico.example.com",
    "CACHE_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "postgres://portico@127.0.0.1:5432/portico",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # Only what the test gives, plus PATH: nothing from the caller's environment
    # (DEBUG, SECURE_*, ...) may loosen or complete the production settings.
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_the_deploy_check():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "ALLOWED_HOSTS", "CACHE_URL", "PORTICO_ENCRYPTION_KEYS"]
)
def test_production_refuses_to_start_without(missing):
    env = {name: value for name, value in PRODUCTION_ENV.items() if name != missing}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Set the {missing} environment variable" in result.stderr


def test_development_is_the_default_profile():
    production_only = {"PORTICO_ENV", "SECRET_KEY", "PORTICO_ENCRYPTION_KEYS"}
    env = {k: v for k, v in PRODUCTION_ENV.items() if k not in production_only}

    result = _manage("check", env=env)

    assert result.returncode == 0, result.stderr
