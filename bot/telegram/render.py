"""Core replies as Telegram messages: HTML text, inline keyboards. Pure functions.

:func:`messages` turns a whole :class:`~bot.core.messages.Response` into the messages to
send, in order: each approval card on its own (so it can be edited later), the other
replies joined and split to Telegram's size limit without breaking HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import singledispatch

from telegram import InlineKeyboardMarkup

from bot.core.messages import (
    ApprovalCard,
    ApprovalList,
    ApprovalView,
    BatchView,
    DecisionNotice,
    DigestView,
    Help,
    Reply,
    Response,
    RunDetails,
    RunList,
    RunStarted,
    RunView,
    Text,
)
from bot.render.text import age
from bot.telegram.cards import RISK_MARK, STATUS_MARK, card, decision, open_rows
from bot.telegram.chunks import MAX_MESSAGE, alert, clip, escape, pack, split, units
from bot.telegram.digests import batch_blocks, digest_blocks, digest_rows

TONE = {"info": "", "ok": "\u2705 ", "warn": "\u26a0\ufe0f ", "error": "\u274c "}
_LINE_MAX = 300


@dataclass(frozen=True)
class Outgoing:
    """One message to send; ``approval`` is set for cards, so where they went is recorded."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None
    approval: ApprovalView | None = None


def messages(response: Response, *, now: datetime, limit: int = MAX_MESSAGE) -> list[Outgoing]:
    """Every message a response becomes, in order."""
    out: list[Outgoing] = []
    blocks: list[str] = []
    keyboard: InlineKeyboardMarkup | None = None

    def flush() -> None:
        nonlocal keyboard
        texts = pack(blocks, limit) if blocks else []
        out.extend(
            Outgoing(t, keyboard if i == len(texts) - 1 else None) for i, t in enumerate(texts)
        )
        blocks.clear()
        keyboard = None

    for reply in response.replies:
        if isinstance(reply, ApprovalCard):
            flush()
            rendered = card(reply.approval, now=now, limit=limit)
            out.append(Outgoing(rendered.html, rendered.keyboard, reply.approval))
            continue
        blocks.extend([""] if blocks else [])
        blocks.extend(render(reply, now=now, limit=limit))
        keyboard = keyboard_for(reply) or keyboard
    flush()
    return out


def refusal_alert(response: Response, *, now: datetime) -> str:
    """A short alert for a refused press: "Already approved by Ana at 14:02 UTC." or why."""
    for reply in response.replies:
        if isinstance(reply, ApprovalCard) and reply.approval.decided_text:
            return alert(f"Already {decision(reply.approval, now=now, capital=False)}.")
    texts = [r.text for r in response.replies if isinstance(r, Text)]
    return alert(" ".join(texts) or "That did not work. Send /pending to see what is waiting.")


def keyboard_for(reply: Reply) -> InlineKeyboardMarkup | None:
    """Buttons under a listing: open each approval; a digest's "Approve all low-risk"."""
    if isinstance(reply, ApprovalList):
        rows = open_rows(reply.items)
    elif isinstance(reply, BatchView):
        rows = open_rows((*reply.new, *reply.reminders))
    elif isinstance(reply, DigestView):
        rows = digest_rows(reply)
    else:
        rows = []
    return InlineKeyboardMarkup(rows) if rows else None


def render(reply: Reply, *, now: datetime, limit: int = MAX_MESSAGE) -> list[str]:
    """One reply as HTML blocks (each complete, each within ``limit``)."""
    return _render(reply, now, limit)


def _line(text: str) -> str:
    return clip(text, _LINE_MAX)[0]


@singledispatch
def _render(reply: object, now: datetime, limit: int) -> list[str]:
    raise TypeError(f"no Telegram rendering for {type(reply).__name__}")


@_render.register
def _(reply: Text, now: datetime, limit: int) -> list[str]:
    mark = TONE[reply.tone]
    first, *rest = split(reply.text, limit - units(mark))
    return [mark + first, *rest]


