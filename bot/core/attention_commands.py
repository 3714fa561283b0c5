"""Commands about the operator's attention: digest on demand, snooze, schedules, and
"Approve all low-risk" from a digest."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.attention.schedules import Schedules
from bot.attention.service import Attention
from bot.core.messages import Handler, Inbound, Reply, Text
from bot.core.parsing import key_values, words
from bot.render.when import when
from graph.errors import AlreadyDecided, InvalidInput, NotFound
from graph.runs import RunManager
from memory import jobs
from memory.db import Sessions
from memory.ids import normalize_approval_id

Clock = Callable[[], datetime]
_DURATION = re.compile(r"^(\d{1,3})\s*(m|min|h|d|w)$")
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """Parse ``30m``, ``2h``, ``1d`` or ``1w``.

    Raises:
        InvalidInput: anything else, or longer than 8 weeks.
    """
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise InvalidInput(f"\u201c{text[:20]}\u201d is not a duration; try 30m, 2h, 1d or 1w.")
    span = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    if span > timedelta(weeks=8) or span <= timedelta(0):
        raise InvalidInput("Snooze for between one minute and eight weeks.")
    return span


class AttentionCommands:
    """Handlers the core registers when the attention service is configured."""

    def __init__(
        self,
        *,
        manager: RunManager,
        sessions: Sessions,
        attention: Attention,
        schedules: Schedules,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._manager = manager
        self._sessions = sessions
        self._attention = attention
        self._schedules = schedules
        self._clock = clock
        self._changed: Callable[[], None] = lambda: None

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each approval "Approve all low-risk" decides."""
        self._changed = listener

    def handlers(self) -> dict[str, Handler]:
        """Command name to handler."""
        return {
            "digest": self.digest,
            "snooze": self.snooze,
            "schedule": self.schedule,
            "schedules": self.listing,
            "unschedule": self.unschedule,
            "approvelow": self.approve_low_command,
        }

    async def digest(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/digest: the digest now, in this chat (the daily one is not moved)."""
        now = self._clock()
        view = await self._attention.digest(
            now, key=f"now:{now:%Y%m%dT%H%M%S}:{inbound.user.channel[:2]}", record=False
        )
        assert view is not None
        return (view,)

    async def snooze(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/snooze <id> <duration>: keep an approval out of batches and digests."""
        tokens = words(rest)
        if len(tokens) != 2:
            raise InvalidInput("Usage: /snooze <id> <duration>, e.g. /snooze K7M2Q 2h.")
        approval_id = normalize_approval_id(tokens[0])
        if approval_id is None:
            raise NotFound(f"\u201c{tokens[0][:20]}\u201d is not an approval id.")
        now = self._clock()
        until = now + parse_duration(tokens[1])
        await self._manager.snooze(approval_id, until=until, actor=inbound.user.actor)
        back = when(until, now=now, zone=self._attention.policy.zone)
        return (Text(f"Snoozed {approval_id}; it comes back {back}.", "ok"),)

    async def schedule(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/schedule <workflow> <when> key=value ...: start a workflow on a schedule."""
        tokens = words(rest)
        if len(tokens) < 2:
            raise InvalidInput('Usage: /schedule <workflow> "every monday 9:00" key=value ...')
        split = next((i for i, t in enumerate(tokens[1:], 1) if "=" in t), len(tokens))
        when = " ".join(tokens[1:split])
        if not when:
            raise InvalidInput('Say when, e.g. /schedule onboarding "every monday 9:00" ...')
        schedule = await self._schedules.add(
            workflow=tokens[0],
            when=when,
            inputs=key_values(tokens[split:]),
            actor=inbound.user.actor,
        )
        return (
            Text(
                f"Scheduled {schedule.workflow} {schedule.description} "
                f"(id {schedule.id}); /unschedule {schedule.id} stops it.",
                "ok",
            ),
        )

    async def listing(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/schedules: what runs on its own, and when next."""
        now = self._clock()
        rows = await self._schedules.listing(now)
        if not rows:
            return (Text('Nothing is scheduled. /schedule <workflow> "every monday 9:00" ...'),)
        lines = ["Scheduled:"]
        for schedule, at in rows:
            zone = self._attention.policy.zone
            next_run = f"next {when(at, now=now, zone=zone)}" if at else "no next run"
            lines.append(
                f"  {schedule.id}  {schedule.workflow:<11} {schedule.description} ({next_run})"
            )
        return (Text("\n".join(lines)),)

    async def unschedule(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/unschedule <id>: stop a schedule."""
        tokens = words(rest)
        if len(tokens) != 1:
            raise InvalidInput("Usage: /unschedule <id>. /schedules lists them.")
        await self._schedules.remove(tokens[0].upper(), actor=inbound.user.actor)
        return (Text(f"Schedule {tokens[0].upper()} stopped.", "ok"),)

    async def approve_low_command(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/approvelow <digest>: the digest's "Approve all low-risk" button, typed."""
        tokens = words(rest)
        if len(tokens) != 1:
            raise InvalidInput("Usage: /approvelow <digest key>, as the digest shows it.")
        return await self.approve_all_low(inbound, tokens[0][:60])

    async def approve_all_low(self, inbound: Inbound, digest_key: str) -> tuple[Reply, ...]:
        """Approve every pending low-risk item a digest showed, each atomically."""
        async with self._sessions() as session:
            ids = await jobs.digest_items(session, key=digest_key)
        if not ids:
            raise NotFound("That digest offered nothing to approve in one go.")
        decided: list[str] = []
        elsewhere: list[str] = []
        for approval_id in ids:
            try:
                await self._manager.decide(
                    approval_id,
                    "approve",
                    actor=inbound.user.actor,
                    actor_name=inbound.user.display,
                )
            except AlreadyDecided as exc:
                elsewhere.append(f"{approval_id} ({str(exc).split(' was already ')[-1]})")
            else:
                decided.append(approval_id)
                # Its cards are the dispatcher's to update: while the rest are decided,
                # not at its next pass (up to 2 s later). Pokes coalesce into passes.
                self._changed()
        text = f"Approved {len(decided)} low-risk request(s)."
        if elsewhere:
            text += f" {len(elsewhere)} were already decided: " + "; ".join(elsewhere)
        return (Text(text, "ok"),)
