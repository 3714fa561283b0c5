"""The Telegram channel: build the python-telegram-bot Application, start it, stop it.

Long polling by default. With ``DESKHAND_TELEGRAM_WEBHOOK_URL`` set, python-telegram-bot's
webhook server listens on ``DESKHAND_TELEGRAM_WEBHOOK_LISTEN:PORT`` at the URL's path and
refuses (403) any update without the secret token, so several replicas can sit behind one
load balancer. The Application is built when the channel is constructed, never at import.
"""

from __future__ import annotations

import logging
import warnings
from datetime import timedelta
from urllib.parse import urlsplit

from telegram.error import InvalidToken
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.core.delivery import Notifier
from bot.runtime import Runtime
from bot.settings import Settings, SettingsError
from bot.telegram import callbacks, conversation, errors, handlers, replays
from bot.telegram.concurrency import ChatOrderedProcessor
from bot.telegram.deps import TelegramDeps
from bot.telegram.notifier import CHANNEL, TelegramNotifier
from bot.telegram.sender import Sender
from graph.tasks import TaskSet

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "callback_query")
RETRIES = 3  # for a 429 (after its retry_after) and for start-up calls
CONNECT_TIMEOUT, READ_TIMEOUT, WRITE_TIMEOUT, POOL_TIMEOUT = 10.0, 15.0, 15.0, 10.0
FOLLOW_UP_GRACE_S = 30.0  # at stop, how long runs' outcomes may take to reach their cards


def build_application(settings: Settings) -> Application:
    """The Application for the configured bot: API URL, rate limits, timeouts, concurrency."""
    if settings.telegram_bot_token is None:
        raise SettingsError("TELEGRAM_BOT_TOKEN is not set; set it or run `deskhand chat`.")
    api = settings.telegram_api_url.rstrip("/")
    rate = settings.telegram_max_rate
    # Throttles messages to chats (Telegram allows about 30 a second, 20 a minute per group);
    # on a 429 every request waits out retry_after, then the failed one is retried.
    limiter = AIORateLimiter(
        overall_max_rate=rate,
        group_max_rate=20 if rate else 0,
        max_retries=RETRIES,
    )
    return (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .rate_limiter(limiter)
        .concurrent_updates(ChatOrderedProcessor(64))
        .request(_http(connections=64))
        .get_updates_request(_http(connections=1))
        .build()
    )


def _http(*, connections: int) -> HTTPXRequest:
    """python-telegram-bot's own transport with Deskhand's timeouts."""
    return HTTPXRequest(
        connection_pool_size=connections,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        write_timeout=WRITE_TIMEOUT,
        pool_timeout=POOL_TIMEOUT,
    )


def default_chat(settings: Settings) -> int | None:
    """Where approvals are posted: TELEGRAM_CHAT_ID, else the first operator's private chat."""
    if settings.telegram_chat_id is not None:
        return settings.telegram_chat_id
    return settings.telegram_allowed_users[0] if settings.telegram_allowed_users else None


class TelegramChannel:
    """The Telegram front-end, a :class:`~bot.channels.ChatChannel`."""

    name = CHANNEL

    def __init__(self, runtime: Runtime, *, poll_timeout: float = 10.0) -> None:
        self._settings = runtime.settings
        self._poll_timeout = poll_timeout
        self.application = build_application(runtime.settings)
        self._notifier = TelegramNotifier(
            sender=Sender(self.application.bot),
            sessions=runtime.sessions,
            manager=runtime.manager,
            chat_id=default_chat(runtime.settings),
        )
        self.notifier: Notifier = self._notifier  # what the dispatcher sees
        self._following = TaskSet()  # runs' outcomes still to show on their cards
        deps = TelegramDeps(core=runtime.core, notifier=self._notifier, spawn=self._following.spawn)
        if self.mode == "webhook":
            replays.register(self.application, runtime.sessions)
        conversation.register(self.application, deps)
        handlers.register(self.application, deps)
        callbacks.register(self.application, deps)
        errors.register(self.application)
        self._menu = handlers.bot_commands(runtime.core)

    async def start(self) -> None:
        """Connect (getMe), publish the command menu, then poll or serve the webhook.

        Raises:
            SettingsError: Telegram refused the token.
        """
        # PTB 22 warns whenever it builds a RetryAfter (its retry_after becomes a timedelta
        # one day); Deskhand never reads that attribute, the rate limiter reads the timedelta.
        warnings.filterwarnings(
            "ignore", message=r".*`retry_after`", category=PTBDeprecationWarning
        )
        application = self.application
        try:
            await application.initialize()
            await application.bot.set_my_commands(self._menu)
            await application.start()
            await self._receive()
        except InvalidToken:
            await self.stop()
            raise SettingsError(
                "Telegram refused TELEGRAM_BOT_TOKEN. Copy the token from @BotFather again "
                "(/mybots, API Token), or unset it to run without Telegram."
            ) from None
        except BaseException:
            await self.stop()
            raise
        self._notifier.set_ready(True)
        log.info("telegram channel started", extra={"mode": self.mode})

    @property
    def mode(self) -> str:
        """``webhook`` when DESKHAND_TELEGRAM_WEBHOOK_URL is set, else ``polling``."""
        return "webhook" if self._settings.telegram_webhook_url else "polling"

    async def _receive(self) -> None:
        updater = self.application.updater
        assert updater is not None  # ApplicationBuilder always builds one unless told not to
        settings = self._settings
        if settings.telegram_webhook_url and settings.telegram_webhook_secret:
            await updater.start_webhook(
                listen=settings.telegram_webhook_listen,
                port=settings.telegram_webhook_port,
                url_path=urlsplit(settings.telegram_webhook_url).path.lstrip("/"),
                webhook_url=settings.telegram_webhook_url,
                secret_token=settings.telegram_webhook_secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
                bootstrap_retries=RETRIES,
            )
            return
        await updater.start_polling(
            poll_interval=0,
            timeout=timedelta(seconds=self._poll_timeout),
            allowed_updates=ALLOWED_UPDATES,
            bootstrap_retries=RETRIES,
            error_callback=errors.polling_failed,
        )

    async def stop(self) -> None:
        """Stop receiving, let running handlers and follow-ups finish, close connections."""
        application = self.application
        updater = application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if application.running:
            await application.stop()
        await self._following.wait(FOLLOW_UP_GRACE_S)
        self._notifier.set_ready(False)
        await application.shutdown()
        # shutdown() returns early when initialize() failed (a refused token), leaving the
        # bot's HTTP clients open; closing them again after a full shutdown does nothing.
        await application.bot.shutdown()
