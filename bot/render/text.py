"""Plain-text rendering of core replies (terminal channel and CLI). Pure functions."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import singledispatch

from bot.core.messages import (
    ApprovalCard,
    ApprovalList,
    ApprovalView,
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
from bot.render.when import when

MARK = {"info": "", "ok": "\u2714 ", "warn": "! ", "error": "\u2718 "}
ACTION_LABELS = {"approve": "Approve", "reject": "Reject", "edit": "Edit"}


def render(reply: Reply, *, now: datetime | None = None) -> str:
    """Render one reply as plain text."""
    return _render(reply, now or datetime.now(UTC))


def numbered_actions(view: ApprovalView) -> list[str]:
    """The actions a card offers, in the order the terminal numbers them."""
    return [a for a in ("approve", "reject", "edit") if a in view.actions]


def age(since: datetime, now: datetime) -> str:
    """A short age such as ``5m`` or ``2h``."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def preview_lines(preview: dict[str, object]) -> list[str]:
    """The effect as it will happen; for email, headers then the body."""
    if preview.get("kind") == "email":
        return [
            f"To: {preview.get('to', '')}",
            f"Subject: {preview.get('subject', '')}",
            "",
            str(preview.get("body", "")),
        ]
    return [f"{k}: {v}" for k, v in preview.items() if k != "kind"]


@singledispatch
def _render(reply: object, now: datetime) -> str:
    raise TypeError(f"no text rendering for {type(reply).__name__}")


@_render.register
def _(reply: Text, now: datetime) -> str:
    return MARK[reply.tone] + reply.text


@_render.register
def _(reply: ApprovalCard, now: datetime) -> str:
    view = reply.approval
    head = f"[{view.id}] {view.title}  (risk: {view.risk}, run {view.run_id})"
    body = "\n".join(
        "  \u2502 " + line for line in "\n".join(preview_lines(view.preview)).split("\n")
    )
    lines = [head, f"  {view.summary}", body]
    if view.decided_text:
        lines.append(f"  \u2192 {view.decided_text[0].upper()}{view.decided_text[1:]}")
        if view.reason:
            lines.append(f"    Reason: {view.reason}")
    else:
        options = "  ".join(
            f"[{n}] {ACTION_LABELS[a]}" for n, a in enumerate(numbered_actions(view), 1)
        )
        lines.append(f"  {options}")
    return "\n".join(lines)


@_render.register
def _(reply: DecisionNotice, now: datetime) -> str:
    view, run = reply.approval, reply.run
    text = f"\u2714 {view.id} {view.decided_text}."
    if view.reason:
        text += f" Reason: {view.reason}"
    return text + "\n" + _run_line(run)


@_render.register
def _(reply: RunStarted, now: datetime) -> str:
    return f"\u2714 Started {reply.run.workflow} run {reply.run.id}.\n" + _run_line(reply.run)


def _run_line(run: RunView) -> str:
    if run.status == "waiting":
        return f"  Run {run.id} is waiting for your approval."
    detail = f": {run.detail}" if run.detail else ""
    return f"  Run {run.id} {run.status}{detail}"


@_render.register
def _(reply: ApprovalList, now: datetime) -> str:
    if not reply.items:
        return "Nothing is waiting for you."
    lines = [f"{len(reply.items)} waiting (oldest first):"]
    for view in reply.items:
        lines.append(
            f"  {view.id}  {view.risk:<6} {age(view.requested_at, now):>4}  "
            f"{view.title} \u2014 {view.summary}"
        )
    lines.append("Approve with /approve <id>, reject with /reject <id> [reason].")
    return "\n".join(lines)


@_render.register
def _(reply: RunList, now: datetime) -> str:
    if not reply.items:
        return "No runs yet. Start one with /run onboarding name=... email=..."
    lines = ["Recent runs (newest first):"]
    for run in reply.items:
        lines.append(
            f"  {run.id}  {run.workflow:<11} {run.status:<9} "
            f"{age(run.created_at, now):>4} ago  {run.detail or ''}".rstrip()
        )
    return "\n".join(lines)


