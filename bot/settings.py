"""The one place that reads the project's settings from the environment.

The databases (role store; conversation log with the console's tables), the role content, the
console's and the pseudonyms' secrets, the messaging channels, the serving limits, and how long
conversations are kept (with what the privacy notice says). Every
other module asks `get_settings()` (cached; tests build a `Settings` of their own or clear the
cache), so a default or a secret is defined once. `Settings.from_env` fails fast: a missing or
short secret with ENVIRONMENT=production, an unknown ENVIRONMENT or a bad number stops
start-up. Rasa reads its own variables (SQL_POOL_SIZE, ...), and child processes are handed
the environment whole.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"
LOCAL_SECRET_PATH = VAR_DIR / "review-secret"
LOCAL_SENDER_ID_KEY_PATH = VAR_DIR / "sender-id-key"
MIN_SECRET_LENGTH = 32
# What ENVIRONMENT may say: a typo ("prod") must stop start-up, not quietly mean "local".
ENVIRONMENTS = ("local", "production")


class MissingSecret(RuntimeError):
    """A secret that production must set is missing: stop at start-up, not at first use."""


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _env(name: str, default: Any = MISSING, secret: bool = False) -> Any:
    """A channel setting read from the environment variable `name` (required without default)."""
    return field(default=default, repr=not secret, metadata={"env": name})


@dataclass(frozen=True)
class SlackSettings:
    """A Slack app (api.slack.com/apps): bot token and request signing secret."""

    bot_token: str = _env("SLACK_BOT_TOKEN", secret=True)
    signing_secret: str = _env("SLACK_SIGNING_SECRET", secret=True)
    api_url: str = _env("SLACK_API_URL", "https://slack.com/api/")


@dataclass(frozen=True)
class TelegramSettings:
    """A Telegram bot (@BotFather): its token, where Telegram posts, and the webhook secret."""

    bot_token: str = _env("TELEGRAM_BOT_TOKEN", secret=True)
    webhook_url: str = _env("TELEGRAM_WEBHOOK_URL")
    secret_token: str = _env("TELEGRAM_SECRET_TOKEN", secret=True)
    api_url: str = _env("TELEGRAM_API_URL", "https://api.telegram.org")


@dataclass(frozen=True)
class FacebookSettings:
    """A Meta app with Messenger: page access token, app secret, webhook verify token."""

    page_access_token: str = _env("FACEBOOK_PAGE_ACCESS_TOKEN", secret=True)
    app_secret: str = _env("FACEBOOK_APP_SECRET", secret=True)
    verify_token: str = _env("FACEBOOK_VERIFY_TOKEN", secret=True)
    graph_url: str = _env("FACEBOOK_GRAPH_URL", "https://graph.facebook.com/v21.0")


@dataclass(frozen=True)
class TwilioSettings:
    """A Twilio account and number; public_url is the base URL Twilio calls (it signs it)."""

    account_sid: str = _env("TWILIO_ACCOUNT_SID")
    auth_token: str = _env("TWILIO_AUTH_TOKEN", secret=True)
    number: str = _env("TWILIO_NUMBER")
    public_url: str = _env("TWILIO_PUBLIC_URL")
    api_url: str = _env("TWILIO_API_URL", "https://api.twilio.com")


@dataclass(frozen=True)
class BotFrameworkSettings:
    """An Azure Bot (Microsoft Teams): app id and password; Microsoft's URLs by default."""

    app_id: str = _env("BOTFRAMEWORK_APP_ID")
    app_password: str = _env("BOTFRAMEWORK_APP_PASSWORD", secret=True)
    openid_url: str = _env(
        "BOTFRAMEWORK_OPENID_URL",
        "https://login.botframework.com/v1/.well-known/openidconfiguration",
    )
    issuer: str = _env("BOTFRAMEWORK_ISSUER", "https://api.botframework.com")
    token_url: str = _env(
        "BOTFRAMEWORK_TOKEN_URL",
        "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token",
    )


_Section = TypeVar("_Section")


def _section(kind: type[_Section], env: Mapping[str, str]) -> tuple[_Section | None, list[str]]:
    """The section when every required variable is set, else None and the unset ones."""
    values: dict[str, str] = {}
    missing: list[str] = []
    for item in fields(kind):  # type: ignore[arg-type]
        value = (env.get(item.metadata["env"]) or "").strip()
        if value:
            values[item.name] = value
        elif item.default is MISSING:
            missing.append(item.metadata["env"])
    if missing:
        return None, missing
    return kind(**values), []


