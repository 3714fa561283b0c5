"""Block Kit for modals and the App Home tab: pure functions, within Slack's limits.

Modals and Home take 100 blocks; a modal title 24 characters; a text input at most
3,000 characters, so an email body longer than that is shown, not offered for editing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.core.messages import ApprovalView, RunView
from bot.render.text import age
from bot.slack.blocks import (
    MAX_SURFACE_BLOCKS,
    RISK_MARK,
    Block,
    card_blocks,
    card_buttons,
    clip,
    context,
    escape,
    fit,
    header,
    mrkdwn,
    split_text,
)
from graph.spec import Field

REJECT_CALLBACK, EDIT_CALLBACK = "deskhand.reject", "deskhand.edit"
REASON_BLOCK, FIELD_BLOCK, VALUE = "reason", "field.", "value"
MAX_INPUT = 3000
MAX_REASON = 1000
HOME_APPROVALS = 12
LABELS = {"to": "Recipient", "subject": "Subject", "body": "Body"}
MULTILINE = frozenset({"body", "need"})


def modal(
    title: str,
    blocks: list[Block],
    *,
    callback_id: str = "deskhand.notice",
    submit: str | None = None,
    close: str = "Close",
    metadata: str = "",
) -> dict[str, Any]:
    """A modal view; without ``submit`` it only has a close button."""
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": clip(title, 24)},
        "close": {"type": "plain_text", "text": clip(close, 24)},
        "blocks": fit(blocks, MAX_SURFACE_BLOCKS),
        "private_metadata": metadata,
    }
    if submit:
        view["submit"] = {"type": "plain_text", "text": clip(submit, 24)}
    return view


def notice_modal(text: str) -> dict[str, Any]:
    """A short explanation, for clicks in App Home where no ephemeral message can go."""
    return modal("Deskhand", [mrkdwn(text)])


def review_modal(
    view: ApprovalView, metadata: str = "", *, run: RunView | None = None
) -> dict[str, Any]:
    """The whole card with the full email (up to 100 blocks), buttons while it is pending.

    ``metadata`` says where the card it was opened from is, so a press in here can
    update that card too; ``run`` is the run after a decision, as on the card.
    """
    blocks = card_blocks(view, run=run, body_sections=MAX_SURFACE_BLOCKS, limit=MAX_SURFACE_BLOCKS)
    return modal(f"Approval {view.id}", blocks, metadata=metadata)


def reject_modal(view: ApprovalView, metadata: str) -> dict[str, Any]:
    """Ask for an optional reason before rejecting."""
    reason: Block = {
        "type": "input",
        "block_id": REASON_BLOCK,
        "optional": True,
        "label": {"type": "plain_text", "text": "Reason (optional)"},
        "hint": {"type": "plain_text", "text": "Kept in the audit trail with the rejection."},
        "element": {
            "type": "plain_text_input",
            "action_id": VALUE,
            "multiline": True,
            "max_length": MAX_REASON,
        },
    }
    blocks = [
        mrkdwn(f"*{escape(view.title)}*\n{escape(view.summary)}\nNothing will be sent."),
        reason,
    ]
    return modal(
        f"Reject {view.id}",
        blocks,
        callback_id=REJECT_CALLBACK,
        submit="Reject",
        close="Cancel",
        metadata=metadata,
    )


def edit_modal(view: ApprovalView, fields: Sequence[Field], metadata: str) -> dict[str, Any]:
    """The editable fields, pre-filled; the edited draft comes back as a new approval."""
    blocks = [context(f"Your changes come back as a new card to approve. ({escape(view.title)})")]
    for field in fields:
        current = str(view.preview.get(field.name, ""))
        if len(current) > MAX_INPUT:
            blocks.append(
                mrkdwn(
                    f"*{LABELS.get(field.name, field.name)}* is {len(current):,} characters, more "
                    f"than a Slack form holds; change it with "
                    f'`/deskhand edit {view.id} {field.name}="..."`.'
                )
            )
            continue
        element: Block = {
            "type": "plain_text_input",
            "action_id": VALUE,
            "multiline": field.name in MULTILINE,
            "max_length": MAX_INPUT,
        }
        if current:
            element["initial_value"] = current
        blocks.append(
            {
                "type": "input",
                "block_id": FIELD_BLOCK + field.name,
                "label": {"type": "plain_text", "text": LABELS.get(field.name, field.name.title())},
                "optional": not field.required,
                "hint": {"type": "plain_text", "text": clip(field.help, 150)},
                "element": element,
            }
        )
    return modal(
        f"Edit {view.id}",
        blocks,
        callback_id=EDIT_CALLBACK,
        submit="Save draft",
        close="Cancel",
        metadata=metadata,
    )


def home_view(
    pending: Sequence[ApprovalView], runs: Sequence[RunView], *, more: int, now: datetime
) -> dict[str, Any]:
    """App Home: approvals waiting (with their buttons), then the latest runs."""
    count = len(pending) + more
    blocks: list[Block] = [header(f"Waiting for you ({count})" if count else "Nothing waiting")]
    if not pending:
        blocks.append(mrkdwn("New approvals show up here and in your Deskhand messages."))
    for view in pending[:HOME_APPROVALS]:
        to = view.preview.get("to")
        line = f"*{escape(view.title)}* \u00b7 `{view.id}`\n{escape(view.summary)}"
        blocks.append(mrkdwn(line + (f"\n_To {escape(str(to))}_" if to else "")))
        mark = RISK_MARK.get(view.risk, ":white_circle:")
        blocks.append(
            context(
                f"{mark} Risk *{escape(view.risk)}* \u00b7 waiting {age(view.requested_at, now)}"
            )
        )
        blocks.append(card_buttons(view, open_label="Review"))
        blocks.append({"type": "divider"})
    hidden = count - min(len(pending), HOME_APPROVALS)
    if hidden > 0:
        blocks.append(context(f"\u2026 and {hidden} more: `/deskhand pending` lists them all."))
    blocks.append(header("Recent runs"))
    lines = [
        f"`{run.id}` {escape(run.workflow)} \u00b7 *{escape(run.status)}* \u00b7 "
        f"{age(run.created_at, now)} ago" + (f" \u00b7 {escape(run.detail)}" if run.detail else "")
        for run in runs
    ]
    chunks = split_text("\n".join(lines)) if lines else ["No runs yet: `/deskhand run ...`"]
    blocks += [mrkdwn(chunk) for chunk in chunks]
    blocks.append(context(f"Updated {now:%Y-%m-%d %H:%M} UTC \u00b7 `/deskhand help` for commands"))
    return {"type": "home", "blocks": fit(blocks, MAX_SURFACE_BLOCKS)}


def stranger_home(user_id: str, setting: str) -> dict[str, Any]:
    """App Home for someone who is not an operator: no approvals, just how to get access."""
    text = (
        "Deskhand's approvals are private to its operators. Your Slack id is "
        f"`{escape(user_id)}`; an operator can add it to `{setting}`."
    )
    return {"type": "home", "blocks": [header("Deskhand"), mrkdwn(text)]}
