"""Apply Alembic migrations on an async engine (at start-up and by ``deskhand migrate``).

Checked quietly: a database already at the head costs one query and says nothing; one
line is logged only when migrations are applied (Alembic's own INFO chatter is turned
down in :mod:`bot.logs`).
"""

from __future__ import annotations

import logging
from importlib.resources import files
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# Tables LangGraph's savers (and APScheduler's job store) create and migrate themselves;
# Alembic's autogenerate must neither create nor drop them.
LANGGRAPH_TABLES = frozenset(
    {"checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations", "writes"}
)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic hook: leave LangGraph's and APScheduler's tables out of autogenerate."""
    table = obj.table.name if type_ in {"index", "column", "unique_constraint"} else name
    return table not in LANGGRAPH_TABLES and not (table or "").startswith("apscheduler")


def alembic_config(connection: Connection | None = None) -> Config:
    """Build the Alembic config in code: no alembic.ini needed after ``pip install``."""
    config = Config()
    config.set_main_option("script_location", str(files("migrations")))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> tuple[str | None, str | None]:
    """Upgrade unless already there; return (revision before, revision after)."""
    config = alembic_config(connection)
    script = ScriptDirectory.from_config(config)
    target = script.get_current_head() if revision == "head" else revision
    before = MigrationContext.configure(connection).get_current_revision()
    if before == target:
        return before, before
    # Imported only when there is something to apply: most starts never need it.
    from alembic import command

    command.upgrade(config, revision)
    return before, MigrationContext.configure(connection).get_current_revision()


def _current(connection: Connection) -> tuple[str | None, str | None]:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return MigrationContext.configure(connection).get_current_revision(), head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> bool:
    """Bring the schema up to ``revision`` (idempotent); log one line if anything changed.

    Args:
        engine: the database to migrate.
        revision: the target revision.

    Returns:
        True when migrations were applied, False when the schema was already there.
    """
    async with engine.begin() as conn:
        before, after = await conn.run_sync(_upgrade, revision)
    if before == after:
        return False
    log.info("database migrated", extra={"from_revision": before, "to_revision": after})
    return True


async def status(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """Return (current revision, head revision)."""
    async with engine.connect() as conn:
        result: Any = await conn.run_sync(_current)
        return result  # type: ignore[no-any-return]


def autogenerate(connection: Connection, message: str) -> None:
    """Write a new revision from the models (developer tool)."""
    from alembic import command

    command.revision(alembic_config(connection), message=message, autogenerate=True)
