"""Fake provider APIs (Slack, Telegram, Messenger, Twilio, Bot Framework) on 127.0.0.1.

One aiohttp server, in a thread of its own, answers what the assistant calls as the real
APIs would (enough of it) and records every request, so a test can assert exactly what the
assistant sent. It also plays Microsoft's side of Bot Framework auth: it publishes an OpenID
configuration and a signing key, and mints the JWTs the Bot Connector would send.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.servers import free_port, wait_for

KEY_ID = "fake-key-1"
BOT_CONNECTOR_ISSUER = "https://api.botframework.com"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, key_id: str, endorsements: list[str]) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": key_id, "use": "sig", "endorsements": endorsements}


def bot_connector_token(key: rsa.RSAPrivateKey, key_id: str = KEY_ID, **claims: Any) -> str:
    """A JWT as the Bot Connector sends it; `claims` override or add (None removes)."""
    now = int(time.time())
    payload = {
        "iss": BOT_CONNECTOR_ISSUER,
        "aud": "app-id",
        "nbf": now - 10,
        "iat": now - 10,
        "exp": now + 3600,
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": key_id})


@dataclass
class Call:
    """One request the assistant made to a fake provider."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)


class FakeProviders:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.calls: list[Call] = []
        self.signing_key = rsa_key()
        self.jwks = [public_jwk(self.signing_key, KEY_ID, ["msteams", "emulator"])]
        self._lock = threading.Lock()

    # --- what the assistant is configured with ---------------------------------------
    def api(self, path: str) -> str:
        """A provider's API base URL on this server: `path` as routed in app()."""
        return f"{self.url}{path}"

    # --- what tests read --------------------------------------------------------------
    def matching(self, predicate: Callable[[Call], bool]) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if predicate(call)]

    def wait_for(
        self, predicate: Callable[[Call], bool], count: int = 1, timeout: float = 60
    ) -> list[Call]:
        """Every call matching `predicate`, once there are at least `count`: all of them, so
        that a test expecting `count` sees one sent twice."""

        def enough() -> list[Call] | None:
            found = self.matching(predicate)
            return found if len(found) >= count else None

        try:
            return wait_for(enough, timeout, f"{count} matching call(s) to the fake providers")
        except TimeoutError as error:
            raise AssertionError(f"{error}; got {self.matching(predicate)}") from None

    # --- the fake APIs ----------------------------------------------------------------
    async def _record(self, request: web.Request) -> Call:
        body = await request.read()
        call = Call(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
        )
        if request.content_type == "application/json":
            call.json = json.loads(body)
        elif request.content_type == "application/x-www-form-urlencoded":
            form = await request.post()
            call.form = {str(name): str(value) for name, value in form.items()}
        with self._lock:
            self.calls.append(call)
        return call

    async def _slack(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"ok": True, "ts": "1700000000.000200"})

    async def _telegram(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"ok": True, "result": True})

    async def _graph(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        recipient = (call.json or {}).get("recipient", {}).get("id")
        return web.json_response({"recipient_id": recipient, "message_id": "m_1"})

    async def _twilio(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"sid": "SM0123456789", "status": "queued"}, status=201)

    async def _openid(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response(
            {
                "issuer": BOT_CONNECTOR_ISSUER,
                "jwks_uri": f"{self.url}/botframework/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"keys": self.jwks})

    async def _token(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response(
            {"token_type": "Bearer", "expires_in": 3599, "access_token": "fake-connector-token"}
        )

    async def _activities(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"id": "reply-1"})

    async def _anything_else(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"error": "not faked"}, status=404)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/slack/api/{method}", self._slack)
        app.router.add_post("/telegram/{bot}/{method}", self._telegram)
        app.router.add_post("/graph/v21.0/me/messages", self._graph)
        app.router.add_post("/twilio/2010-04-01/Accounts/{sid}/Messages.json", self._twilio)
        app.router.add_get("/botframework/openid", self._openid)
        app.router.add_get("/botframework/keys", self._keys)
        app.router.add_post("/botframework/token", self._token)
        app.router.add_post(
            "/botframework/service/v3/conversations/{conversation}/activities", self._activities
        )
        app.router.add_route("*", "/{tail:.*}", self._anything_else)
        return app


@contextmanager
def fake_providers() -> Iterator[FakeProviders]:
    """The fake APIs, served until the block ends."""
    fakes = FakeProviders()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(fakes.app())
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", fakes.port).start())
    thread = threading.Thread(target=loop.run_forever, name="fake-providers", daemon=True)
    thread.start()
    try:
        yield fakes
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
