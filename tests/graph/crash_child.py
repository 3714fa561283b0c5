"""A Deskhand process for the crash tests, driven by command-line arguments.

    python -m tests.graph.crash_child HOME DATABASE_URL SMTP_URL start
    python -m tests.graph.crash_child HOME DATABASE_URL SMTP_URL approve ID [--die-...]
    python -m tests.graph.crash_child HOME DATABASE_URL SMTP_URL recover

where ``--die-...`` is ``--die-after-decision`` or ``--die-after-send``.

It prints one JSON line with what it did. ``--die-*`` kill the process with SIGKILL at an
exact point: right after the hot path's decision transaction returns (our own class,
wrapped in this child only), or in an email transport that dies after the SMTP server
accepted the message.
"""

from __future__ import annotations

import asyncio
import email.message
import json
import os
import signal
import sys
from typing import Any

from sqlalchemy import select

from adapters.smtp import SmtpConfig, SmtpTransport
from bot.core.messages import ButtonAction, Inbound
from bot.runtime import open_runtime
from bot.settings import Settings
from memory.hotpath import Decision, HotPath
from memory.models import Effect
from tests.fixtures.runtime import ONBOARD, OPERATOR, card_of


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class DieAfterSend(SmtpTransport):
    """The real SMTP transport, then death before the ledger hears how it went."""

    async def deliver(self, msg: email.message.EmailMessage) -> str:
        await super().deliver(msg)
        die()
        raise AssertionError("unreachable")


def die_after_decision_commit() -> None:
    """Die the moment the winning decision has committed, before the run is resumed."""
    decide = HotPath.decide

    async def decide_then_die(self: HotPath, *args: Any, **kwargs: Any) -> Decision | None:
        outcome = await decide(self, *args, **kwargs)
        if outcome is not None and outcome.won:
            die()
        return outcome

    HotPath.decide = decide_then_die  # type: ignore[method-assign]


async def main(argv: list[str]) -> dict[str, Any]:
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
    async with open_runtime(settings, transport=transport) as rt:
        if command == "start":
            card = card_of(await rt.core.handle(Inbound(OPERATOR, text=ONBOARD))).approval
            return {"approval": card.id, "run": card.run_id}
        if command == "approve":
            response = await rt.core.handle(
                Inbound(OPERATOR, action=ButtonAction("approve", rest[0]))
            )
            return {"refused": response.refused}
        async with rt.sessions() as s:
            effects = [(e.status, e.key) for e in await s.scalars(select(Effect))]
        runs = await rt.manager.list_runs()
        pending = await rt.manager.pending()
        return {
            "runs": [{"id": r.id, "status": r.status, "outcome": r.outcome} for r in runs],
            "pending": [a.id for a in pending],
            "effects": effects,
        }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(asyncio.run(main(sys.argv[1:]))) + "\n")
