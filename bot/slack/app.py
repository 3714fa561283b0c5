"""The Slack channel: builds the Bolt app from settings, runs it, stops it.

Socket Mode when ``SLACK_APP_TOKEN`` is set (no public URL needed). Otherwise HTTP mode:
``POST /slack/events`` with signature verification and ``GET /healthz`` on
``DESKHAND_HTTP_HOST:DESKHAND_HTTP_PORT``, the mode for several replicas behind a load
balancer. Everything is built when the channel is created; connections open in
:meth:`SlackChannel.start`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

import aiohttp
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlalchemy import text

from bot import preflight
from bot.core.delivery import Notifier
from bot.runtime import Runtime
from bot.settings import Settings, SettingsError
from bot.slack import actions, commands, errors, home, replays, views
from bot.slack.context import SlackContext
from bot.slack.home import HomePublisher
from bot.slack.http import web_app
from bot.slack.notifier import SlackNotifier

log = logging.getLogger(__name__)

DRAIN_SECONDS = 5.0


def secret(value: SecretStr | None) -> str | None:
    """A configured secret's value; None when unset or blank."""
    text = value.get_secret_value().strip() if value is not None else ""
    return text or None


def build_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: retries dropped connections and honours 429 ``Retry-After``."""
    token = secret(settings.slack_bot_token)
    if token is None:
        raise SettingsError("SLACK_BOT_TOKEN is not set; Slack needs the bot token (xoxb-...).")
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ],
    )


def build_app(settings: Settings, client: AsyncWebClient) -> AsyncApp:
    """The Bolt app, with signature verification and Bolt's logging kept quiet.

    Raises:
        SettingsError: what :func:`bot.preflight.slack_problems` finds (a token of the
            wrong kind, HTTP mode without ``SLACK_SIGNING_SECRET``).
    """
    # The same checks `deskhand run` and `deskhand doctor` make before anything starts.
    found = preflight.slack_problems(settings)
    if found:
        raise SettingsError("; ".join(p.message for p in found))
    signing_secret = secret(settings.slack_signing_secret)
    base = logging.getLogger("slack_bolt.deskhand")
    # Bolt copies this level into its loggers; at DEBUG they print whole request bodies.
    base.setLevel(max(logging.getLogger().getEffectiveLevel(), logging.INFO))
    if not any(isinstance(f, _SameToken) for f in base.filters):
        base.addFilter(_SameToken())
    app = AsyncApp(
        name="deskhand",
        logger=base,
        client=client,
        signing_secret=signing_secret or "",
    )
    # A refused request is logged with its whole body at INFO; http.py logs it instead.
    logging.getLogger("slack_bolt.RequestVerification").setLevel(logging.WARNING)
    return app


async def _check(
    call: Awaitable[AsyncSlackResponse], setting: str, what: str
) -> AsyncSlackResponse:
    """Await ``call``; a token Slack refuses becomes a SettingsError saying what to fix."""
    try:
        return await call
    except SlackApiError as exc:
        error = exc.response.get("error")
        raise SettingsError(f"Slack refused {setting} ({error}); set it to {what}.") from None


class _SameToken(logging.Filter):
    """Drop Bolt's "token will be unused" warning: it reads SLACK_BOT_TOKEN from the
    environment by itself, and the client it is given holds that same token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


class SlackChannel:
    """The Slack front-end as a :class:`bot.channels.ChatChannel`."""

    name = "slack"

    def __init__(self, runtime: Runtime, *, port: int | None = None) -> None:
        settings = runtime.settings
        self._runtime = runtime
        self._port = settings.http_port if port is None else port
        self.client = build_client(settings)
        self.app = build_app(settings, self.client)
        self.home = HomePublisher(
            runtime=runtime, client=self.client, operators=settings.slack_allowed_users
        )
        slack_notifier = SlackNotifier(
            client=self.client, settings=settings, on_change=self.home.poke
        )
        self.notifier: Notifier = slack_notifier
        self.context = SlackContext(runtime, self.client, slack_notifier, self.home)
        replays.register(self.app, self.context)  # middleware: before any listener runs
        for module in (commands, actions, views):
            module.register(self.app, self.context)
        home.register(self.app, self.home)
        errors.register(self.app, self.context)
        self._session: aiohttp.ClientSession | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self.http_port: int | None = None

    async def start(self) -> None:
        """Connect: Socket Mode with an app token, otherwise serve HTTP.

        Raises:
            SettingsError: Slack refused a token (nothing is left running).
        """
        # One connection pool for every Web API call (a client without one opens a pool per call).
        self._session = aiohttp.ClientSession()
        self.client.session = self._session
        try:
            await self._connect()
        except BaseException:
            await self.stop()
            raise

    async def _connect(self) -> None:
        settings = self._runtime.settings
        await _check(self.client.auth_test(), "SLACK_BOT_TOKEN", "the Bot User OAuth Token (xoxb-)")
        self._runtime.core.on_change(self.home.poke)
        self.home.start()
        app_token = secret(settings.slack_app_token)
        if app_token is not None:
            # The SDK retries a refused connection forever; ask once ourselves, so a wrong
            # token stops start-up with a message instead.
            opened = await _check(
                self.client.apps_connections_open(app_token=app_token),
                "SLACK_APP_TOKEN",
                "an app-level token (xapp-) with the connections:write scope",
            )
            self._socket = AsyncSocketModeHandler(self.app, app_token=app_token)
            self._socket.client.wss_uri = str(opened["url"])
            await self._socket.connect_async()
            log.info("Slack connected in Socket Mode")
            return
        signing_secret = secret(settings.slack_signing_secret)
        if signing_secret is None:  # build_app refused this already; kept for the type
            raise SettingsError("HTTP mode needs SLACK_SIGNING_SECRET; see docs/slack.md.")
        application = web_app(
            self.app,
            signing_secret=signing_secret,
            healthy=self._healthy,
        )
        self._runner = web.AppRunner(application, shutdown_timeout=2)
        await self._runner.setup()
        await web.TCPSite(self._runner, settings.http_host, self._port).start()
        self.http_port = int(self._runner.addresses[0][1])
        log.info("Slack listening over HTTP", extra={"port": self.http_port})

    async def stop(self) -> None:
        """Stop receiving, let handlers in flight finish, then close every connection."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        # A click being handled finishes its decision and its card update first.
        await self.context.drain(DRAIN_SECONDS)
        await self.home.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _healthy(self) -> bool:
        try:
            async with asyncio.timeout(2), self._runtime.sessions() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            log.warning("health check: the database did not answer", exc_info=True)
            return False
        return True
