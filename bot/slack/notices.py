"""The "Not sent ... [Retry]" notice in Block Kit, and what a Retry leaves. Pure.

An email given up on after its retry window is told once in the default destination with
a Retry button (``bot.core.notices``); a click on it, or on a digest's Retry, does what
``/deskhand retry <run>`` does, and the notice is updated to show the outcome.
"""

from __future__ import annotations

import re
from typing import Any

from bot.core.messages import Response, Text
from bot.core.views import RetryNotice, RunView
from bot.slack.blocks import Block, button, context, escape, mrkdwn

RETRY = "deskhand.retry"
RUN_ID = re.compile(r"r[0-9a-hjkmnp-tv-z]{1,31}")  # memory.ids.new_run_id, the button's value
NOTICE_BLOCK = "deskhand.retry_notice"
MARK = {"info": ":arrows_counterclockwise:", "ok": ":white_check_mark:", "warn": ":warning:"}


def retry_button(run_id: str) -> Block:
    """The one-tap Retry for a run's unsent email."""
    return button(f"Retry {run_id}", RETRY, run_id, "primary")


def notice_blocks(view: RetryNotice) -> list[Block]:
    """The notice: what was not sent and why, and the Retry button."""
    return [
        mrkdwn(f":x: *{escape(view.text)}*"),
        {"type": "actions", "block_id": NOTICE_BLOCK, "elements": [retry_button(view.run_id)]},
    ]


def on_notice(body: dict[str, Any]) -> bool:
    """True when a click came from a notice's own button (not a digest's Retry)."""
    actions = body.get("actions") or [{}]
    return actions[0].get("block_id") == NOTICE_BLOCK


def retried_blocks(response: Response, who: str) -> tuple[str, list[Block]]:
    """What a notice shows once its Retry was clicked: the outcome and who retried."""
    texts = [r for r in response.replies if isinstance(r, Text)]
    lines = [f"{MARK.get(t.tone, ':x:')} {escape(t.text)}" for t in texts]
    summary = " ".join(t.text for t in texts)
    return summary, [mrkdwn("\n".join(lines)), context(f"Retried by {escape(who)}")]


def retry_actions(runs: tuple[RunView, ...], limit: int = 5) -> list[Block]:
    """A row of Retry buttons for the runs listed whose email was given up on."""
    elements = [retry_button(r.id) for r in runs if r.outcome == "gave_up"][:limit]
    if not elements:
        return []
    return [{"type": "actions", "block_id": "deskhand.digest_retry", "elements": elements}]
