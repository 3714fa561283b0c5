"""The ``deskhand`` command.

Commands that read (``pending``, ``runs``, ``show``) open the database and nothing else: no
run manager, no graphs, no recovery, so one typed beside a running bot cannot act on what
the bot is doing. Commands that act apply only their own action (``approve`` resumes its
own run). Finishing what a previous process left half-done is the bot's start-up
(``run``, ``chat``) and ``deskhand recover``. Heavy modules are imported only by the
commands that need them: ``--help`` does not load SQLAlchemy, reading commands do not load
LangGraph.

Exit codes: 0 done; 1 refused (unknown id, already decided, invalid input, not allowed);
2 usage error; 3 configuration problem; 4 internal error (see the log, quote the ref).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import secrets
import shlex
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from bot import logs

if TYPE_CHECKING:
    from bot.core.messages import Response, User
    from bot.settings import Settings

log = logging.getLogger(__name__)

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_CONFIG, EXIT_INTERNAL = 0, 1, 2, 3, 4

# CLI subcommand -> core command; the CLI is just another channel over the same core.
CORE_COMMANDS = {
    "start": "run",
    "pending": "pending",
    "approve": "approve",
    "reject": "reject",
    "edit": "edit",
    "runs": "runs",
    "show": "show",
    "cancel": "cancel",
    "retry": "retry",
}
JSON_COMMANDS = frozenset({"start", "pending", "runs", "show", "approve", "reject", "edit"})
# Answered from the database alone (bot.core.reads): they never act.
READING = frozenset({"pending", "runs", "show"})
# The bot's start-up: these finish what a previous process left half-done.
STARTING = frozenset({"run", "chat"})


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="deskhand", description="Chat-first operations assistant for one-person companies."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="start the configured channels (the terminal when no tokens)")
    sub.add_parser("chat", help="chat with Deskhand in this terminal")
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser(
        "recover", help="apply decisions a stopped process left unapplied; continue its runs"
    )
    sub.add_parser("doctor", help="check settings, database and SMTP; say what to fix")

    def add(name: str, help_text: str, *args: tuple[str, str, str | None]) -> None:
        p = sub.add_parser(name, help=help_text)
        for arg, arg_help, nargs in args:
            p.add_argument(arg, help=arg_help, nargs=nargs)  # type: ignore[arg-type]
        if name in JSON_COMMANDS:
            p.add_argument("--json", action="store_true", help="print JSON for scripts")

    add(
        "start",
        "start a workflow",
        ("workflow", "workflow name", None),
        ("fields", "key=value inputs", "*"),
    )
    add("pending", "list approvals waiting for a decision")
    add("approve", "approve a request", ("id", "approval id", None))
    add(
        "reject", "reject a request", ("id", "approval id", None), ("reason", "why (optional)", "*")
    )
    add(
        "edit",
        "edit a draft (you then approve the edited one)",
        ("id", "approval id", None),
        ("fields", "field=value changes", "+"),
    )
    add("runs", "list recent runs")
    add("show", "show one run with its audit trail", ("run", "run id", None))
    add("cancel", "cancel a run", ("run", "run id", None), ("reason", "why (optional)", "*"))
    add("retry", "send a run's unsent email now", ("run", "run id", None))
    return parser


def core_text(args: argparse.Namespace) -> str:
    """Rebuild the chat command a CLI invocation stands for (quoting preserved)."""
    name = CORE_COMMANDS[args.command]
    parts: list[str] = []
    for attr in ("workflow", "id", "run"):
        if getattr(args, attr, None):
            parts.append(getattr(args, attr))
    if getattr(args, "fields", None):
        parts += args.fields
    text = f"/{name} " + shlex.join(parts) if parts else f"/{name}"
    if getattr(args, "reason", None):
        text += " " + " ".join(args.reason)
    return text


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point of the ``deskhand`` console script: run the command, then exit at once."""
    try:
        code = invoke(argv)
    except SystemExit as exc:  # argparse: --help, usage errors
        code = exc.code if isinstance(exc.code, int) else EXIT_USAGE if exc.code else EXIT_OK
    # Everything Deskhand opened (database, checkpointer, SMTP, channels) is closed by now.
    # A normal interpreter exit would then tear down every imported module's objects:
    # measured 0.4 s for a command that loads the graphs (`deskhand start`: 1.59 s against
    # 1.18 s) and 0.1 s for `pending` (0.60 s against 0.50 s). It could also hang on a
    # terminal-reading thread still blocked in stdin after SIGTERM. Flush what is
    # buffered (logging.shutdown flushes the log file) and leave without that.
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or EXIT_INTERNAL  # the output was lost (a closed pipe)
    os._exit(code)


