"""Block Kit for the daily digest and for batches of held-back requests: pure functions.

A digest lists exceptions first, then what waits (each with a Review button), what was
done and what comes next; "Approve all low-risk" approves the low-risk requests it showed
(its button carries only the digest's key).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, tzinfo

from bot.core.views import ApprovalView, BatchView, DigestView
from bot.render.text import age
from bot.render.when import when
from bot.slack.blocks import (
    OPEN,
    RISK_MARK,
    Block,
    button,
    clip,
    context,
    escape,
    header,
    mrkdwn,
    split_text,
)
from bot.slack.notices import retry_actions

APPROVE_LOW = "deskhand.approve_low"
DIGEST_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9:_-]{0,59}")  # digest:2026-11-21, now:...:sl
ITEMS = 25  # a section per waiting request, so a digest stays within 50 blocks


def digest_blocks(view: DigestView, now: datetime) -> list[Block]:
    """The digest: what needs attention, what waits, what was done, what comes next."""
    span = f"since {when(view.period_start, now=now, zone=view.zone)}"
    if view.empty:
        return [
            mrkdwn(f":clipboard: *Digest* ({span}): a quiet day. Nothing failed, nothing waits.")
        ]
    blocks = [header("Digest"), context(span)]
    if view.attention_total:
        lines = [
            f":x: run `{r.id}` ({escape(r.workflow)}) failed: {escape(r.detail or r.outcome or '')}"
            for r in view.failed
        ]
        lines += [
            f":grey_question: email to {escape(d.to)} \u201c{escape(d.subject)}\u201d may not have "
            f"gone out: `/deskhand resolve {d.run_id} sent|resend`"
            for d in view.in_doubt
        ]
        lines += [
            f":hourglass: run `{r.id}` ({escape(r.workflow)}): {escape(r.detail or '')}"
            for r in view.not_sent
        ]
        hidden = view.attention_total - view.attention_shown
        lines += [f"\u2026 and {hidden} more"] if hidden else []
        blocks += _section("*Needs attention*", lines)
        blocks += retry_actions(view.not_sent)
    if view.waiting_total:
        blocks.append(mrkdwn(f"*Waiting for you* ({view.waiting_total}, oldest first)"))
        blocks += items(view.waiting, now, view.zone)
        if view.waiting_total > len(view.waiting[:ITEMS]):
            more = view.waiting_total - len(view.waiting[:ITEMS])
            blocks.append(context(f"\u2026 and {more} more: `/deskhand pending`"))
        low = view.low_risk_ids
        if low and DIGEST_KEY.fullmatch(view.key):
            approve = button(f"Approve all {len(low)} low-risk", APPROVE_LOW, view.key, "primary")
            approve["confirm"] = _confirm(len(low))
            blocks.append({"type": "actions", "block_id": "deskhand.digest", "elements": [approve]})
    if view.completed_total:
        lines = [
            f"`{r.id}` {escape(r.workflow)} \u00b7 {escape(r.status)}"
            + (f": {escape(r.detail)}" if r.detail else "")
            for r in view.completed
        ]
        if view.completed_total > len(view.completed):
            lines.append(
                f"\u2026 and {view.completed_total - len(view.completed)} more: `/deskhand runs`"
            )
        blocks += _section(f"*Done since the last digest* ({view.completed_total})", lines)
    if view.scheduled:
        lines = [
            f"{when(item.at, now=now, zone=view.zone)} \u00b7 {escape(item.what)}"
            for item in view.scheduled
        ]
        blocks += _section("*Next*", lines)
    return blocks


def batch_blocks(view: BatchView, now: datetime) -> list[Block]:
    """Requests held for this batch, then reminders of older ones still waiting."""
    blocks: list[Block] = []
    if view.new:
        blocks.append(mrkdwn(f":inbox_tray: *{len(view.new)} request(s)* since the last batch"))
        blocks += items(view.new, now, view.zone)
    if view.reminders:
        blocks.append(mrkdwn(":alarm_clock: *Still waiting* (reminder)"))
        blocks += items(view.reminders, now, view.zone)
    return blocks


def items(views: Sequence[ApprovalView], now: datetime, zone: tzinfo) -> list[Block]:
    """One line per request, with a Review button that opens it."""
    return [
        mrkdwn(
            f"{RISK_MARK.get(v.risk, ':white_circle:')} `{v.id}` *{escape(v.title)}* \u00b7 "
            f"{age(v.requested_at, now)}"
            + (f" \u00b7 expires {when(v.expires_at, now=now, zone=zone)}" if v.expires_at else "")
            + f"\n{escape(clip(v.summary, 500))}"
        )
        | {"accessory": button("Review", OPEN, v.id)}
        for v in views[:ITEMS]
    ]


def _section(title: str, lines: list[str]) -> list[Block]:
    return [mrkdwn(chunk) for chunk in split_text("\n".join([title, *lines]))]


def _confirm(count: int) -> Block:
    return {
        "title": {"type": "plain_text", "text": "Approve them all?"},
        "text": {
            "type": "plain_text",
            "text": f"The {count} low-risk request(s) shown here go ahead at once.",
        },
        "confirm": {"type": "plain_text", "text": "Approve all"},
        "deny": {"type": "plain_text", "text": "Not now"},
    }
