"""Every Rasa server says where it listens, so a promotion reaches every one of them.

A Rasa plugin (a hook, not a patch, like bot.rasa_compat's start-up check): `rasa run` gets
two server listeners. Once the model is loaded and the server listens, the instance adds a
row to `rasa_instances` in the conversation log's database, which every instance, the
console and `python -m bot model promote` share: its address as seen from inside (loopback
here: nginx never routes Rasa's HTTP API), its process, and whether its API is on. When the
server stops, the row goes. An instance killed outright leaves its row behind: a promotion
finds its process gone (same host) or its port closed and drops the row.

bot.rasa_command, the one entry point of every Rasa server, installs it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
from pathlib import Path
from typing import Any

import pluggy

logger = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker("rasa")
LOOPBACK = "127.0.0.1"


def instance_url(interface: str | None, port: int) -> str:
    """Where the instance is reached from this machine: a wildcard address means loopback."""
    host = interface if interface and interface not in ("0.0.0.0", "::") else LOOPBACK
    return f"http://{host}:{port}"


class Registration:
    """Registers the instance after start and removes it before it stops."""

    def __init__(self) -> None:
        self.instance_id: int | None = None
        self.registry: Any = None

    @hookimpl
    def configure_commandline(self, cmdline_arguments: argparse.Namespace) -> None:
        import rasa.cli.run

        if getattr(cmdline_arguments, "func", None) is not rasa.cli.run.run:
            return
        listeners = list(getattr(cmdline_arguments, "server_listeners", None) or [])
        url = instance_url(cmdline_arguments.interface, int(cmdline_arguments.port))
        api = bool(getattr(cmdline_arguments, "enable_api", False))
        model = Path(str(cmdline_arguments.model or "")).name

        async def register(_app: Any, _loop: Any) -> None:
            await asyncio.to_thread(self.register, url, api, model)

        async def unregister(_app: Any, _loop: Any) -> None:
            await asyncio.to_thread(self.unregister)

        listeners += [(register, "after_server_start"), (unregister, "before_server_stop")]
        cmdline_arguments.server_listeners = listeners

    def register(self, url: str, api: bool, model: str) -> None:
        from bot.registry.records import Registry
        from bot.settings import get_settings

        self.registry = Registry.from_settings(get_settings())
        self.instance_id = self.registry.register_instance(
            url, socket.gethostname(), os.getpid(), api, model
        )
        logger.info("Registered this instance (%s, API %s) for promotions", url, api)

    def unregister(self) -> None:
        if self.registry is not None and self.instance_id is not None:
            self.registry.remove_instance(self.instance_id)
            self.registry.engine.dispose()
            self.instance_id = None


REGISTRATION = Registration()


def install() -> None:
    """Register the plugin with Rasa's plugin manager (once)."""
    from rasa.plugin import plugin_manager

    manager = plugin_manager()
    if not manager.is_registered(REGISTRATION):
        manager.register(REGISTRATION)