@_render.register
def _(reply: RunDetails, now: datetime) -> str:
    run = reply.run
    lines = [
        f"Run {run.id} \u2014 {run.workflow}, {run.status}"
        + (f" ({run.detail})" if run.detail else ""),
        f"  started by {run.started_by} {age(run.created_at, now)} ago",
    ]
    for view in reply.approvals:
        state = view.decided_text or "pending"
        lines.append(f"  approval {view.id}: {view.title} \u2014 {state}")
    for line in reply.sent:
        lines.append(f"  sent {line}")
    lines.append("  Audit trail:")
    for event in reply.events:
        lines.append(f"    {event.at:%Y-%m-%d %H:%M:%S}  {event.actor:<22} {event.summary}")
    return "\n".join(lines)


@_render.register
def _(reply: Help, now: datetime) -> str:
    width = max(len(usage) for usage, _ in reply.commands)
    lines = ["Commands:"]
    lines += [f"  {usage:<{width}}  {text}" for usage, text in reply.commands]
    lines.append("Workflows:")
    for name, usage, description in reply.workflows:
        lines.append(f"  {name}: {description}\n    {usage}")
    return "\n".join(lines)


@_render.register
def _(reply: DigestView, now: datetime) -> str:
    if reply.empty:
        return (
            "Digest: a quiet day \u2014 nothing failed, nothing waits, nothing new since "
            f"{when(reply.period_start, now=now, zone=reply.zone)}."
        )
    lines = [f"Digest (since {when(reply.period_start, now=now, zone=reply.zone)})"]
    if reply.attention_total:
        lines.append("Needs attention:")
        lines += [
            f"  \u2718 run {r.id} ({r.workflow}) failed: {r.detail or r.outcome}"
            for r in reply.failed
        ]
        lines += [
            f"  ? email to {d.to} \u201c{d.subject}\u201d may not have gone out: "
            f"/resolve {d.run_id} sent|resend"
            for d in reply.in_doubt
        ]
        lines += [f"  \u23f3 run {r.id} ({r.workflow}): {r.detail}" for r in reply.not_sent]
        hidden = reply.attention_total - reply.attention_shown
        if hidden:
            lines.append(f"  \u2026 and {hidden} more")
    if reply.waiting_total:
        lines.append(f"Waiting for you ({reply.waiting_total}, oldest first):")
        for view in reply.waiting:
            expiry = (
                f", expires {when(view.expires_at, now=now, zone=reply.zone)}"
                if view.expires_at
                else ""
            )
            lines.append(
                f"  {view.id}  {view.risk:<6} {age(view.requested_at, now):>4}{expiry}  "
                f"{view.title} \u2014 {view.summary}"
            )
        if reply.waiting_total > len(reply.waiting):
            lines.append(f"  \u2026 and {reply.waiting_total - len(reply.waiting)} more: /pending")
        if reply.low_risk_ids:
            lines.append(
                f"  Approve all {len(reply.low_risk_ids)} low-risk ones shown: "
                f"/approvelow {reply.key}"
            )
    if reply.completed_total:
        lines.append(f"Done since the last digest ({reply.completed_total}):")
        lines += [
            f"  {r.id}  {r.workflow:<11} {r.status}: {r.detail or ''}".rstrip()
            for r in reply.completed
        ]
        if reply.completed_total > len(reply.completed):
            lines.append(f"  \u2026 and {reply.completed_total - len(reply.completed)} more: /runs")
    if reply.scheduled:
        lines.append("Next:")
        lines += [
            f"  {when(item.at, now=now, zone=reply.zone)}  {item.what}" for item in reply.scheduled
        ]
    return "\n".join(lines)


@_render.register
def _(reply: BatchView, now: datetime) -> str:
    lines = []
    if reply.new:
        lines.append(f"{len(reply.new)} request(s) since the last batch:")
        lines += [f"  {v.id}  {v.risk:<6} {v.title} \u2014 {v.summary}" for v in reply.new]
    if reply.reminders:
        lines.append("Still waiting (reminder):")
        lines += [
            f"  {v.id}  {v.risk:<6} {age(v.requested_at, now):>4}  {v.title}"
            for v in reply.reminders
        ]
    lines.append("Approve with /approve <id>, reject with /reject <id> [reason].")
    return "\n".join(lines)
