"""Trainer passwords, login sessions and the tokens that protect forms.

Passwords: scrypt (hashlib) with a random salt per trainer, compared in constant time.
Sessions: the browser holds `token.signature` (HMAC-SHA256 with the console secret); the
database holds only a SHA-256 of the token, the trainer and the session's CSRF token, so a
leaked database row cannot be replayed as a cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.review.models import LoginSession, Trainer

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_LENGTH = 32
MIN_PASSWORD_LENGTH = 10
SESSION_LIFETIME = timedelta(hours=8)
USERNAME_MAX = 100


class AuthError(ValueError):
    """A username or password that cannot be accepted (the message says why)."""


@dataclass(frozen=True)
class SignedIn:
    """The trainer behind a request, and the CSRF token its forms must carry."""

    trainer_id: int
    username: str
    csrf_token: str
    token_hash: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_LENGTH
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# Checked against when the username is unknown, so a wrong name takes as long as a wrong
# password and response times do not reveal which trainers exist.
_DUMMY_HASH = hash_password(secrets.token_hex(16))


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def check_username(username: str) -> str:
    username = username.strip()
    if not username or len(username) > USERNAME_MAX or not username.isprintable():
        raise AuthError(f"a username is 1 to {USERNAME_MAX} printable characters")
    if any(c.isspace() for c in username):
        raise AuthError("a username has no spaces")
    return username


def set_trainer(session: Session, username: str, password: str, *, reset: bool = False) -> bool:
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
            Trainer(username=username, password_hash=hash_password(password), created_at=_now())
        )
        return True
    trainer.password_hash = hash_password(password)
    session.execute(delete(LoginSession).where(LoginSession.trainer_id == trainer.id))
    return False


def authenticate(session: Session, username: str, password: str) -> Trainer | None:
    trainer = session.execute(
        select(Trainer).where(Trainer.username == username.strip())
    ).scalar_one_or_none()
    if trainer is None:
        verify_password(password, _DUMMY_HASH)
        return None
    return trainer if verify_password(password, trainer.password_hash) else None


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


def start_session(session: Session, trainer: Trainer, secret: str) -> str:
    """A new login session for `trainer`; returns the signed cookie value."""
    now = _now()
    session.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=_token_hash(token),
            trainer_id=trainer.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
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
        .where(LoginSession.token_hash == _token_hash(token), LoginSession.expires_at > _now())
    ).one_or_none()
    if row is None:
        return None
    login, username = row
    return SignedIn(login.trainer_id, username, login.csrf_token, login.token_hash)


def end_session(session: Session, token_hash: str) -> None:
    session.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash))


def tokens_match(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
