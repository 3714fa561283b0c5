"""Reject with a reason and Edit through modals, over HTTP: validation shown inline, the
card updated, the edited draft posted as a new card, one email (or none)."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.core.messages import Inbound, User
from memory.models import Approval, Run
from tests.bot.slack.harness import SENT, STRANGER, SlackHarness, card_text, has_buttons, ts_of
from tests.fakes.smtp import SmtpSink

REJECT, EDIT, OPEN = "deskhand.reject", "deskhand.edit", "deskhand.open"


async def opened_view(harness: SlackHarness, count: int = 1) -> dict:
    calls = await harness.fake.wait_for("views.open", count)
    return dict(calls[-1].params["view"])


def inputs(view: dict) -> dict[str, str]:
    return {
        b["block_id"]: b["element"].get("initial_value", "")
        for b in view["blocks"]
        if b["type"] == "input"
    }


async def test_reject_with_a_reason_updates_the_card_and_sends_nothing(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    approval_id, ts = await slack.new_card()
    await slack.click(REJECT, approval_id, ts)
    modal = await opened_view(slack)
    assert modal["callback_id"] == "deskhand.reject"
    meta = modal["private_metadata"]
    assert meta == f"{approval_id}|message|C0OPS|{ts}"
    answer = await slack.submit("deskhand.reject", {"reason": {"value": "budget on hold"}}, meta)
    assert (answer.status, answer.body) == (200, "")  # the modal closes at the commit
    (decision, *_) = await slack.updates_of(ts)
    assert "Rejected by" in str(decision.params) and "Reason: budget on hold" in str(
        decision.params
    )
    # Then the run's end, once it has been resumed.
    await slack.outcome_of(ts, f"Run `{await run_of(slack, approval_id)}` rejected")
    shown = card_text(slack.fake, ts)
    assert "Rejected by" in shown and "Reason: budget on hold" in shown
    assert not has_buttons(slack.fake, ts)
    async with slack.runtime.sessions() as session:
        run = await session.scalar(select(Run))
        assert run is not None and run.status == "rejected"
    assert len(slack.fake.calls_to("chat.update")) == 2
    assert smtp_sink.messages == []


async def test_reject_without_a_reason(slack: SlackHarness, smtp_sink: SmtpSink) -> None:
    approval_id, ts = await slack.new_card()
    meta = f"{approval_id}|message|C0OPS|{ts}"
    await slack.submit("deskhand.reject", {"reason": {"value": ""}}, meta)
    await slack.outcome_of(ts, f"Run `{await run_of(slack, approval_id)}` rejected")
    assert "Reason" not in card_text(slack.fake, ts)


async def test_edit_validates_inline_then_posts_the_new_draft(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    approval_id, ts = await slack.new_card()
    await slack.click(EDIT, approval_id, ts)
    modal = await opened_view(slack)
    fields = inputs(modal)
    assert fields["field.to"] == "bo@example.com"
    assert fields["field.subject"].startswith("Welcome aboard, Bo")
    meta = modal["private_metadata"]
    values = {k: {"value": v} for k, v in fields.items()}

    bad = {**values, "field.to": {"value": "not-an-address"}, "field.subject": {"value": "a\nb"}}
    answer = await slack.submit("deskhand.edit", bad, meta)
    errors = json.loads(answer.body)
    assert errors["response_action"] == "errors"
    assert set(errors["errors"]) == {"field.to", "field.subject"}
    assert "is not an email address" in errors["errors"]["field.to"]
    assert await pending_ids(slack) == [approval_id]  # nothing changed

    same = await slack.submit("deskhand.edit", values, meta)
    assert "Change something first" in same.body

    good = {**values, "field.subject": {"value": "Welcome, Bo"}}
    answer = await slack.submit("deskhand.edit", good, meta)
    assert (answer.status, answer.body) == (200, "")
    (edited,) = await slack.updates_of(ts)  # an edit waits for the run: one edit, complete
    (new_id,) = await pending_ids(slack)
    assert new_id != approval_id
    assert "Edited by" in card_text(slack.fake, ts)
    assert f"The edited draft is approval `{new_id}`" in card_text(slack.fake, ts)
    posts = await slack.fake.wait_for("chat.postMessage", 2)
    assert posts[1].params["channel"] == "C0OPS" and "Welcome, Bo" in str(posts[1].params)

    new_ts = ts_of(slack.fake, posts[1])
    await slack.click("deskhand.approve", new_id, new_ts)
    await slack.outcome_of(new_ts, "completed: Sent to")
    assert smtp_sink.wait_for(1) and len(smtp_sink.messages) == 1
    assert len(slack.fake.calls_to("chat.update")) == 1 + 2
    assert smtp_sink.messages[0]["Subject"] == "Welcome, Bo"


async def test_an_edit_after_someone_decided_is_refused_inline(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    approval_id, ts = await slack.new_card()
    await slack.click(EDIT, approval_id, ts)
    meta = (await opened_view(slack))["private_metadata"]
    await slack.runtime.core.handle(
        Inbound(User("cli", "ana", "Ana"), text=f"/approve {approval_id}")
    )
    answer = await slack.submit("deskhand.edit", {"field.subject": {"value": "Late"}}, meta)
    assert "was already approved by Ana" in json.loads(answer.body)["errors"]["field.subject"]
    await slack.updates_of(ts)  # the stale card is brought up to date
    assert "Approved by Ana" in card_text(slack.fake, ts)
    assert len(smtp_sink.messages) == 1


async def test_forged_modal_metadata_changes_nothing(slack: SlackHarness) -> None:
    approval_id, ts = await slack.new_card()
    for meta in ("", f"{approval_id}|message|#general|{ts}", "K7M2Q", f"{approval_id}||||"):
        answer = await slack.submit("deskhand.reject", {"reason": {"value": "x"}}, meta)
        assert json.loads(answer.body)["response_action"] == "errors"
    assert await pending_ids(slack) == [approval_id]


async def test_a_stranger_cannot_submit_a_modal(slack: SlackHarness) -> None:
    approval_id, ts = await slack.new_card()
    meta = f"{approval_id}|message|C0OPS|{ts}"
    answer = await slack.submit(
        "deskhand.reject", {"reason": {"value": "x"}}, meta, user_id=STRANGER
    )
    assert "not allowed" in json.loads(answer.body)["errors"]["reason"]
    assert await pending_ids(slack) == [approval_id]


async def test_review_opens_the_whole_card_and_decides_from_there(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    approval_id, ts = await slack.new_card()
    await slack.click(OPEN, approval_id, ts)
    modal = await opened_view(slack)
    assert modal["title"]["text"] == f"Approval {approval_id}"
    assert "Thank you for reaching out" in str(modal["blocks"])
    # Approve inside the modal: the modal and the card it came from both show the outcome.
    view_id = next(iter(slack.fake.views))  # the id Slack gave the opened modal
    body_view = {"id": view_id, "type": "modal", "private_metadata": modal["private_metadata"]}
    await slack.click_in_view("deskhand.approve", approval_id, body_view)
    await slack.outcome_of(ts)
    # The modal too: the decision at once, then the run's outcome, as on the card.
    decided, finished = await slack.fake.wait_for("views.update", 2)
    assert {decided.params["view_id"], finished.params["view_id"]} == {view_id}
    assert "Approved by" in str(decided.params) and SENT not in str(decided.params)
    assert "Approved by" in str(finished.params) and SENT in str(finished.params)
    assert smtp_sink.wait_for(1) and len(smtp_sink.messages) == 1


async def test_the_outcome_reaches_the_card_when_the_modal_was_closed(
    slack: SlackHarness, smtp_sink: SmtpSink
) -> None:
    approval_id, ts = await slack.new_card()
    await slack.click(OPEN, approval_id, ts)
    modal = await opened_view(slack)
    view_id = next(iter(slack.fake.views))
    body_view = {"id": view_id, "type": "modal", "private_metadata": modal["private_metadata"]}
    slack.fake.fail_next("views.update", "not_found", status=200, retry_after=None)
    await slack.click_in_view("deskhand.approve", approval_id, body_view)
    await slack.outcome_of(ts)
    assert [c.error for c in slack.fake.calls_to("views.update")] == ["not_found", None]
    assert "Approved by" in card_text(slack.fake, ts)


async def run_of(harness: SlackHarness, approval_id: str) -> str:
    async with harness.runtime.sessions() as session:
        return str(await session.scalar(select(Approval.run_id).where(Approval.id == approval_id)))


async def pending_ids(harness: SlackHarness) -> list[str]:
    async with harness.runtime.sessions() as session:
        rows = await session.scalars(select(Approval.id).where(Approval.status == "pending"))
        return list(rows)
