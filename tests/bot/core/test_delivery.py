"""The dispatcher: each approval reaches each channel once; stale cards get refreshed."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.delivery import Dispatcher, MessageRef, edit_card, record_shown
from bot.core.messages import ApprovalView, RunView
from bot.runtime import Runtime
from memory import deliveries
from tests.fixtures.runtime import ONBOARD, card_of, say


class RecordingNotifier:
    """A notifier that keeps cards in a list, the way a chat would show them."""

    def __init__(self, channel: str, *, destination: bool = True) -> None:
        self.channel = channel
        self.destination = destination
        self.posted: list[ApprovalView] = []
        self.refreshed: list[tuple[str, str]] = []

    async def post_approval(self, view: ApprovalView) -> MessageRef | None:
        if not self.destination:
            return None
        self.posted.append(view)
        return MessageRef(self.channel, "chat-1", str(len(self.posted)))

    async def refresh_approval(
        self, view: ApprovalView, ref: MessageRef, run: RunView | None = None
    ) -> None:
        self.refreshed.append((ref.message_id, view.status))


async def test_each_approval_posted_once_per_channel_and_refreshed(runtime: Runtime) -> None:
    tg, sl = RecordingNotifier("telegram"), RecordingNotifier("slack")
    first = Dispatcher(sessions=runtime.sessions, manager=runtime.manager, notifiers=[tg, sl])
    # A second replica with its own notifiers shares the same database.
    tg2, sl2 = RecordingNotifier("telegram"), RecordingNotifier("slack")
    second = Dispatcher(sessions=runtime.sessions, manager=runtime.manager, notifiers=[tg2, sl2])

    card = card_of(await say(runtime, ONBOARD)).approval
    await asyncio.gather(first.tick(), second.tick(), first.tick(), second.tick())
    assert len(tg.posted) + len(tg2.posted) == 1
    assert len(sl.posted) + len(sl2.posted) == 1

    await say(runtime, f"/approve {card.id}")
    await asyncio.gather(first.tick(), second.tick())
    refreshed = tg.refreshed + tg2.refreshed + sl.refreshed + sl2.refreshed
    assert sorted(status for _, status in refreshed) == ["approved", "approved"]
    assert await first.tick() == 0 and await second.tick() == 0


async def test_a_card_shown_as_a_reply_is_not_posted_again(runtime: Runtime) -> None:
    tg = RecordingNotifier("telegram")
    dispatcher = Dispatcher(sessions=runtime.sessions, manager=runtime.manager, notifiers=[tg])
    card = card_of(await say(runtime, ONBOARD)).approval
    await record_shown(runtime.sessions, view=card, ref=MessageRef("telegram", "42", "7"))
    await dispatcher.tick()
    assert tg.posted == []
    await say(runtime, f"/reject {card.id} no")
    await dispatcher.tick()
    assert tg.refreshed == [("7", "rejected")]


async def _shown(runtime: Runtime, ref: MessageRef) -> str | None:
    async with runtime.sessions() as session:
        row = await deliveries.find_message(
            session, channel=ref.channel, chat_id=ref.chat_id, message_id=ref.message_id
        )
    return row.rendered_status if row else None


async def test_a_pass_waits_for_an_edit_on_its_way_then_shows_what_is_left(
    runtime: Runtime,
) -> None:
    tg = RecordingNotifier("telegram")
    dispatcher = Dispatcher(sessions=runtime.sessions, manager=runtime.manager, notifiers=[tg])
    card = card_of(await say(runtime, ONBOARD)).approval
    ref = MessageRef("telegram", "42", "7")
    await record_shown(runtime.sessions, view=card, ref=ref)
    await say(runtime, f"/approve {card.id}")  # decided, and its run finished

    sent, done = asyncio.Event(), asyncio.Event()

    async def edit() -> None:
        sent.set()
        await done.wait()

    # A tap's handler claims the decision and edits the card; its edit is on its way.
    claim = {"ref": ref, "approval_id": card.id, "state": "approved"}
    handler = asyncio.create_task(edit_card(runtime.manager, runtime.sessions, **claim, edit=edit))
    await sent.wait()
    # The pass that sees the outcome waits for that edit: edits of a card go out in the
    # order their states were claimed, so the decision cannot land over the outcome.
    waiting = asyncio.create_task(dispatcher.tick())
    await asyncio.sleep(0.05)
    assert not waiting.done() and tg.refreshed == []
    done.set()
    assert await handler
    assert await waiting == 1 and tg.refreshed == [("7", "approved")]
    assert await _shown(runtime, ref) == "approved+run"
    assert await dispatcher.tick() == 0


async def test_a_failed_refresh_is_given_back_and_tried_again(runtime: Runtime) -> None:
    tg = RecordingNotifier("telegram")
    dispatcher = Dispatcher(sessions=runtime.sessions, manager=runtime.manager, notifiers=[tg])
    card = card_of(await say(runtime, ONBOARD)).approval
    ref = MessageRef("telegram", "42", "7")
    await record_shown(runtime.sessions, view=card, ref=ref)
    await say(runtime, f"/approve {card.id}")

    async def down() -> None:
        raise ConnectionError("chat API down")

    claim = {"ref": ref, "approval_id": card.id, "state": "approved+run"}
    with pytest.raises(ConnectionError):
        await edit_card(runtime.manager, runtime.sessions, **claim, edit=down)
    assert await _shown(runtime, ref) == "pending"  # never shown: behind again
    assert await dispatcher.tick() == 1 and tg.refreshed == [("7", "approved")]
    assert await _shown(runtime, ref) == "approved+run"


async def test_a_pass_never_moves_a_card_back(runtime: Runtime) -> None:
    tg = RecordingNotifier("telegram")
    dispatcher = Dispatcher(sessions=runtime.sessions, manager=runtime.manager, notifiers=[tg])
    card = card_of(await say(runtime, ONBOARD)).approval
    ref = MessageRef("telegram", "42", "7")
    await record_shown(runtime.sessions, view=card, ref=ref)
    await say(runtime, f"/approve {card.id}")

    async def nothing() -> None:
        pass

    # The dispatcher shows the outcome first; the handler's decision edit comes late.
    assert await dispatcher.tick() == 1 and tg.refreshed == [("7", "approved")]
    late = {"ref": ref, "approval_id": card.id, "state": "approved"}
    assert not await edit_card(runtime.manager, runtime.sessions, **late, edit=nothing)
    assert await _shown(runtime, ref) == "approved+run"
    assert await dispatcher.tick() == 0


async def test_run_wakes_up_when_poked_and_stops(runtime: Runtime) -> None:
    tg = RecordingNotifier("telegram")
    dispatcher = Dispatcher(
        sessions=runtime.sessions, manager=runtime.manager, notifiers=[tg], interval=60
    )
    runtime.core.on_change(dispatcher.poke)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    await asyncio.sleep(0.05)
    await say(runtime, ONBOARD)
    for _ in range(100):
        if tg.posted:
            break
        await asyncio.sleep(0.02)
    assert len(tg.posted) == 1  # long before the 60 s interval
    stop.set()
    await asyncio.wait_for(task, 5)


class FlakyNotifier(RecordingNotifier):
    """Fails its first post, as a chat API outage would."""

    def __init__(self, channel: str) -> None:
        super().__init__(channel)
        self.failures = 1

    async def post_approval(self, view: ApprovalView) -> MessageRef | None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("chat API down")
        return await super().post_approval(view)


async def test_a_failed_post_is_tried_again(runtime: Runtime) -> None:
    flaky = FlakyNotifier("telegram")
    dispatcher = Dispatcher(sessions=runtime.sessions, manager=runtime.manager, notifiers=[flaky])
    await say(runtime, ONBOARD)
    assert await dispatcher.tick() == 0 and flaky.posted == []
    assert await dispatcher.tick() == 1 and len(flaky.posted) == 1
    assert await dispatcher.tick() == 0
