from pathlib import Path

from bot.settings import PROJECT_ROOT, Settings


def test_defaults_are_embedded_sqlite() -> None:
    settings = Settings.from_env({})
    assert settings.role_store_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'roles.db'}"
    assert settings.content_dir == PROJECT_ROOT / "data" / "roles"


def test_environment_overrides() -> None:
    settings = Settings.from_env(
        {"ROLE_STORE_URL": "postgresql://u@127.0.0.1/db", "ROLE_CONTENT_DIR": "/tmp/c"}
    )
    assert settings.role_store_url == "postgresql://u@127.0.0.1/db"
    assert settings.content_dir == Path("/tmp/c")


def test_empty_variable_falls_back_to_default() -> None:
    assert Settings.from_env({"ROLE_STORE_URL": ""}).role_store_url.startswith("sqlite:///")
