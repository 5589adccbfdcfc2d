"""Settings from the environment: refused without a secret key, deploy check clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import env_bool, env_list

ROOT = Path(__file__).resolve().parents[3]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "kq2-x7f9Lm3vB8nR5tY1wZ6cD0hJ4gS2pQ9eU7aK3iO8lN5bV1mX6zC4",
    "ALLOWED_HOSTS": "selfhelp.dmh.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://selfhelp.dmh.example.org",
    "DATABASE_URL": "sqlite:////tmp/selfhelp-deploy-check.sqlite3",
}


def run_manage(*args, env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "HTTPS_ONLY",
            "STATIC_MANIFEST",
            "REQUIRE_MFA",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
            "DATABASE_URL",
        }
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("OFF", False),
        ("", None),
        (None, None),
    ],
)
def test_env_bool(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("FLAG", raising=False)
    else:
        monkeypatch.setenv("FLAG", value)
    default = object()
    assert env_bool("FLAG", default) is (default if expected is None else expected)


def test_env_bool_refuses_nonsense(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="FLAG must be one of"):
        env_bool("FLAG", False)


def test_env_list(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example, b.example ,,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]
    monkeypatch.delenv("HOSTS")
    assert env_list("HOSTS", ["x"]) == ["x"]


def test_start_is_refused_without_a_secret_key_when_debug_is_off():
    env = {**PRODUCTION}
    del env["SECRET_KEY"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_deploy_check_passes_with_no_warning_under_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_warns_when_https_is_turned_off():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION, "HTTPS_ONLY": "0"}
    )
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout


def test_demo_accounts_are_refused_with_debug_off():
    result = run_manage("seed_demo", env=PRODUCTION)
    assert result.returncode != 0
    assert "only with DEBUG on" in result.stderr
