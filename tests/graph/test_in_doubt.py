"""An email whose fate is unknown is shown to the operator and settled by them, never resent."""

from __future__ import annotations

from bot.core.messages import DecisionNotice, Text
from bot.runtime import Runtime
from tests.fakes.smtp import SmtpSink
from tests.fixtures.runtime import ONBOARD, card_of, say


async def lose_contact_mid_send(runtime: Runtime, smtp_sink: SmtpSink) -> str:
    card = card_of(await say(runtime, ONBOARD)).approval
    smtp_sink.drop_next()  # the server keeps the message but hangs up instead of "250"
    decided = await say(runtime, f"/approve {card.id}")
    notice = decided.replies[0]
    assert isinstance(notice, DecisionNotice)
    assert notice.run.outcome == "in_doubt"
    assert f"/resolve {card.run_id} sent" in (notice.run.detail or "")
    return card.run_id


async def test_in_doubt_is_listed_first_and_confirmed_sent(
    runtime: Runtime, smtp_sink: SmtpSink
) -> None:
    run_id = await lose_contact_mid_send(runtime, smtp_sink)
    assert len(smtp_sink.messages) == 1

    pending = await say(runtime, "/pending")
    warning = pending.replies[0]
    assert isinstance(warning, Text) and warning.tone == "warn"
    assert f"run {run_id}: to bo@example.com" in warning.text

    settled = await say(runtime, f"/resolve {run_id} sent")
    assert not settled.refused
    assert len(smtp_sink.messages) == 1
    shown = await runtime.manager.detail(run_id)
    assert shown.run.outcome == "sent" and "confirmed" in (shown.run.detail or "")
    assert "effect.resolved" in [e.kind for e in shown.events]
    assert await runtime.manager.in_doubt() == []
    again = await say(runtime, f"/resolve {run_id} sent")
    assert again.refused and "nothing in doubt" in again.replies[0].text  # type: ignore[union-attr]


async def test_resend_is_the_operators_explicit_choice(
    runtime: Runtime, smtp_sink: SmtpSink
) -> None:
    run_id = await lose_contact_mid_send(runtime, smtp_sink)
    bad = await say(runtime, f"/resolve {run_id} maybe")
    assert bad.refused and "Say sent" in bad.replies[0].text  # type: ignore[union-attr]
    settled = await say(runtime, f"/resolve {run_id} resend")
    assert not settled.refused
    assert len(smtp_sink.messages) == 2
    assert smtp_sink.messages[0]["Message-ID"] == smtp_sink.messages[1]["Message-ID"]
    assert await runtime.manager.in_doubt() == []
