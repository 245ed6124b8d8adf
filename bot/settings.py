"""The one place that reads the environment.

Every other module asks `get_settings()`; nothing reads `os.environ` directly, so a default
or a secret is defined once and tests can build a `Settings` of their own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class Settings:
    """Runtime settings; built from the environment by `from_env`."""

    role_store_url: str = field(default_factory=lambda: _sqlite_url(VAR_DIR / "roles.db"))
    content_dir: Path = PROJECT_ROOT / "data" / "roles"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            role_store_url=env.get("ROLE_STORE_URL") or defaults.role_store_url,
            content_dir=Path(env.get("ROLE_CONTENT_DIR") or defaults.content_dir),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
