"""A Deskhand process for the crash tests, driven by command-line arguments.

    python -m tests.graph.crash_child HOME DATABASE_URL SMTP_URL start [COUNT FIRST]
    python -m tests.graph.crash_child HOME DATABASE_URL SMTP_URL approve ID [--die-...]
    python -m tests.graph.crash_child HOME DATABASE_URL SMTP_URL recover

where ``--die-...`` is one of

- ``--die-after-decision``: right after the decision transaction returns;
- ``--die-after-send``: in an email transport that dies once the SMTP server accepted;
- ``--die-before-write N`` / ``--die-after-write N``: around the N-th (from 0) write the
  LangGraph checkpointer makes while the approval is applied (``aput`` or ``aput_writes``);
- ``--count-writes``: die nowhere, and report the checkpointer writes the approval made.

It prints one JSON line with what it did. The ``--die-*`` points wrap our own classes and
the installed checkpointer's methods in this child only; nothing in the product is
patched for it.
"""

from __future__ import annotations

import asyncio
import email.message
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from adapters.smtp import SmtpConfig, SmtpTransport
from bot.core.messages import ButtonAction, Inbound
from bot.runtime import open_runtime
from bot.settings import Settings
from memory import decisions
from memory.decisions import Decision
from memory.models import Effect
from tests.fixtures.runtime import OPERATOR, card_of

WRITES: list[str] = []  # the checkpointer writes made since counting began
COUNTING = False


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def onboard(number: int) -> str:
    """The /run line of the ``number``-th test client (each has its own address)."""
    return (
        f'/run onboarding name="Client {number}" email=c{number}@example.com '
        'company="Acme & Co" need="a new website"'
    )


class DieAfterSend(SmtpTransport):
    """The real SMTP transport, then death before the ledger hears how it went."""

    async def deliver(self, msg: email.message.EmailMessage) -> str:
        await super().deliver(msg)
        die()
        raise AssertionError("unreachable")


def die_after_decision_commit() -> None:
    """Die the moment the winning decision has committed, before the run is resumed."""
    decide = decisions.decide

    async def decide_then_die(*args: Any, **kwargs: Any) -> Decision | None:
        outcome = await decide(*args, **kwargs)
        if outcome is not None and outcome.won:
            die()
        return outcome

    decisions.decide = decide_then_die


def watch_checkpoint_writes(before: int | None, after: int | None) -> None:
    """Count the checkpointer's writes once counting began; die around the chosen one."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    def wrap(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not COUNTING:
                return await method(self, *args, **kwargs)
            index = len(WRITES)
            WRITES.append(name)
            if index == before:
                die()
            result = await method(self, *args, **kwargs)
            if index == after:
                die()
            return result

        return counted

    for saver in (AsyncSqliteSaver, AsyncPostgresSaver):
        for name in ("aput", "aput_writes"):
            setattr(saver, name, wrap(name, getattr(saver, name)))


def _option(rest: list[str], flag: str) -> int | None:
    return int(rest[rest.index(flag) + 1]) if flag in rest else None


async def main(argv: list[str]) -> dict[str, Any]:
    global COUNTING
    home, url, smtp_url, command, *rest = argv
    settings = Settings(
        _env_file=None,
        DESKHAND_HOME=home,
        DATABASE_URL=url,  # type: ignore[call-arg]
        DESKHAND_SMTP_URL=smtp_url,
    )
    transport = None
    if "--die-after-send" in rest:
        transport = DieAfterSend(SmtpConfig.from_url(smtp_url))
    if "--die-after-decision" in rest:
        die_after_decision_commit()
    before, after = _option(rest, "--die-before-write"), _option(rest, "--die-after-write")
    if before is not None or after is not None or "--count-writes" in rest:
        watch_checkpoint_writes(before, after)
    async with open_runtime(settings, transport=transport) as rt:
        if command == "start":
            count, first = (int(rest[0]), int(rest[1])) if rest else (1, 0)
            numbers = range(first, first + count)
            cards = [
                card_of(await rt.core.handle(Inbound(OPERATOR, text=onboard(n)))) for n in numbers
            ]
            return {
                "approval": cards[0].approval.id,
                "run": cards[0].approval.run_id,
                "runs": [
                    {"approval": c.approval.id, "run": c.approval.run_id, "to": f"c{n}@example.com"}
                    for n, c in zip(numbers, cards, strict=True)
                ],
            }
        if command == "approve":
            COUNTING = True
            response = await rt.core.handle(
                Inbound(OPERATOR, action=ButtonAction("approve", rest[0]))
            )
            # Leaving the runtime waits for the background resume; its writes count too.
            approved: dict[str, Any] = {"refused": response.refused}
        else:
            async with rt.sessions() as s:
                effects = [(e.status, e.key) for e in await s.scalars(select(Effect))]
            runs = await rt.manager.list_runs(limit=1000)
            pending = await rt.manager.pending()
            return {
                "runs": [{"id": r.id, "status": r.status, "outcome": r.outcome} for r in runs],
                "pending": [a.id for a in pending],
                "effects": effects,
            }
    return {**approved, "writes": WRITES}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(asyncio.run(main(sys.argv[1:]))) + "\n")