@dataclass(frozen=True)
class ChannelSettings:
    """The messaging channels: each is on (not None) only when all its variables are set."""

    slack: SlackSettings | None = None
    telegram: TelegramSettings | None = None
    facebook: FacebookSettings | None = None
    twilio: TwilioSettings | None = None
    botframework: BotFrameworkSettings | None = None
    # For each channel that is off, the variables it still needs.
    missing: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ChannelSettings:
        kinds = {
            "slack": SlackSettings,
            "telegram": TelegramSettings,
            "facebook": FacebookSettings,
            "twilio": TwilioSettings,
            "botframework": BotFrameworkSettings,
        }
        sections: dict[str, Any] = {}
        missing: dict[str, list[str]] = {}
        for name, kind in kinds.items():
            sections[name], unset = _section(kind, env)
            if unset:
                missing[name] = unset
        return cls(**sections, missing=missing)

    def on(self) -> list[str]:
        """The names of the channels that are on."""
        return [
            item.name
            for item in fields(self)
            if item.name != "missing" and getattr(self, item.name)
        ]


def _secret_file(path: str) -> str | None:
    """A secret kept in a file (a mounted Kubernetes or Docker secret); None when the file is
    missing or empty: an optional secret that was not created leaves its feature off."""
    try:
        return Path(path).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _whole_number(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    """A whole number from `name` (at least `minimum`), the default when unset; a typo stops
    start-up."""
    text = (env.get(name) or "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or int(text) < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, not {text!r}")
    return int(text)


@dataclass(frozen=True)
class PrivacySettings:
    """How long the log keeps conversations and the audit trail, and what the privacy notice
    (the careers page's /privacy, the widget's notice, the channels' first reply) says."""

    # A conversation idle for longer is deleted with everything derived from it.
    retention_days: int = 30
    # The audit trail (transcripts opened, exports, erasures) and the console's login attempts.
    audit_retention_days: int = 365
    # How often a running Rasa server purges the log (0: never; then run `bot log purge`).
    purge_interval_minutes: int = 60
    # Conversations deleted per transaction, so a large purge never holds the log for long.
    purge_batch: int = 200
    # Who runs the service (the data controller) and how to reach them; None: a placeholder.
    operator_name: str | None = None
    operator_contact: str | None = None
    dpo_contact: str | None = None
    # The privacy page's public address, for the messaging channels' notice; None: the
    # careers page's own /privacy on 127.0.0.1 (right for `make run` only).
    privacy_url: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PrivacySettings:
        defaults = cls()

        def text(name: str) -> str | None:
            return " ".join((env.get(name) or "").split()) or None

        return cls(
            retention_days=_whole_number(env, "LOG_RETENTION_DAYS", defaults.retention_days),
            audit_retention_days=_whole_number(
                env, "AUDIT_RETENTION_DAYS", defaults.audit_retention_days
            ),
            purge_interval_minutes=_whole_number(
                env, "LOG_PURGE_INTERVAL_MINUTES", defaults.purge_interval_minutes, minimum=0
            ),
            purge_batch=_whole_number(env, "LOG_PURGE_BATCH", defaults.purge_batch),
            operator_name=text("PRIVACY_OPERATOR_NAME"),
            operator_contact=text("PRIVACY_CONTACT"),
            dpo_contact=text("PRIVACY_DPO_CONTACT"),
            privacy_url=text("PRIVACY_URL"),
        )


@dataclass(frozen=True)
class ServingSettings:
    """Serving many users: the production profile (bot/prod/) and the REST channel's limits."""

    # Rasa's lock store, shared by every Rasa instance (redis://[:password@]host:port/db).
    # None: `python -m bot prod` starts a throw-away Redis (refused when ENVIRONMENT=production).
    lock_store_url: str | None = field(default=None, repr=False)
    rasa_instances: int = 2
    action_instances: int = 2
    # Turns on Rasa's HTTP API (`rasa run --enable-api --auth-token`); None leaves it off.
    # RASA_API_TOKEN, or the contents of the file RASA_API_TOKEN_FILE names (a mounted
    # Kubernetes Secret): bot.rasa_command keeps it off the command line.
    rasa_api_token: str | None = field(default=None, repr=False)
    # A longer message gets a polite reply and never reaches NLU; a larger body is a 413.
    max_message_length: int = 2000
    max_body_bytes: int = 64 * 1024
    # nginx's limit_req on the chat endpoints, per client address: requests a second, burst.
    rate_limit: int = 10
    rate_burst: int = 20
    # A conversation takes this many messages until it is idle for an hour (Rasa's session
    # expiry; the sessions SESSION_MAX_TURNS starts count as one): the next get a polite reply
    # and never reach NLU, so no conversation grows for ever.
    conversation_message_limit: int = 500
    # A session (what Rasa reads and its policies featurise each turn) also ends after this
    # many messages, its slots carried over, as after an idle hour.
    session_max_turns: int = 20
    # How many conversations' trackers each Rasa instance keeps between their messages (the
    # least recently used are dropped first; 0: none), so a message reads only newer events.
    tracker_cache_size: int = 200
    # Where `make run` (`python -m bot run`) listens on 127.0.0.1: Rasa, the action server,
    # the careers page, the review console.
    rasa_port: int = 5005
    actions_port: int = 5055
    web_port: int = 8080
    review_port: int = 8081

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ServingSettings:
        token = (env.get("RASA_API_TOKEN") or "").strip() or None
        token_file = (env.get("RASA_API_TOKEN_FILE") or "").strip()
        if token is None and token_file:
            token = _secret_file(token_file)
        if token is not None and len(token) < MIN_SECRET_LENGTH:
            raise MissingSecret(
                f"RASA_API_TOKEN must be at least {MIN_SECRET_LENGTH} random characters"
            )
        defaults = cls()
        return cls(
            lock_store_url=(env.get("LOCK_STORE_URL") or "").strip() or None,
            rasa_instances=_whole_number(env, "RASA_INSTANCES", defaults.rasa_instances),
            action_instances=_whole_number(env, "ACTION_INSTANCES", defaults.action_instances),
            rasa_api_token=token,
            max_message_length=_whole_number(
                env, "MAX_MESSAGE_LENGTH", defaults.max_message_length
            ),
            max_body_bytes=_whole_number(env, "MAX_BODY_BYTES", defaults.max_body_bytes),
            rate_limit=_whole_number(env, "RATE_LIMIT", defaults.rate_limit),
            rate_burst=_whole_number(env, "RATE_BURST", defaults.rate_burst),
            conversation_message_limit=_whole_number(
                env, "CONVERSATION_MESSAGE_LIMIT", defaults.conversation_message_limit
            ),
            session_max_turns=_whole_number(env, "SESSION_MAX_TURNS", defaults.session_max_turns),
            tracker_cache_size=_whole_number(
                env, "TRACKER_CACHE_SIZE", defaults.tracker_cache_size, minimum=0
            ),
            rasa_port=_whole_number(env, "RASA_PORT", defaults.rasa_port),
            actions_port=_whole_number(env, "ACTIONS_PORT", defaults.actions_port),
            web_port=_whole_number(env, "WEB_PORT", defaults.web_port),
            review_port=_whole_number(env, "REVIEW_PORT", defaults.review_port),
        )


@dataclass(frozen=True)
class Settings:
    """Runtime settings; built from the environment by `from_env`."""

    role_store_url: str = field(default_factory=lambda: _sqlite_url(VAR_DIR / "roles.db"))
    content_dir: Path = PROJECT_ROOT / "data" / "roles"
    # The conversation log (Rasa's tracker store) and the review console's tables.
    tracker_store_url: str = field(
        default_factory=lambda: _sqlite_url(VAR_DIR / "conversations.db")
    )
    # "production" makes REVIEW_SECRET mandatory and the console's cookie Secure.
    environment: str = "local"
    # Signs the review console's session cookies; None means the generated local one.
    review_secret: str | None = field(default=None, repr=False)
    # Slack, Telegram, Facebook Messenger, Twilio SMS, Bot Framework (Teams): on when set.
    channels: ChannelSettings = field(default_factory=ChannelSettings)
    # Several instances, shared stores, limits on what a request may carry.
    serving: ServingSettings = field(default_factory=ServingSettings)
    # Keys the HMAC that replaces sender ids (phone numbers) in the conversation log; None
    # means the generated local one.
    sender_id_key: str | None = field(default=None, repr=False)
    # A newer saved copy of the source page (HTML or text); `bot run` warns when facts are stale.
    source_page_latest: Path | None = None
    # Retention, the audit trail and the privacy notice.
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    # The live model (careers.tar.gz, what every Rasa starts with) and the model registry
    # (registry/: candidates, and the models promotion replaced, for rollback).
    models_dir: Path = PROJECT_ROOT / "models"
    # Where a person can be reached when the assistant can't help (HANDOFF_URL, HANDOFF_TEXT):
    # the operator's own contact page and a line saying who answers; none is ever invented.
    handoff_url: str | None = None
    handoff_text: str | None = None

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        environment = (env.get("ENVIRONMENT") or defaults.environment).strip().lower()
        if environment not in ENVIRONMENTS:
            raise ValueError(
                f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}"
            )
        secret = env.get("REVIEW_SECRET") or None
        if environment == "production" and (secret is None or len(secret) < MIN_SECRET_LENGTH):
            raise MissingSecret(
                f"ENVIRONMENT=production needs REVIEW_SECRET (at least {MIN_SECRET_LENGTH} "
                'random characters, e.g. python -c "import secrets; print(secrets.token_hex())")'
            )
        latest = (env.get("SOURCE_PAGE_LATEST") or "").strip()
        sender_id_key = env.get("SENDER_ID_KEY") or None
        if environment == "production" and (
            sender_id_key is None or len(sender_id_key) < MIN_SECRET_LENGTH
        ):
            raise MissingSecret(
                f"ENVIRONMENT=production needs SENDER_ID_KEY (at least {MIN_SECRET_LENGTH} "
                "random characters; keep it: a new key makes returning users new ones)"
            )
        channels = ChannelSettings.from_env(env)
        privacy = PrivacySettings.from_env(env)
        if environment == "production" and channels.on() and privacy.privacy_url is None:
            # The notice each new conversation's first reply starts with would link the
            # careers page on 127.0.0.1, which no one on SMS or Slack can open.
            raise ValueError(
                f"ENVIRONMENT=production with the {', '.join(channels.on())} channel(s) on "
                "needs PRIVACY_URL, the privacy notice's public address (their first reply "
                "links it)"
            )
        return cls(
            role_store_url=env.get("ROLE_STORE_URL") or defaults.role_store_url,
            content_dir=Path(env.get("ROLE_CONTENT_DIR") or defaults.content_dir),
            tracker_store_url=env.get("TRACKER_STORE_URL") or defaults.tracker_store_url,
            environment=environment,
            review_secret=secret,
            channels=channels,
            serving=ServingSettings.from_env(env),
            source_page_latest=Path(latest) if latest else None,
            sender_id_key=sender_id_key,
            privacy=privacy,
            models_dir=Path(env.get("MODELS_DIR") or defaults.models_dir),
            handoff_url=(env.get("HANDOFF_URL") or "").strip() or None,
            handoff_text=(env.get("HANDOFF_TEXT") or "").strip() or None,
        )

    def console_secret(self) -> str:
        """REVIEW_SECRET, or for local use a random one kept in var/ (made on first use)."""
        if self.review_secret is not None:
            return self.review_secret
        return _local_secret(LOCAL_SECRET_PATH)

    def sender_id_secret(self) -> str:
        """SENDER_ID_KEY, or for local use a random one kept in var/ (made on first use).

        Every process that writes or reads the log (Rasa instances, the console) must use the
        same key: they share var/ locally, and the environment in production.
        """
        if self.sender_id_key is not None:
            return self.sender_id_key
        return _local_secret(LOCAL_SENDER_ID_KEY_PATH)

    def privacy_url(self) -> str:
        """Where the privacy notice is: PRIVACY_URL, or the local careers page's /privacy."""
        return self.privacy.privacy_url or f"http://127.0.0.1:{self.serving.web_port}/privacy"


def _local_secret(path: Path) -> str:
    """A random secret kept in `path` (mode 0600), made by whichever process asks first.

    Written to a file of its own and then linked into place, so a process starting at the
    same moment reads either no file or the whole secret, never an empty one.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:  # another process made it first
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
