"""Trainer passwords, login sessions, login throttling and the tokens that protect forms.

Passwords: scrypt (hashlib) at OWASP's cost (N=2^17, r=8, p=1) with a random salt per
trainer, compared in constant time; a hash made at a lower cost is redone at the next login.
Sessions: the browser holds `token.signature` (HMAC-SHA256 with the console secret); the
database holds only a SHA-256 of the token, the trainer and the session's CSRF token, so a
leaked database row cannot be replayed as a cookie. A session ends after 30 idle minutes,
and 8 hours after the login whatever happens.
Throttling: every login attempt is recorded (never the password); after 5 failures for a
username or from an address, further attempts are refused, without running scrypt, for a
delay that doubles with each further failure.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.db import utcnow
from bot.review.models import LoginAttempt, LoginSession, Trainer

# OWASP Password Storage Cheat Sheet: scrypt N=2^17, r=8, p=1 (128 MiB per hash).
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_LENGTH = 32
# A stored hash claiming more than this is refused rather than computed (memory).
SCRYPT_N_LIMIT = 2**20
MIN_PASSWORD_LENGTH = 10
SESSION_LIFETIME = timedelta(hours=8)
IDLE_TIMEOUT = timedelta(minutes=30)
# A session's expiry is moved on by requests only when it would move by more than this,
# so browsing does not write to the database on every page.
EXPIRY_STEP = timedelta(minutes=1)
USERNAME_MAX = 100
MAX_FAILURES = 5
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
# Failures older than this are forgotten, as are those before a successful login.
FAILURE_WINDOW = timedelta(hours=24)
OK, FAILED, CHECKING, THROTTLED = "ok", "failed", "checking", "throttled"

log = logging.getLogger(__name__)


class AuthError(ValueError):
    """A username or password that cannot be accepted (the message says why)."""


@dataclass(frozen=True)
class LoginResult:
    """A signed session cookie, or None; `retry_after` > 0 when the attempt was throttled."""

    cookie: str | None
    retry_after: int = 0


@dataclass(frozen=True)
class SignedIn:
    """The trainer behind a request, and the CSRF token its forms must carry."""

    trainer_id: int
    username: str
    csrf_token: str
    token_hash: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    # hashlib's default maxmem (32 MiB) is below the 128 * r * n bytes scrypt needs.
    maxmem = 128 * r * (n + p + 2) + 2**20
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=maxmem)


def hash_password(password: str, salt: bytes | None = None, *, n: int = SCRYPT_N) -> str:
    """A salted scrypt hash; `n` lower than SCRYPT_N only for tests, where speed matters."""
    salt = salt or secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, SCRYPT_R, SCRYPT_P, SCRYPT_LENGTH)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _cost(stored: str) -> tuple[int, int, int] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(x.isdigit() for x in parts[1:4]):
        return None
    n, r, p = (int(x) for x in parts[1:4])
    return (n, r, p) if 1 < n <= SCRYPT_N_LIMIT and 0 < r <= 32 and 0 < p <= 16 else None


def verify_password(password: str, stored: str) -> bool:
    cost = _cost(stored)
    if cost is None:
        return False
    try:
        salt, digest = (base64.b64decode(x, validate=True) for x in stored.split("$")[4:])
        actual = _scrypt(password, salt, *cost, len(digest))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, digest)


def needs_rehash(stored: str, n: int = SCRYPT_N) -> bool:
    """True when `stored` was made at a lower cost than the one now configured."""
    cost = _cost(stored)
    return cost is None or cost[0] < n or cost[1] < SCRYPT_R or cost[2] < SCRYPT_P


@lru_cache(maxsize=4)
def _dummy_hash(n: int) -> str:
    """Checked against when the username is unknown, so a wrong name takes as long as a wrong
    password and response times do not reveal which trainers exist (made on first use)."""
    return hash_password(secrets.token_hex(16), n=n)


def check_username(username: str) -> str:
    username = username.strip()
    if not username or len(username) > USERNAME_MAX or not username.isprintable():
        raise AuthError(f"a username is 1 to {USERNAME_MAX} printable characters")
    if any(c.isspace() for c in username):
        raise AuthError("a username has no spaces")
    return username


def set_trainer(
    session: Session, username: str, password: str, *, reset: bool = False, n: int = SCRYPT_N
) -> bool:
    """Create a trainer, or with `reset` change an existing one's password; True if created."""
    username = check_username(username)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    trainer = session.execute(
        select(Trainer).where(Trainer.username == username)
    ).scalar_one_or_none()
    if trainer is not None and not reset:
        raise AuthError(f"trainer '{username}' exists (use --reset to change the password)")
    if trainer is None:
        session.add(
            Trainer(
                username=username, password_hash=hash_password(password, n=n), created_at=utcnow()
            )
        )
        return True
    trainer.password_hash = hash_password(password, n=n)
    session.execute(delete(LoginSession).where(LoginSession.trainer_id == trainer.id))
    return False


