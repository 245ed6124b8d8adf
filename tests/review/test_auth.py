"""Trainer passwords, sessions and the secret that signs them."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot import settings as settings_module
from bot.review import auth, logins_page
from bot.review.database import ConversationLog
from bot.review.models import LoginAttempt, LoginSession
from bot.settings import MissingSecret, Settings
from bot.store.sql import make_engine
from tests.support.review import SECRET
from tests.support.servers import BotCommand


def test_passwords_are_salted_scrypt_hashes_at_owasps_cost() -> None:
    first, second = auth.hash_password("a long password"), auth.hash_password("a long password")
    assert first.startswith("scrypt$131072$8$1$") and first != second
    assert auth.verify_password("a long password", first)
    assert not auth.verify_password("a long passworD", first)
    assert not auth.verify_password("a long password", first[:-4] + "AAA=")
    assert not auth.verify_password("a long password", "md5$whatever")
    # A corrupt row claiming a huge cost is refused, not computed.
    assert not auth.verify_password("a long password", first.replace("$131072$", "$4194304$"))


def test_trainer_accounts(log: ConversationLog) -> None:
    with pytest.raises(auth.AuthError, match="at least 10"):
        logins_page.set_trainer(log, "ann", "short")
    with pytest.raises(auth.AuthError, match="no spaces"):
        logins_page.set_trainer(log, "ann smith", "long enough pw")
    assert logins_page.set_trainer(log, "ann", "long enough pw") is True
    with pytest.raises(auth.AuthError, match="exists"):
        logins_page.set_trainer(log, "ann", "another long pw")
    cookie = logins_page.log_in(log, "ann", "long enough pw", SECRET).cookie
    assert cookie is not None and logins_page.signed_in(log, cookie, SECRET) is not None
    assert logins_page.set_trainer(log, "ann", "another long pw", reset=True) is False
    assert logins_page.signed_in(log, cookie, SECRET) is None  # a new password ends old sessions
    assert logins_page.log_in(log, "ann", "long enough pw", SECRET) == auth.LoginResult(None)
    assert logins_page.log_in(log, "nobody", "long enough pw", SECRET) == auth.LoginResult(None)


def test_session_cookies_are_signed_and_expire(log: ConversationLog) -> None:
    logins_page.set_trainer(log, "ann", "long enough pw")
    cookie = logins_page.log_in(log, "ann", "long enough pw", SECRET).cookie
    assert cookie is not None
    token, _, mac = cookie.rpartition(".")
    assert logins_page.signed_in(log, f"{token}.{'0' * len(mac)}", SECRET) is None
    assert logins_page.signed_in(log, cookie, "another secret " * 3) is None
    assert logins_page.signed_in(log, token, SECRET) is None
    with log.session() as session:
        session.execute(
            update(LoginSession).values(expires_at=datetime.utcnow() - timedelta(seconds=1))
        )
    assert logins_page.signed_in(log, cookie, SECRET) is None


def test_add_user_reads_the_password_from_stdin(tmp_path: Path, cli: BotCommand) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    done = cli(
        "review",
        "add-user",
        "maria",
        "--password-stdin",
        env={"TRACKER_STORE_URL": url},
        input="a good long password\n",
    )
    assert (done.returncode, done.stdout) == (0, "Created trainer 'maria'.\n")
    log = ConversationLog(make_engine(url))
    assert logins_page.log_in(log, "maria", "a good long password", SECRET).cookie is not None
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
    assert logins_page.log_in(log, "zed", "same long password", SECRET).cookie is not None


def test_production_needs_a_real_secret() -> None:
    other_secrets = {"SENDER_ID_KEY": "k" * 40}
    with pytest.raises(MissingSecret):
        Settings.from_env({"ENVIRONMENT": "production", **other_secrets})
    with pytest.raises(MissingSecret):
        Settings.from_env({"ENVIRONMENT": "production", "REVIEW_SECRET": "short", **other_secrets})
    settings = Settings.from_env(
        {"ENVIRONMENT": "production", "REVIEW_SECRET": SECRET, **other_secrets}
    )
    assert settings.production and settings.console_secret() == SECRET
    assert "x" * 40 not in repr(settings)


def test_the_console_will_not_start_in_production_without_a_secret(
    tmp_path: Path, cli: BotCommand
) -> None:
    env = {"ENVIRONMENT": "production", "TRACKER_STORE_URL": f"sqlite:///{tmp_path}/l.db"}
    done = cli("review", "serve", "--port", "1", env=env, unset=("REVIEW_SECRET",))
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


def test_a_hash_made_at_the_old_cost_is_redone_at_owasps_on_login(sqlite_url: str) -> None:
    """Trainers made before the cost went up (2^14) get a 2^17 hash at their next login."""
    old = ConversationLog(make_engine(sqlite_url), scrypt_n=2**14)
    old.create_tables()
    logins_page.set_trainer(old, "ann", "long enough pw")
    production = ConversationLog(make_engine(sqlite_url))
    assert production.scrypt_n == 2**17

    def stored() -> str:
        with production.session() as session:
            found = auth.stored_hash(session, "ann")
        assert found is not None
        return found[1]

    assert stored().startswith("scrypt$16384$")
    assert logins_page.log_in(production, "ann", "a wrong password", SECRET).cookie is None
    assert stored().startswith("scrypt$16384$")  # only a right password is rehashed
    assert logins_page.log_in(production, "ann", "long enough pw", SECRET).cookie is not None
    assert stored().startswith("scrypt$131072$8$1$")
    assert logins_page.log_in(production, "ann", "long enough pw", SECRET).cookie is not None
    old.engine.dispose()
    production.engine.dispose()


class Clock:
    """auth's clock, moved by the test (sessions and throttling are about time passing)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = datetime.now(timezone.utc).replace(tzinfo=None)
        monkeypatch.setattr(auth, "utcnow", lambda: self.now)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def scrypt_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each password check that reaches scrypt (the real one runs; this only counts)."""
    runs: list[str] = []
    real = auth.verify_password

    def counted(password: str, stored: str) -> bool:
        runs.append(password)
        return real(password, stored)

    monkeypatch.setattr(auth, "verify_password", counted)
    return runs


def test_sessions_end_after_30_idle_minutes(log: ConversationLog, clock: Clock) -> None:
    logins_page.set_trainer(log, "ann", "long enough pw")
    cookie = logins_page.log_in(log, "ann", "long enough pw", SECRET).cookie
    clock.advance(minutes=29)
    assert logins_page.signed_in(log, cookie, SECRET) is not None  # used: 30 more minutes from now
    clock.advance(minutes=29)
    assert logins_page.signed_in(log, cookie, SECRET) is not None
    clock.advance(minutes=31)
    assert logins_page.signed_in(log, cookie, SECRET) is None


def test_sessions_end_8_hours_after_login_however_busy(log: ConversationLog, clock: Clock) -> None:
    logins_page.set_trainer(log, "ann", "long enough pw")
    cookie = logins_page.log_in(log, "ann", "long enough pw", SECRET).cookie
    for _ in range(7 * 3 + 2):  # every 20 minutes for 7 h 40 min
        clock.advance(minutes=20)
        assert logins_page.signed_in(log, cookie, SECRET) is not None
    clock.advance(minutes=21)
    assert logins_page.signed_in(log, cookie, SECRET) is None


def test_five_failures_for_a_username_then_refused_unchecked_with_a_growing_delay(
    log: ConversationLog, clock: Clock, scrypt_runs: list[str]
) -> None:
    logins_page.set_trainer(log, "ann", "long enough pw")
    for number in range(5):
        assert logins_page.log_in(
            log, "ann", f"wrong {number}", SECRET, "10.0.0.1"
        ) == auth.LoginResult(None)
        clock.advance(seconds=1)
    assert len(scrypt_runs) == 5
    # The right password, from another address, is refused without checking it.
    refused = logins_page.log_in(log, "ann", "long enough pw", SECRET, "10.0.0.2")
    assert refused.cookie is None and 25 <= refused.retry_after <= 30
    assert len(scrypt_runs) == 5
    clock.advance(seconds=30)
    assert (
        logins_page.log_in(log, "ann", "wrong again", SECRET, "10.0.0.2").cookie is None
    )  # the 6th
    assert len(scrypt_runs) == 6
    assert logins_page.log_in(log, "ann", "long enough pw", SECRET, "10.0.0.2").retry_after == 60
    clock.advance(seconds=61)
    assert logins_page.log_in(log, "ann", "wrong, 7th", SECRET, "10.0.0.2").cookie is None
    assert logins_page.log_in(log, "ann", "long enough pw", SECRET, "10.0.0.2").retry_after == 120
    clock.advance(seconds=121)
    # A successful login wipes the slate for the username.
    assert logins_page.log_in(log, "ann", "long enough pw", SECRET, "10.0.0.2").cookie is not None
    assert logins_page.log_in(log, "ann", "wrong after", SECRET, "10.0.0.2") == auth.LoginResult(
        None
    )
    assert [auth.delay_after(n).total_seconds() for n in (4, 5, 6, 10, 30)] == [
        0,
        30,
        60,
        960,
        3600,
    ]


def test_five_failures_from_an_address_throttle_every_username_from_it(
    log: ConversationLog, clock: Clock, scrypt_runs: list[str]
) -> None:
    logins_page.set_trainer(log, "ann", "long enough pw")
    for name in ("bob", "carl", "dora", "eve", "fay"):
        assert logins_page.log_in(log, name, "guess password", SECRET, "192.0.2.7").cookie is None
    assert logins_page.log_in(log, "ann", "long enough pw", SECRET, "192.0.2.7").retry_after > 0
    assert len(scrypt_runs) == 5
    assert logins_page.log_in(log, "ann", "long enough pw", SECRET, "192.0.2.8").cookie is not None


def test_every_login_is_in_the_audit_trail_without_its_password(
    log: ConversationLog, clock: Clock
) -> None:
    logins_page.set_trainer(log, "ann", "long enough pw")
    for _ in range(5):
        logins_page.log_in(log, "ann", "s3cret-wrong-pw", SECRET, "10.0.0.1")
    logins_page.log_in(log, "ann", "long enough pw", SECRET, "10.0.0.1")
    logins_page.log_in(log, "ghost\x00\u202e", "s3cret-wrong-pw", SECRET, "10.0.0.3")
    attempts = logins_page.login_attempts(log)
    assert [(a.username, a.address, a.outcome) for a in attempts] == [
        ("ghost", "10.0.0.3", "failed"),
        ("ann", "10.0.0.1", "throttled"),
        *[("ann", "10.0.0.1", "failed")] * 5,
    ]
    with log.session() as session:
        rows = session.execute(select(LoginAttempt)).scalars().all()
    assert "s3cret" not in repr([vars(r) for r in rows])


def test_environment_accepts_only_its_known_values(tmp_path: Path, cli: BotCommand) -> None:
    for typo in ("prod", "staging", "productoin"):
        with pytest.raises(ValueError, match="ENVIRONMENT must be one of local, production"):
            Settings.from_env({"ENVIRONMENT": typo})
    assert Settings.from_env({"ENVIRONMENT": " Local "}).environment == "local"
    assert Settings.from_env({}).environment == "local"
    env = {"ENVIRONMENT": "prod", "TRACKER_STORE_URL": f"sqlite:///{tmp_path}/l"}
    done = cli("review", "serve", "--port", "1", env=env)
    assert done.returncode == 1
    assert "ENVIRONMENT must be one of local, production, not 'prod'" in done.stderr
