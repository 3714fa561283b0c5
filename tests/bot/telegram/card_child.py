"""A Deskhand process serving Telegram until it is killed, for the card-outcome crash test.

    python -m tests.bot.telegram.card_child HOME DATABASE_URL SMTP_URL API_URL TOKEN USERS

It starts the runtime, the Telegram channel (long polling against the local Bot API
server) and the dispatcher, as ``deskhand run`` does, prints ``ready`` and serves until
the test kills it.
"""

from __future__ import annotations

import asyncio
import sys

from bot.channels import serve
from bot.runtime import open_runtime
from bot.settings import Settings


async def main(argv: list[str]) -> None:
    home, url, smtp_url, api_url, token, users = argv
    settings = Settings(
        _env_file=None,
        DESKHAND_HOME=home,
        DATABASE_URL=url,  # type: ignore[call-arg]
        DESKHAND_SMTP_URL=smtp_url,
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_URL=api_url,
        TELEGRAM_ALLOWED_USERS=users,
    )
    async with open_runtime(settings) as runtime:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await serve(runtime)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
