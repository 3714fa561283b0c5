"""Batches and digests as Telegram HTML, with their buttons. Pure: data in, payload out.

The attention service holds low- and medium-risk requests back for a batch, and sends a
daily digest, exceptions first. Both list requests with a button that brings up a card; a
digest also offers "Approve all low-risk" for the low-risk requests it showed.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from telegram import InlineKeyboardButton

from bot.core.messages import ApprovalView, BatchView, DigestView
from bot.render.text import age
from bot.render.when import when
from bot.telegram.callback_data import Press
from bot.telegram.cards import RISK_MARK, button, open_rows
from bot.telegram.chunks import clip, escape
from bot.telegram.notices import retry_rows

_LINE_MAX = 300


def _line(text: str) -> str:
    return clip(text, _LINE_MAX)[0]


def _item(view: ApprovalView, now: datetime, zone: tzinfo) -> str:
    expiry = f", expires {when(view.expires_at, now=now, zone=zone)}" if view.expires_at else ""
    mark = RISK_MARK.get(view.risk, "\u26aa")
    return (
        f"{mark} <code>{view.id}</code> {age(view.requested_at, now)}{expiry} \u00b7 "
        f"<b>{_line(view.title)}</b> \u2014 {_line(view.summary)}"
    )


def digest_blocks(view: DigestView, *, now: datetime) -> list[str]:
    """The digest: what needs attention, what waits, what was done, what comes next."""
    span = f"since {when(view.period_start, now=now, zone=view.zone)}"
    if view.empty:
        return [f"\U0001f4cb <b>Digest</b> ({span}): a quiet day. Nothing failed, nothing waits."]
    lines = [f"\U0001f4cb <b>Digest</b> ({span})"]
    if view.attention_total:
        lines += ["", "<b>Needs attention</b>"]
        lines += [
            f"\u274c run <code>{r.id}</code> ({escape(r.workflow)}) failed: "
            f"{_line(r.detail or r.outcome or '')}"
            for r in view.failed
        ]
        lines += [
            f"\u2753 email to {_line(d.to)} \u201c{_line(d.subject)}\u201d may not have gone "
            f"out: /resolve {d.run_id} sent|resend"
            for d in view.in_doubt
        ]
        lines += [
            f"\u23f3 run <code>{r.id}</code> ({escape(r.workflow)}): {_line(r.detail or '')}"
            for r in view.not_sent
        ]
        if view.attention_total > view.attention_shown:
            lines.append(f"\u2026 and {view.attention_total - view.attention_shown} more")
    if view.waiting_total:
        lines += ["", f"<b>Waiting for you</b> ({view.waiting_total}, oldest first)"]
        lines += [_item(item, now, view.zone) for item in view.waiting]
        if view.waiting_total > len(view.waiting):
            lines.append(f"\u2026 and {view.waiting_total - len(view.waiting)} more: /pending")
        if view.low_risk_ids:
            lines.append(
                f"Approve all {len(view.low_risk_ids)} low-risk ones shown with the button "
                f"below, or /approvelow {escape(view.key)}"
            )
    if view.completed_total:
        lines += ["", f"<b>Done since the last digest</b> ({view.completed_total})"]
        lines += [
            f"<code>{r.id}</code> {escape(r.workflow)} \u00b7 {escape(r.status)}"
            + (f": {_line(r.detail)}" if r.detail else "")
            for r in view.completed
        ]
        if view.completed_total > len(view.completed):
            lines.append(f"\u2026 and {view.completed_total - len(view.completed)} more: /runs")
    if view.scheduled:
        lines += ["", "<b>Next</b>"]
        lines += [
            f"{when(item.at, now=now, zone=view.zone)} \u00b7 {_line(item.what)}"
            for item in view.scheduled
        ]
    return lines


def digest_rows(view: DigestView) -> list[list[InlineKeyboardButton]]:
    """Approve all the low-risk shown (if any), Retry each email given up on, open each request."""
    rows = []
    low = view.low_risk_ids
    try:
        if low:
            rows.append([button(f"\u2705 Approve all {len(low)} low-risk", Press("low", view.key))])
    except ValueError:
        pass  # a key that does not fit in callback data: /approvelow, in the text, still works
    return rows + retry_rows(view.not_sent) + open_rows(view.waiting)


def batch_blocks(view: BatchView, *, now: datetime) -> list[str]:
    """Requests held for this batch, then reminders of older ones still waiting."""
    lines = []
    if view.new:
        lines.append(f"\U0001f4e5 <b>{len(view.new)} request(s)</b> since the last batch:")
        lines += [_item(item, now, view.zone) for item in view.new]
    if view.reminders:
        lines.append("\u23f0 <b>Still waiting</b> (reminder):")
        lines += [_item(item, now, view.zone) for item in view.reminders]
    lines.append("Tap one to see it and decide.")
    return lines