def stored_hash(session: Session, username: str) -> tuple[int, str] | None:
    """The trainer's id and password hash, None for an unknown name."""
    row = session.execute(
        select(Trainer.id, Trainer.password_hash).where(Trainer.username == username.strip())
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


def check_password(found: tuple[int, str] | None, password: str, n: int = SCRYPT_N) -> bool:
    """Run scrypt (also for an unknown name, against a dummy hash); call outside a transaction."""
    if found is None:
        verify_password(password, _dummy_hash(n))
        return False
    return verify_password(password, found[1])


def set_hash(session: Session, trainer_id: int, password_hash: str) -> None:
    session.execute(
        update(Trainer).where(Trainer.id == trainer_id).values(password_hash=password_hash)
    )


# --- throttling and the audit trail --------------------------------------------------------


def printable(text: str, limit: int) -> str:
    return "".join(c for c in text if c.isprintable())[:limit]


def delay_after(failures: int) -> timedelta:
    """How long a username or address is refused after `failures` failed logins in a row."""
    if failures < MAX_FAILURES:
        return timedelta(0)
    return min(MAX_DELAY, FIRST_DELAY * 2 ** min(failures - MAX_FAILURES, 20))


def _wait(session: Session, column: Any, value: str, now: datetime) -> float:
    """Seconds `value` (a username or an address) must still wait; 0 when it may try now."""
    since = now - FAILURE_WINDOW
    last_ok = session.execute(
        select(func.max(LoginAttempt.at)).where(column == value, LoginAttempt.outcome == OK)
    ).scalar()
    if last_ok is not None and last_ok > since:
        since = last_ok
    # An attempt still being checked counts as a failure, so parallel requests cannot all
    # slip through before the first failures are recorded.
    failures, last = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            column == value,
            LoginAttempt.outcome.in_((FAILED, CHECKING)),
            LoginAttempt.at > since,
        )
    ).one()
    if last is None:
        return 0.0
    return max(0.0, (last + delay_after(int(failures)) - now).total_seconds())


def begin_attempt(session: Session, username: str, address: str) -> tuple[int | None, int]:
    """Record an attempt: (its id, 0) when it may be checked, (None, seconds to wait) if not."""
    now = utcnow()
    username = printable(username.strip(), USERNAME_MAX)
    address = printable(address, 64)
    wait = max(
        _wait(session, LoginAttempt.username, username, now),
        _wait(session, LoginAttempt.address, address, now),
    )
    outcome = THROTTLED if wait else CHECKING
    attempt = LoginAttempt(at=now, username=username, address=address, outcome=outcome)
    session.add(attempt)
    session.flush()
    if wait:
        log.warning("review console: login refused (throttled) for %r from %s", username, address)
        return None, math.ceil(wait)
    return int(attempt.id), 0


def end_attempt(session: Session, attempt_id: int, succeeded: bool) -> None:
    attempt = session.get(LoginAttempt, attempt_id)
    if attempt is None:
        return
    attempt.outcome = OK if succeeded else FAILED
    if succeeded:
        log.info("review console: %r logged in from %s", attempt.username, attempt.address)
    else:
        log.warning(
            "review console: failed login for %r from %s", attempt.username, attempt.address
        )


def recent_attempts(session: Session, limit: int = 200) -> list[LoginAttempt]:
    return list(
        session.execute(
            select(LoginAttempt).order_by(LoginAttempt.id.desc()).limit(limit)
        ).scalars()
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret: str, value: str) -> str:
    mac = hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()
    return f"{value}.{mac}"


def unsign(secret: str, signed: str | None) -> str | None:
    """The value inside a `sign`ed string, or None if it was not signed with `secret`."""
    if not signed or "." not in signed:
        return None
    value, _, mac = signed.rpartition(".")
    expected = hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()
    return value if hmac.compare_digest(mac.encode(), expected.encode()) else None


def start_session(session: Session, trainer_id: int, secret: str) -> str:
    """A new login session for the trainer; returns the signed cookie value."""
    now = utcnow()
    session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=_token_hash(token),
            trainer_id=trainer_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + min(IDLE_TIMEOUT, SESSION_LIFETIME),
        )
    )
    return sign(secret, token)


def signed_in(session: Session, cookie: str | None, secret: str) -> SignedIn | None:
    token = unsign(secret, cookie)
    if token is None:
        return None
    row = session.execute(
        select(LoginSession, Trainer.username)
        .join(Trainer, Trainer.id == LoginSession.trainer_id)
        .where(
            LoginSession.token_hash == _token_hash(token),
            LoginSession.expires_at > utcnow(),
            LoginSession.created_at > utcnow() - SESSION_LIFETIME,
        )
    ).one_or_none()
    if row is None:
        return None
    login, username = row
    # Used now: it lives 30 more minutes, never beyond 8 hours from the login.
    expires = min(login.created_at + SESSION_LIFETIME, utcnow() + IDLE_TIMEOUT)
    if abs(expires - login.expires_at) > EXPIRY_STEP:
        login.expires_at = expires
    return SignedIn(login.trainer_id, username, login.csrf_token, login.token_hash)


def end_session(session: Session, token_hash: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash))


def tokens_match(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
