"""Block Kit for approval cards: pure functions from views to payloads, within Slack's limits.

Slack refuses a message with more than 50 blocks or a section text over 3,000 characters;
a header takes 150, a button label 75. Everything here is clipped or split to fit, long
email bodies are cut with a "Show full email" button, and every card has a ``text``
fallback for notifications and screen readers.
"""

from __future__ import annotations

from typing import Any

from bot.core.messages import ApprovalView, RunView

Block = dict[str, Any]

MAX_BLOCKS = 50  # per message
MAX_SURFACE_BLOCKS = 100  # per modal or App Home
MAX_TEXT = 3000  # section text
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_FIELD = 2000  # one section field

APPROVE, REJECT, EDIT, OPEN = (
    "deskhand.approve",
    "deskhand.reject",
    "deskhand.edit",
    "deskhand.open",
)
CARD_ACTIONS = "deskhand.card"  # block_id of the buttons

RISK_MARK = {
    "high": ":red_circle:",
    "medium": ":large_orange_circle:",
    "low": ":large_green_circle:",
}
OUTCOME_MARK = {
    "approved": ":white_check_mark:",
    "rejected": ":no_entry_sign:",
    "edited": ":pencil2:",
    "cancelled": ":heavy_multiplication_x:",
    "expired": ":hourglass:",
}


def escape(text: str) -> str:
    """Escape text for mrkdwn, so ``<!channel>`` or ``a < b`` in a draft stays literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, at line breaks if possible."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", limit // 2, limit)
        if cut <= 0:
            cut = rest.rfind(" ", limit // 2, limit)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest or not chunks:
        chunks.append(rest)
    return chunks


def mrkdwn(text: str) -> Block:
    """A section of mrkdwn (already escaped), clipped to Slack's limit."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_TEXT)}}


def plain(text: str) -> Block:
    """A section of literal text: no formatting, no mentions, no emoji codes."""
    return {"type": "section", "text": {"type": "plain_text", "text": clip(text, MAX_TEXT) or " "}}


def context(text: str) -> Block:
    """A small grey line of mrkdwn."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_TEXT)}]}


def header(text: str) -> Block:
    """A bold header line."""
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, MAX_HEADER)}}


def button(label: str, action_id: str, value: str, style: str | None = None) -> Block:
    """A button whose value is only an approval id: nothing secret, nothing to trust."""
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(label, MAX_BUTTON)},
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def reject_confirm() -> Block:
    """The "are you sure" dialog Slack shows before a Reject press is sent."""
    return {
        "title": {"type": "plain_text", "text": "Reject this request?"},
        "text": {"type": "plain_text", "text": "Nothing will be sent. You can add a reason next."},
        "confirm": {"type": "plain_text", "text": "Reject"},
        "deny": {"type": "plain_text", "text": "Keep it"},
        "style": "danger",
    }


def fit(blocks: list[Block], limit: int = MAX_BLOCKS) -> list[Block]:
    """Keep at most ``limit`` blocks, saying how many were left out."""
    if len(blocks) <= limit:
        return blocks
    left_out = len(blocks) - (limit - 1)
    return [*blocks[: limit - 1], context(f"\u2026 {left_out} more not shown (Slack's limit).")]


def card_blocks(
    view: ApprovalView,
    *,
    run: RunView | None = None,
    body_sections: int = 2,
    note: str = "",
    limit: int = MAX_BLOCKS,
) -> list[Block]:
    """The approval card: header, summary, the effect as it will happen, risk, buttons.

    Args:
        view: the approval as it is now; decided ones show who decided instead of buttons.
        run: the run after a decision, to say what happened next.
        body_sections: how many 3,000-character sections of the email body to show.
        note: an extra line under the outcome (e.g. where the edited version went).
        limit: at most this many blocks (50 in a message, 100 in a modal).
    """
    preview, truncated = _preview_blocks(view.preview, body_sections)
    blocks = [header(view.title), mrkdwn(escape(view.summary)), *preview]
    mark = RISK_MARK.get(view.risk, ":white_circle:")
    where = f"approval `{view.id}` \u00b7 run `{view.run_id}`"
    blocks.append(context(f"{mark} Risk *{escape(view.risk)}* \u00b7 {where}"))
    if view.status == "pending":
        blocks.append(card_buttons(view, open_label="Show full email" if truncated else None))
    else:
        blocks.append(mrkdwn(outcome_text(view, run, note)))
    return fit(blocks, limit)


def card_buttons(view: ApprovalView, *, open_label: str | None = None) -> Block:
    """Approve (primary), Reject (danger, confirmed), Edit, and optionally a button to open it."""
    buttons = [button("Approve", APPROVE, view.id, "primary")] if "approve" in view.actions else []
    if "reject" in view.actions:
        buttons.append({**button("Reject", REJECT, view.id, "danger"), "confirm": reject_confirm()})
    if "edit" in view.actions:
        buttons.append(button("Edit", EDIT, view.id))
    if open_label:
        buttons.append(button(open_label, OPEN, view.id))
    return {"type": "actions", "block_id": f"{CARD_ACTIONS}.{view.id}", "elements": buttons}


def outcome_text(view: ApprovalView, run: RunView | None = None, note: str = "") -> str:
    """``:white_check_mark: *Approved by Ana at ...*`` plus the reason and what happened next."""
    decided = view.decided_text or view.status
    mark = OUTCOME_MARK.get(view.status, ":grey_question:")
    lines = [f"{mark} *{escape(decided[:1].upper() + decided[1:])}*"]
    if view.reason:
        lines.append(f"Reason: {escape(view.reason)}")
    if run is not None and run.status != "waiting":
        lines.append(
            f"Run `{run.id}` {escape(run.status)}"
            + (f": {escape(run.detail)}" if run.detail else "")
        )
    if note:
        lines.append(note)
    return "\n".join(lines)


def card_text(view: ApprovalView) -> str:
    """The plain fallback text of a card (notifications, screen readers)."""
    if view.status == "pending":
        return clip(f"Approval needed [{view.id}]: {view.title} \u2014 {view.summary}", 300)
    return clip(f"[{view.id}] {view.title} \u2014 {view.decided_text or view.status}", 300)


def _preview_blocks(preview: dict[str, Any], body_sections: int) -> tuple[list[Block], bool]:
    if preview.get("kind") != "email":
        lines = "\n".join(
            f"*{escape(str(k))}:* {escape(str(v))}" for k, v in preview.items() if k != "kind"
        )
        chunks = split_text(lines)
        return [mrkdwn(c) for c in chunks[:body_sections]], len(chunks) > body_sections
    fields = [
        {"type": "mrkdwn", "text": clip(f"*To*\n{escape(str(preview.get('to', '')))}", MAX_FIELD)},
        {
            "type": "mrkdwn",
            "text": clip(f"*Subject*\n{escape(str(preview.get('subject', '')))}", MAX_FIELD),
        },
    ]
    body = str(preview.get("body", ""))
    chunks = split_text(body)
    blocks: list[Block] = [{"type": "section", "fields": fields}]
    blocks += [plain(c) for c in chunks[:body_sections]]
    truncated = len(chunks) > body_sections
    if truncated:
        shown = sum(len(c) for c in chunks[:body_sections])
        blocks.append(context(f"Showing the first {shown:,} of {len(body):,} characters."))
    return blocks, truncated
