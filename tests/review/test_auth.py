"""Trainer passwords, sessions and the secret that signs them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot import settings as settings_module
from bot.review import auth
from bot.review.models import LoginSession
from bot.review.queries import ConversationLog
from bot.settings import MissingSecret, Settings
from bot.store.sql import make_engine
from tests.review.conftest import SECRET


def test_passwords_are_salted_scrypt_hashes() -> None:
    first, second = auth.hash_password("a long password"), auth.hash_password("a long password")
    assert first.startswith("scrypt$16384$8$1$") and first != second
    assert auth.verify_password("a long password", first)
    assert not auth.verify_password("a long passworD", first)
    assert not auth.verify_password("a long password", first[:-4] + "AAA=")
    assert not auth.verify_password("a long password", "md5$whatever")


def test_trainer_accounts(log: ConversationLog) -> None:
    with pytest.raises(auth.AuthError, match="at least 10"):
        log.set_trainer("ann", "short")
    with pytest.raises(auth.AuthError, match="no spaces"):
        log.set_trainer("ann smith", "long enough pw")
    assert log.set_trainer("ann", "long enough pw") is True
    with pytest.raises(auth.AuthError, match="exists"):
        log.set_trainer("ann", "another long pw")
    cookie = log.log_in("ann", "long enough pw", SECRET)
    assert cookie is not None and log.signed_in(cookie, SECRET) is not None
    assert log.set_trainer("ann", "another long pw", reset=True) is False
    assert log.signed_in(cookie, SECRET) is None  # a new password ends old sessions
    assert log.log_in("ann", "long enough pw", SECRET) is None
    assert log.log_in("nobody", "long enough pw", SECRET) is None


def test_session_cookies_are_signed_and_expire(log: ConversationLog) -> None:
    log.set_trainer("ann", "long enough pw")
    cookie = log.log_in("ann", "long enough pw", SECRET)
    assert cookie is not None
    token, _, mac = cookie.rpartition(".")
    assert log.signed_in(f"{token}.{'0' * len(mac)}", SECRET) is None
    assert log.signed_in(cookie, "another secret " * 3) is None
    assert log.signed_in(token, SECRET) is None
    with log.session() as session:
        session.execute(
            update(LoginSession).values(expires_at=datetime.utcnow() - timedelta(seconds=1))
        )
    assert log.signed_in(cookie, SECRET) is None


def test_add_user_reads_the_password_from_stdin(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "review", "add-user", "maria", "--password-stdin"],
        input="a good long password\n",
        env={**os.environ, "TRACKER_STORE_URL": url},
        cwd=settings_module.PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout) == (0, "Created trainer 'maria'.\n")
    log = ConversationLog(make_engine(url))
    assert log.log_in("maria", "a good long password", SECRET) is not None
    log.engine.dispose()


def test_add_user_prompts_twice(monkeypatch: pytest.MonkeyPatch, log: ConversationLog) -> None:
    from bot.cli import main
    from bot.review import cli

    answers = iter(["first long password", "second long password"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: next(answers))
    monkeypatch.setattr(cli, "_log", lambda: log)
    assert main(["review", "add-user", "zed"]) == 1
    answers = iter(["same long password", "same long password"])
    assert main(["review", "add-user", "zed"]) == 0
    assert log.log_in("zed", "same long password", SECRET) is not None


def test_production_needs_a_real_secret() -> None:
    with pytest.raises(MissingSecret):
        Settings.from_env({"ENVIRONMENT": "production"})
    with pytest.raises(MissingSecret):
        Settings.from_env({"ENVIRONMENT": "production", "REVIEW_SECRET": "short"})
    settings = Settings.from_env({"ENVIRONMENT": "production", "REVIEW_SECRET": SECRET})
    assert settings.production and settings.console_secret() == SECRET
    assert "x" * 40 not in repr(settings)


def test_the_console_will_not_start_in_production_without_a_secret(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "TRACKER_STORE_URL": f"sqlite:///{tmp_path}/l.db",
    }
    env.pop("REVIEW_SECRET", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "review", "serve", "--port", "1"],
        env=env,
        cwd=settings_module.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "REVIEW_SECRET" in done.stderr


def test_the_local_secret_is_generated_once_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "var" / "review-secret"
    monkeypatch.setattr(settings_module, "LOCAL_SECRET_PATH", path)
    settings = Settings.from_env({})
    secret = settings.console_secret()
    assert len(secret) == 64 and settings.console_secret() == secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
