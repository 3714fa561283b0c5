"""Start or stop the CI's PostgreSQL 16 + pgvector (from the pgserver wheel).

python .ci/pg.py start DATADIR   # prints the server's URL
python .ci/pg.py stop DATADIR
"""

from __future__ import annotations

import sys

import pgserver


def main(action: str, datadir: str) -> None:
    if action == "start":
        server = pgserver.get_server(datadir, cleanup_mode=None)
        server.psql("CREATE EXTENSION IF NOT EXISTS vector;")
        sys.stdout.write(server.get_uri() + "\n")
    elif action == "stop":
        pgserver.get_server(datadir, cleanup_mode="stop").cleanup()
    else:
        raise SystemExit(f"unknown action {action!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
