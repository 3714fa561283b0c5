"""The dispatcher's way into Slack: post new approval cards, edit stale ones, tell of an
email given up on; and the attention service's: batches of held-back requests and the
daily digest.

Everything goes to ``SLACK_CHANNEL`` or, when it is unset, to a DM with the first operator
in ``SLACK_ALLOWED_USERS``. After each post or edit App Home is refreshed for operators.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.delivery import MessageRef
from bot.core.messages import ApprovalView, BatchView, DigestView, RunView
from bot.core.views import RetryNotice
from bot.settings import Settings
from bot.slack.blocks import card_blocks, card_text
from bot.slack.notices import notice_blocks
from bot.slack.replies import Message, message

log = logging.getLogger(__name__)

# chat.update errors for a message that is gone for good: nothing left to refresh.
GONE = frozenset({"message_not_found", "cant_update_message", "channel_not_found"})


class SlackNotifier:
    """Implements :class:`bot.core.delivery.Notifier` for Slack."""

    channel = "slack"

    def __init__(
        self, *, client: AsyncWebClient, settings: Settings, on_change: Callable[[], None]
    ) -> None:
        self._client = client
        self._channel = settings.slack_channel
        self._operators = list(settings.slack_allowed_users)
        self._on_change = on_change
        self._destination: str | None = None
        self._warned = False

    async def destination(self) -> str | None:
        """The channel id cards are posted to by default; None when there is nowhere."""
        if self._destination is None:
            if self._channel:
                self._destination = self._channel
            elif self._operators:
                opened = await self._client.conversations_open(users=self._operators[0])
                self._destination = str(opened["channel"]["id"])
        return self._destination

    async def post_approval(self, view: ApprovalView) -> MessageRef | None:
        """Post a pending card to the default destination."""
        target = await self.destination()
        if target is None:
            if not self._warned:
                log.warning("no Slack destination: set SLACK_CHANNEL or SLACK_ALLOWED_USERS")
                self._warned = True
            return None
        posted = await self._client.chat_postMessage(
            channel=target,
            text=card_text(view),
            blocks=card_blocks(view),
            unfurl_links=False,
            unfurl_media=False,
        )
        # SLACK_CHANNEL may be a name (#ops); Slack answers with the id, which refs need.
        self._destination = str(posted["channel"])
        self._on_change()
        return MessageRef(self.channel, self._destination, str(posted["ts"]))

    async def post_retry(self, view: RetryNotice) -> MessageRef | None:
        """Post "Not sent ... [Retry]" for an email given up on to the default destination."""
        target = await self.destination()
        if target is None:
            return None
        posted = await self._client.chat_postMessage(
            channel=target, text=view.text, blocks=notice_blocks(view), unfurl_links=False
        )
        self._destination = str(posted["channel"])
        return MessageRef(self.channel, self._destination, str(posted["ts"]))

    async def post_batch(self, view: BatchView) -> None:
        """Post a batch of held-back requests (and reminders) to the default destination."""
        await self._post(message([view]))

    async def post_digest(self, view: DigestView) -> None:
        """Post the digest to the default destination."""
        await self._post(message([view]))

    async def _post(self, msg: Message) -> None:
        target = await self.destination()
        if target is None:
            log.warning("no Slack destination: set SLACK_CHANNEL or SLACK_ALLOWED_USERS")
            return
        await self._client.chat_postMessage(
            channel=target, text=msg.text, blocks=msg.blocks, unfurl_links=False
        )
        self._on_change()

    async def refresh_approval(
        self, view: ApprovalView, ref: MessageRef, run: RunView | None = None
    ) -> None:
        """Edit a card to show the approval (and its run) as it is now."""
        try:
            await self._client.chat_update(
                channel=ref.chat_id,
                ts=ref.message_id,
                text=card_text(view),
                blocks=card_blocks(view, run=run),
            )
        except SlackApiError as exc:
            if exc.response.get("error") not in GONE:
                raise
            log.info("card to refresh is gone", extra={"approval_id": view.id})
        self._on_change()
