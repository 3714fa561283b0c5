"""The batch budget per channel, and a batch whose post fails."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.views import BatchView
from bot.runtime import Runtime
from tests.bot.attention.conftest import at, attention, request
from tests.bot.attention.recording import RecordingNotifier


@dataclass
class FlakyNotifier(RecordingNotifier):
    """Fails the first ``failures`` batch posts, as a chat API that is down would."""

    failures: int = 1

    async def post_batch(self, view: BatchView) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("chat API unreachable")
        await super().post_batch(view)


async def test_each_channel_has_its_own_budget(runtime: Runtime) -> None:
    slack, telegram = RecordingNotifier("slack"), RecordingNotifier("telegram")
    service = attention(runtime, slack, telegram)
    for hour in range(9, 13):
        await request(runtime, "low")
        await service.tick(at(f"2026-11-21T{hour:02d}:00:00"))
    for channel in (slack, telegram):
        assert len(channel.of("batch")) == 2
        assert [len(b.ids) for b in channel.of("batch")] == [1, 1]


async def test_a_failed_batch_gives_its_requests_back_and_keeps_the_slot(
    runtime: Runtime,
) -> None:
    notifier = FlakyNotifier("telegram")
    service = attention(runtime, notifier)
    first = await request(runtime, "low")
    report = await service.tick(at("2026-11-21T10:00:00"))
    assert report.batches == 0 and notifier.sent == []
    second = await request(runtime, "medium")
    notifier.now = at("2026-11-21T11:00:00")
    report = await service.tick(notifier.now)
    # The 10:00 request comes again with the 11:00 one, in the second (and last) slot.
    assert report.batches == 1
    assert [sorted(b.ids) for b in notifier.of("batch")] == [sorted((first, second))]
    await request(runtime, "low")
    assert (await service.tick(at("2026-11-21T12:00:00"))).batches == 0
