"""Block Kit for the core's other replies (text, help, lists, runs): pure functions.

The core speaks in chat commands (``/approve K7M2Q``); in Slack those are typed after
``/deskhand``, so command names in its text are rewritten to match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import singledispatch

from bot.core.help import COMMANDS
from bot.core.messages import (
    ApprovalCard,
    ApprovalList,
    BatchView,
    DecisionNotice,
    DigestView,
    Help,
    Reply,
    RunDetails,
    RunList,
    RunStarted,
    RunView,
    Text,
)
from bot.render.text import age
from bot.slack.blocks import (
    OPEN,
    RISK_MARK,
    Block,
    button,
    card_blocks,
    clip,
    context,
    escape,
    fit,
    mrkdwn,
    outcome_text,
    split_text,
)
from bot.slack.digests import batch_blocks, digest_blocks

TONE_MARK = {"info": "", "ok": ":white_check_mark: ", "warn": ":warning: ", "error": ":x: "}
_NAMES = "|".join(
    sorted({usage.split()[0].lstrip("/") for usage, _ in COMMANDS} | {"start", "approvelow"})
)
_COMMAND = re.compile(rf"(?<![\w/]){re.escape('/')}({_NAMES})\b")


@dataclass(frozen=True)
class Message:
    """One Slack message: blocks and the plain fallback text."""

    text: str
    blocks: list[Block]


def slack_commands(text: str) -> str:
    """``/approve K7M2Q`` becomes ``/deskhand approve K7M2Q``."""
    return _COMMAND.sub(r"/deskhand \1", text)


def message(replies: Sequence[Reply], *, now: datetime | None = None) -> Message:
    """Render replies into one message of at most 50 blocks."""
    moment = now or datetime.now(UTC)
    blocks: list[Block] = []
    texts: list[str] = []
    for reply in replies:
        blocks += _blocks(reply, moment)
        texts.append(_fallback(reply))
    return Message(clip(" ".join(t for t in texts if t), 3000) or "Deskhand", fit(blocks))


def texts(replies: Iterable[Reply]) -> str:
    """The plain text of the ``Text`` replies (for modal errors and notices)."""
    return " ".join(slack_commands(r.text) for r in replies if isinstance(r, Text))


def _fallback(reply: Reply) -> str:
    if isinstance(reply, Text):
        return slack_commands(reply.text)
    if isinstance(reply, (ApprovalCard, DecisionNotice)):
        return f"[{reply.approval.id}] {reply.approval.title}"
    if isinstance(reply, RunStarted):
        return f"Started {reply.run.workflow} run {reply.run.id}."
    if isinstance(reply, ApprovalList):
        return f"{len(reply.items)} approval(s) waiting."
    if isinstance(reply, RunList):
        return f"{len(reply.items)} recent run(s)."
    if isinstance(reply, RunDetails):
        return f"Run {reply.run.id}: {reply.run.status}."
    if isinstance(reply, DigestView):
        return f"Digest: {reply.waiting_total} waiting, {reply.failed_total} failed."
    if isinstance(reply, BatchView):
        return f"{len(reply.new)} new request(s), {len(reply.reminders)} reminder(s)."
    return "Deskhand commands and workflows."


@singledispatch
def _blocks(reply: object, now: datetime) -> list[Block]:
    raise TypeError(f"no Slack rendering for {type(reply).__name__}")


@_blocks.register
def _(reply: Text, now: datetime) -> list[Block]:
    return [mrkdwn(TONE_MARK[reply.tone] + escape(slack_commands(reply.text)))]


@_blocks.register
def _(reply: ApprovalCard, now: datetime) -> list[Block]:
    return card_blocks(reply.approval)


@_blocks.register
def _(reply: DecisionNotice, now: datetime) -> list[Block]:
    view = reply.approval
    return [mrkdwn(f"*{escape(view.title)}* (`{view.id}`)\n{outcome_text(view, reply.run)}")]


@_blocks.register
def _(reply: RunStarted, now: datetime) -> list[Block]:
    run = reply.run
    return [mrkdwn(f":rocket: Started *{escape(run.workflow)}* run `{run.id}`. {_run_line(run)}")]


def _run_line(run: RunView) -> str:
    if run.status == "waiting":
        return "It is waiting for your approval."
    return f"It is {escape(run.status)}" + (f": {escape(run.detail)}" if run.detail else ".")


@_blocks.register
def _(reply: ApprovalList, now: datetime) -> list[Block]:
    if not reply.items:
        return [mrkdwn("Nothing is waiting for you. :tada:")]
    blocks = [mrkdwn(f"*{len(reply.items)} waiting* (oldest first)")]
    for view in reply.items:
        mark = RISK_MARK.get(view.risk, ":white_circle:")
        line = (
            f"{mark} `{view.id}` *{escape(view.title)}* \u00b7 {age(view.requested_at, now)}\n"
            f"{escape(view.summary)}"
        )
        blocks.append(mrkdwn(line) | {"accessory": button("Review", OPEN, view.id)})
    blocks.append(context("Or type `/deskhand approve <id>`, `/deskhand reject <id> [reason]`."))
    return blocks


@_blocks.register
def _(reply: RunList, now: datetime) -> list[Block]:
    if not reply.items:
        return [mrkdwn("No runs yet. Start one with `/deskhand run onboarding name=... email=...`")]
    lines = [
        f"`{run.id}` {escape(run.workflow)} \u00b7 *{escape(run.status)}* \u00b7 "
        f"{age(run.created_at, now)} ago" + (f" \u00b7 {escape(run.detail)}" if run.detail else "")
        for run in reply.items
    ]
    return [mrkdwn("*Recent runs* (newest first)"), *map(mrkdwn, split_text("\n".join(lines)))]


@_blocks.register
def _(reply: RunDetails, now: datetime) -> list[Block]:
    run = reply.run
    head = f"*Run `{run.id}`* \u2014 {escape(run.workflow)}, *{escape(run.status)}*"
    lines = [head + (f" ({escape(run.detail)})" if run.detail else "")]
    lines.append(f"Started by {escape(run.started_by)} {age(run.created_at, now)} ago")
    for view in reply.approvals:
        state = escape(view.decided_text or "pending")
        lines.append(f"Approval `{view.id}`: {escape(view.title)} \u2014 {state}")
    lines += [f"Sent {escape(line)}" for line in reply.sent]
    trail = "\n".join(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<22} {e.summary}" for e in reply.events)
    blocks = [mrkdwn("\n".join(lines)), mrkdwn("*Audit trail*")]
    blocks += [mrkdwn(f"```{escape(chunk)}```") for chunk in split_text(trail, 2600)]
    return blocks


@_blocks.register
def _(reply: Help, now: datetime) -> list[Block]:
    commands = "\n".join(
        f"`/deskhand {escape(usage.lstrip('/'))}` \u2014 {escape(text)}"
        for usage, text in reply.commands
    )
    workflows = "\n".join(
        f"*{escape(name)}*: {escape(description)}\n`{escape(slack_commands(usage))}`"
        for name, usage, description in reply.workflows
    )
    return [
        mrkdwn("*Commands* (also work in a DM with me, without `/deskhand`)"),
        *map(mrkdwn, split_text(commands)),
        mrkdwn("*Workflows*"),
        *map(mrkdwn, split_text(workflows or "None installed.")),
    ]


@_blocks.register
def _(reply: DigestView, now: datetime) -> list[Block]:
    return digest_blocks(reply, now)


@_blocks.register
def _(reply: BatchView, now: datetime) -> list[Block]:
    return batch_blocks(reply, now)
