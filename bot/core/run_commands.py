"""Commands that start and steer runs: /run, /cancel, /resolve, /retry and the Retry button."""

from __future__ import annotations

from collections.abc import Callable

from bot.core.messages import (
    ApprovalCard,
    ApprovalView,
    Handler,
    Inbound,
    Reply,
    Response,
    RunStarted,
    RunView,
    Text,
)
from bot.core.parsing import key_values, words
from bot.core.reads import parse_run_id
from graph.errors import InvalidInput, NotFound
from graph.reports import RunReport
from graph.runs import RunManager
from graph.workflows import lookup


class RunCommands:
    """Starts runs, stops them, and settles or resends their email."""

    def __init__(self, *, manager: RunManager) -> None:
        self._manager = manager
        self._changed: Callable[[], None] = lambda: None

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after a run is cancelled or its email retried."""
        self._changed = listener

    def handlers(self) -> dict[str, Handler]:
        """Command name to handler."""
        return {
            "run": self.run,
            "cancel": self.cancel,
            "resolve": self.resolve,
            "retry": self.retry,
        }

    async def run(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/run <workflow> key=value ...: start a workflow; its first approval follows."""
        tokens = words(rest)
        if not tokens:
            names = ", ".join(self._manager.workflows)
            raise InvalidInput(
                f"Say which workflow to run: /run <workflow> key=value ... (available: {names})."
            )
        spec = lookup(dict(self._manager.workflows), tokens[0])
        if spec is None:
            names = ", ".join(self._manager.workflows)
            raise NotFound(
                f"There is no workflow called \u201c{tokens[0][:40]}\u201d. Available: {names}."
            )
        report = await self._manager.start(
            spec.name, key_values(tokens[1:]), actor=inbound.user.actor
        )
        return (RunStarted(RunView.of(report.run)), *waiting(report))

    async def cancel(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/cancel <run> [reason]: stop a run and close its open approvals."""
        head, _, reason = rest.strip().partition(" ")
        run_id = parse_run_id(head, usage="/cancel <run> [reason]")
        run = await self._manager.cancel(
            run_id, actor=inbound.user.actor, reason=reason.strip() or None
        )
        self._changed()
        return (Text(f"Run {run.id} cancelled; its open approvals are closed.", "ok"),)

    async def resolve(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/resolve <run> sent|resend: settle an email that may or may not have gone out."""
        head, _, verdict = rest.strip().partition(" ")
        run_id = parse_run_id(head, usage="/resolve <run> sent|resend")
        report = await self._manager.resolve(
            run_id, verdict.strip().lower(), actor=inbound.user.actor
        )
        return (Text(f"Run {run_id}: {report.run.detail}.", "ok"),)

    async def retry(self, inbound: Inbound, rest: str) -> tuple[Reply, ...]:
        """/retry <run>: send an email the mail server could not take, now."""
        run_id = parse_run_id(rest, usage="/retry <run>")
        report = await self._manager.retry(run_id, actor=inbound.user.actor)
        self._changed()
        run = report.run
        if run.outcome == "sent":
            return (Text(f"Run {run_id} {run.status}: {run.detail}", "ok"),)
        return (Text(f"Run {run_id} {run.status}: {run.detail}", "warn"),)

    async def check_retry(self, run_id: str) -> Response:
        """What a Retry button's press on ``run_id`` is answered with, before it sends.

        Raises:
            InvalidInput: ``run_id`` is empty or more than one word.
            NotFound: it is not a run's id, or the run has nothing to send again.
        """
        clean = parse_run_id(run_id, usage="/retry <run>")
        await self._manager.check_retry(clean)
        return Response((Text(f"Sending the email of run {clean} again…"),))


def waiting(report: RunReport) -> tuple[Reply, ...]:
    """The card of the approval the run now waits for, if it waits for one."""
    if report.approval is not None and report.approval.status == "pending":
        return (ApprovalCard(ApprovalView.of(report.approval)),)
    return ()