def invoke(argv: Sequence[str] | None = None) -> int:
    """Run one ``deskhand`` command and return its exit code (for callers in-process)."""
    args = build_parser().parse_args(argv)
    from bot.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_CONFIG
    interactive = args.command in STARTING
    settings.home.mkdir(parents=True, exist_ok=True)
    logs.configure(
        level=settings.log_level,
        secrets=settings.secrets(),
        file=settings.home / "deskhand.log" if interactive else None,
    )
    try:
        return asyncio.run(_dispatch(args, settings))
    except KeyboardInterrupt:
        return EXIT_OK
    except SettingsError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_CONFIG
    except Exception:
        ref = secrets.token_hex(4)
        log.exception("deskhand %s failed", args.command, extra={"ref": ref})
        where = settings.home / "deskhand.log" if interactive else "the log above"
        sys.stderr.write(f"deskhand {args.command} failed (ref {ref}); details in {where}.\n")
        return EXIT_INTERNAL


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "doctor":
        from bot.doctor import run_doctor

        return await run_doctor(settings, write=_out)
    from bot import preflight

    # What doctor reports as configuration problems, refused here with exit 3 before the
    # database is opened; only `run` and `chat` start the channels.
    preflight.require(settings, channels=args.command in STARTING)
    if args.command == "migrate":
        return await _migrate(settings)
    if args.command in READING:
        return await _read(args, settings)
    from bot.core.messages import Inbound
    from bot.runtime import open_runtime

    async with open_runtime(settings, recover=args.command in STARTING) as runtime:
        if args.command in STARTING:
            from bot.channels import serve

            await serve(runtime, terminal=True if args.command == "chat" else None)
            return EXIT_OK
        if args.command == "recover":
            reports = await runtime.manager.recover()
            _out(f"Recovery done: {len(reports)} unfinished run(s) brought up to date.")
            return EXIT_OK
        response = await runtime.core.handle(Inbound(_operator(), text=core_text(args)))
        return _answer(response, as_json=getattr(args, "json", False))


async def _read(args: argparse.Namespace, settings: Settings) -> int:
    """Answer a reading command from the database alone."""
    from bot.core.messages import Inbound
    from bot.core.reads import Reads
    from memory.db import create_engine, create_sessions
    from memory.migrate import upgrade

    engine = create_engine(settings.sqlalchemy_url)
    try:
        await upgrade(engine)
        reads = Reads(sessions=create_sessions(engine))
        response = await reads.handle(Inbound(_operator(), text=core_text(args)))
    finally:
        await engine.dispose()
    return _answer(response, as_json=args.json)


def _operator() -> User:
    from bot.core.messages import User

    return User("cli", getpass.getuser(), getpass.getuser())


def _answer(response: Response, *, as_json: bool) -> int:
    _print(response, as_json=as_json)
    if response.error_ref is not None:
        return EXIT_INTERNAL
    return EXIT_REFUSED if response.refused else EXIT_OK


async def _migrate(settings: Settings) -> int:
    from memory.db import create_engine
    from memory.migrate import status, upgrade

    engine = create_engine(settings.sqlalchemy_url)
    try:
        await upgrade(engine)
        current, head = await status(engine)
    finally:
        await engine.dispose()
    _out(f"Database is at revision {current} (latest {head}).")
    return EXIT_OK


def _print(response: Response, *, as_json: bool) -> None:
    from bot.render.json import response_data
    from bot.render.text import render

    if as_json:
        _out(json.dumps(response_data(response), indent=2, default=str))
        return
    stream = sys.stderr if response.refused else sys.stdout
    stream.write("\n".join(render(r) for r in response.replies) + "\n")


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
