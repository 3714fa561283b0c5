"""The ``deskhand`` command.

Exit codes: 0 done; 1 refused (unknown id, already decided, invalid input, not allowed);
2 usage error; 3 configuration problem; 4 internal error (see the log, quote the ref).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import secrets
import shlex
import sys
from collections.abc import Sequence

from bot import logs
from bot.core.messages import Inbound, Response, User
from bot.render.json import response_data
from bot.render.text import render
from bot.settings import Settings, SettingsError, load_settings

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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="deskhand", description="Chat-first operations assistant for one-person companies."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="start the configured channels (the terminal when no tokens)")
    sub.add_parser("chat", help="chat with Deskhand in this terminal")
    sub.add_parser("migrate", help="apply database migrations")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``deskhand`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_CONFIG
    interactive = args.command in {"run", "chat"}
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
    from bot.runtime import open_runtime

    if args.command == "doctor":
        from bot.doctor import run_doctor

        return await run_doctor(settings, write=_out)
    if args.command == "migrate":
        return await _migrate(settings)
    async with open_runtime(settings) as runtime:
        if args.command in {"run", "chat"}:
            from bot.channels import serve

            await serve(runtime, terminal=True if args.command == "chat" else None)
            return EXIT_OK
        user = User("cli", getpass.getuser(), getpass.getuser())
        response = await runtime.core.handle(Inbound(user, text=core_text(args)))
        _print(response, as_json=getattr(args, "json", False))
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
    if as_json:
        _out(json.dumps(response_data(response), indent=2, default=str))
        return
    stream = sys.stderr if response.refused else sys.stdout
    stream.write("\n".join(render(r) for r in response.replies) + "\n")


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    raise SystemExit(main())
