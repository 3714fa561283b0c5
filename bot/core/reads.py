"""The read-only commands, /pending, /runs and /show: the database and nothing else.

They need no run manager, graphs or checkpointer, so ``deskhand pending`` in a shell
opens only the database: it cannot apply a decision the running bot has not applied yet,
and it starts in a fraction of the time. The core registers the same handlers, so chat
and CLI show the same thing.
"""

from __future__ import annotations

from bot.core.guard import answered
from bot.core.messages import (
    ApprovalList,
    ApprovalView,
    EventView,
    Handler,
    Inbound,
    Reply,
    Response,
    RunDetails,
    RunList,
    RunView,
    Text,
)
from bot.core.parsing import split_command
from graph.errors import InvalidInput, NotFound
from memory import approvals, effects, events, records, runs
from memory.db import Sessions
from memory.ids import normalize_run_id

PENDING_SHOWN = 50
IN_DOUBT_SHOWN = 20
RUNS_SHOWN = 20


class Reads:
    """Answers the commands that only look."""

    def __init__(self, *, sessions: Sessions) -> None:
        self._sessions = sessions

    def handlers(self) -> dict[str, Handler]:
        """Command name to handler."""
        return {"pending": self.pending, "runs": self.runs, "show": self.show}

    async def handle(self, inbound: Inbound) -> Response:
        """Answer one read-only command (``/pending``, ``/runs``, ``/show <run>``); never raises."""
        return await answered(self._handle(inbound), actor=inbound.user.actor)

    async def _handle(self, inbound: Inbound) -> Response:
        command = split_command(inbound.text or "")
        handler = self.handlers().get(command.name) if command else None
        if command is None or handler is None:
            raise InvalidInput("Only /pending, /runs and /show are answered here.")
        return Response(await handler(inbound, command.rest))

    async def pending(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/pending: emails in doubt first, then approvals waiting, oldest first."""
        async with self._sessions() as session:
            doubtful = await effects.in_doubt(session, limit=IN_DOUBT_SHOWN)
            items = await approvals.pending(session, limit=PENDING_SHOWN)
        listing = ApprovalList(tuple(ApprovalView.of(a) for a in items))
        if not doubtful:
            return (listing,)
        lines = [
            f"{len(doubtful)} email(s) may or may not have gone out (sending was "
            "interrupted). Check your Sent folder, then settle each one:"
        ]
        for effect in doubtful:
            request = effect.request
            lines.append(
                f"  run {effect.run_id}: to {request.get('to', '?')}, "
                f"\u201c{request.get('subject', '')}\u201d \u2014 "
                f"/resolve {effect.run_id} sent  or  /resolve {effect.run_id} resend"
            )
        return (Text("\n".join(lines), "warn"), listing)

    async def runs(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/runs: the newest runs first."""
        async with self._sessions() as session:
            items = await runs.recent(session, limit=RUNS_SHOWN)
        return (RunList(tuple(RunView.of(r) for r in items)),)

    async def show(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/show <run>: one run with its approvals, audit trail and sent messages."""
        run_id = parse_run_id(rest, usage="/show <run>")
        async with self._sessions() as session:
            run = await runs.get(session, run_id=run_id)
            if run is None:
                raise NotFound(f"There is no run {run_id}. /runs lists recent ones.")
            shown = RunDetails(
                run=RunView.of(run),
                approvals=tuple(
                    ApprovalView.of(a) for a in await approvals.for_run(session, run_id=run_id)
                ),
                events=tuple(EventView.of(e) for e in await events.for_run(session, run_id=run_id)),
                sent=tuple(
                    RunDetails.sent_line(m)
                    for m in await records.messages_for_run(session, run_id=run_id)
                ),
            )
        return (shown,)


def parse_run_id(rest: str, *, usage: str) -> str:
    """The one run id in ``rest``.

    Raises:
        InvalidInput: not exactly one argument.
        NotFound: it cannot be a run id.
    """
    tokens = rest.split()
    if len(tokens) != 1:
        raise InvalidInput(f"Usage: {usage}. /runs lists recent runs.")
    run_id = normalize_run_id(tokens[0])
    if run_id is None:
        raise NotFound(f"\u201c{tokens[0][:20]}\u201d is not a run id. /runs lists them.")
    return run_id
