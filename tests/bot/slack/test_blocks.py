"""Block Kit rendering: pure functions, checked against Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.messages import ApprovalView, RunView
from bot.slack.blocks import APPROVE, EDIT, OPEN, REJECT, card_blocks, card_text, split_text
from bot.slack.surfaces import edit_modal, home_view, reject_modal, review_modal
from graph.workflows.onboarding import EMAIL_FIELDS
from tests.bot.slack.limits import problems
from tests.fixtures.views import approval_view

NOW = datetime(2026, 11, 21, 14, 2, tzinfo=UTC)


def approval(**changes: object) -> ApprovalView:
    return approval_view(now=NOW, **changes)


def long_approval() -> ApprovalView:
    body = "\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 12 for i in range(60))
    preview = {"kind": "email", "to": "a" * 240 + "@x.io", "subject": "S" * 200, "body": body}
    return approval(title="T" * 400, summary="<!channel> " + "x" * 5000, preview=preview)


def message_of(view: ApprovalView, **kwargs: object) -> dict[str, object]:
    return {"text": card_text(view), "blocks": card_blocks(view, **kwargs)}  # type: ignore[arg-type]


def buttons(blocks: list[dict]) -> list[dict]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_pending_card_has_everything_and_buttons_carry_only_the_id() -> None:
    blocks = card_blocks(approval())
    kinds = [b["type"] for b in blocks]
    assert kinds == ["header", "section", "section", "section", "context", "actions"]
    assert blocks[0]["text"]["text"] == "Send welcome email"
    assert blocks[2]["fields"][0]["text"] == "*To*\nana@example.com"
    assert blocks[3]["text"] == {"type": "plain_text", "text": "Hi Ana"}
    assert "Risk *high*" in blocks[4]["elements"][0]["text"]
    approve, reject, edit = buttons(blocks)
    assert (approve["action_id"], approve["style"]) == (APPROVE, "primary")
    assert (reject["action_id"], reject["style"]) == (REJECT, "danger")
    assert reject["confirm"]["confirm"]["text"] == "Reject"
    assert edit["action_id"] == EDIT
    assert {b["value"] for b in (approve, reject, edit)} == {"K7M2Q"}
    assert problems(message_of(approval())) == []


def test_only_offered_actions_get_buttons() -> None:
    assert [b["action_id"] for b in buttons(card_blocks(approval(actions=("approve",))))] == [
        APPROVE
    ]


def test_decided_card_shows_who_and_why_without_buttons() -> None:
    view = approval(
        status="rejected",
        decided_text="rejected by Ana at 2026-11-21 14:02 UTC",
        reason="budget <on hold>",
    )
    run = RunView("r3fk9q2xm", "onboarding", "rejected", "rejected", "Not sent", "x", NOW, NOW)
    blocks = card_blocks(view, run=run)
    assert buttons(blocks) == []
    outcome = blocks[-1]["text"]["text"]
    assert "*Rejected by Ana at 2026-11-21 14:02 UTC*" in outcome
    assert "Reason: budget &lt;on hold&gt;" in outcome
    assert "Run `r3fk9q2xm` rejected: Not sent" in outcome
    assert (
        card_text(view)
        == "[K7M2Q] Send welcome email \u2014 rejected by Ana at 2026-11-21 14:02 UTC"
    )


def test_very_long_preview_fits_a_message_and_offers_the_rest() -> None:
    view = long_approval()
    payload = message_of(view)
    assert problems(payload) == []
    blocks = payload["blocks"]
    assert isinstance(blocks, list)
    assert "&lt;!channel&gt;" in blocks[1]["text"]["text"]  # no mass mention from a draft
    assert len(blocks[0]["text"]["text"]) == 150
    assert buttons(blocks)[-1]["action_id"] == OPEN
    assert any("Showing the first" in str(b) for b in blocks)


def test_very_long_preview_is_whole_in_the_review_modal() -> None:
    view = long_approval()
    modal = review_modal(view)
    assert problems(modal, surface="modal") == []
    shown = [
        b["text"]["text"]
        for b in modal["blocks"]
        if b["type"] == "section" and b.get("text", {}).get("type") == "plain_text"
    ]
    assert "".join(shown).replace("\n", "") == view.preview["body"].replace("\n", "")
    assert OPEN not in [b["action_id"] for b in buttons(modal["blocks"])]


@pytest.mark.parametrize("sections", [1, 2, 50])
def test_limits_hold_for_any_number_of_body_sections(sections: int) -> None:
    body = "word " * 40_000  # 200,000 characters, no line breaks at all
    view = approval(preview={"kind": "email", "to": "a@b.co", "subject": "s", "body": body})
    assert problems(message_of(view, body_sections=sections)) == []


def test_non_email_previews_render_escaped() -> None:
    view = approval(preview={"kind": "invoice", "amount": "<b>12</b>"})
    blocks = card_blocks(view)
    assert "*amount:* &lt;b&gt;12&lt;/b&gt;" in str(blocks)
    assert problems(message_of(view)) == []


@pytest.mark.parametrize(
    "text", ["", "short", "x" * 3000, "x" * 3001, ("line\n" * 2000), ("y" * 2999 + "\n") * 3]
)
def test_split_text_keeps_every_chunk_under_the_limit(text: str) -> None:
    chunks = split_text(text, 3000)
    assert all(len(c) <= 3000 for c in chunks) and chunks
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")


def test_reject_and_edit_modals_fit() -> None:
    view = approval()
    reject = reject_modal(view, "K7M2Q|message|C0OPS|1.2")
    assert problems(reject, surface="modal") == []
    assert reject["private_metadata"] == "K7M2Q|message|C0OPS|1.2"
    edit = edit_modal(view, EMAIL_FIELDS, "K7M2Q|home||")
    assert problems(edit, surface="modal") == []
    inputs = {b["block_id"]: b["element"] for b in edit["blocks"] if b["type"] == "input"}
    assert inputs["field.to"]["initial_value"] == "ana@example.com"
    assert inputs["field.body"]["multiline"] is True


def test_edit_modal_does_not_offer_a_body_too_long_for_slack() -> None:
    view = long_approval()
    edit = edit_modal(view, EMAIL_FIELDS, "K7M2Q|home||")
    assert problems(edit, surface="modal") == []
    ids = [b.get("block_id") for b in edit["blocks"]]
    assert "field.body" not in ids and "field.subject" in ids
    assert "/deskhand edit K7M2Q body=" in str(edit["blocks"])


def test_home_with_many_approvals_fits_and_says_how_many_more() -> None:
    pending = [approval(id=f"A{i:04d}") for i in range(30)]
    runs = [
        RunView(f"r{i:08d}", "onboarding", "waiting", None, None, "x", NOW, NOW) for i in range(10)
    ]
    home = home_view(pending[:12], runs, more=18, now=NOW)
    assert problems(home, surface="home") == []
    assert "Waiting for you (30)" in str(home["blocks"][0])
    assert "and 18 more" in str(home["blocks"])
    assert len(buttons(home["blocks"])) == 12 * 4