@_render.register
def _(reply: DecisionNotice, now: datetime, limit: int) -> list[str]:
    view = reply.approval
    mark = STATUS_MARK.get(view.status, "\u2022")
    lines = [f"{mark} <b>{view.id} {escape(decision(view, now=now, capital=False))}.</b>"]
    if view.reason:
        lines.append(f"Reason: {_line(view.reason)}")
    return lines + [_run_line(reply.run)]


@_render.register
def _(reply: RunStarted, now: datetime, limit: int) -> list[str]:
    run = reply.run
    return [
        f"\u25b6\ufe0f Started <b>{escape(run.workflow)}</b> run <code>{run.id}</code>.",
        _run_line(run),
    ]


def _run_line(run: RunView) -> str:
    if run.status == "waiting":
        return f"Run {run.id} is waiting for your approval."
    detail = f": {_line(run.detail)}" if run.detail else "."
    return f"Run {run.id} {escape(run.status)}{detail}"


@_render.register
def _(reply: ApprovalList, now: datetime, limit: int) -> list[str]:
    if not reply.items:
        return ["Nothing is waiting for you."]
    lines = [f"<b>{len(reply.items)} waiting</b> (oldest first):"]
    for view in reply.items:
        mark = RISK_MARK.get(view.risk, "\u26aa")
        lines.append(
            f"{mark} <code>{view.id}</code> {age(view.requested_at, now)} \u00b7 "
            f"<b>{_line(view.title)}</b> \u2014 {_line(view.summary)}"
        )
    lines.append("Tap one to see it, or /approve &lt;id&gt;, /reject &lt;id&gt; [reason].")
    return lines


@_render.register
def _(reply: RunList, now: datetime, limit: int) -> list[str]:
    if not reply.items:
        return ["No runs yet. Start one with /run onboarding name=\u2026 email=\u2026"]
    lines = ["<b>Recent runs</b> (newest first):"]
    for run in reply.items:
        detail = f" \u2014 {_line(run.detail)}" if run.detail else ""
        lines.append(
            f"<code>{run.id}</code> {escape(run.workflow)} \u00b7 {escape(run.status)} \u00b7 "
            f"{age(run.created_at, now)} ago{detail}"
        )
    return lines


@_render.register
def _(reply: RunDetails, now: datetime, limit: int) -> list[str]:
    run = reply.run
    detail = f" ({_line(run.detail)})" if run.detail else ""
    lines = [
        f"<b>Run {run.id}</b> \u2014 {escape(run.workflow)}, {escape(run.status)}{detail}",
        f"Started by {_line(run.started_by)} {age(run.created_at, now)} ago.",
    ]
    for view in reply.approvals:
        state = decision(view, now=now) if view.decided_text else "pending"
        lines.append(f"Approval <code>{view.id}</code>: {_line(view.title)} \u2014 {escape(state)}")
    lines += [f"Sent {_line(line)}" for line in reply.sent]
    lines.append("<b>Audit trail</b>")
    for event in reply.events:
        at = f"{event.at:%m-%d %H:%M:%S}"
        lines.append(f"<code>{at}</code> {_line(event.actor)} \u2014 {_line(event.summary)}")
    return lines


@_render.register
def _(reply: Help, now: datetime, limit: int) -> list[str]:
    lines = ["<b>Commands</b>"]
    lines += [f"{escape(usage)} \u2014 {escape(text)}" for usage, text in reply.commands]
    lines += ["", "<b>Workflows</b>"]
    for name, usage, description in reply.workflows:
        lines.append(f"<b>{escape(name)}</b>: {_line(description)}")
        lines.append(f"<code>{_line(usage)}</code>")
    return lines


@_render.register
def _(reply: DigestView, now: datetime, limit: int) -> list[str]:
    return digest_blocks(reply, now=now)


@_render.register
def _(reply: BatchView, now: datetime, limit: int) -> list[str]:
    return batch_blocks(reply, now=now)
