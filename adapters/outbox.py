"""The zero-configuration transport: each email becomes an .eml file in a folder."""

from __future__ import annotations

import asyncio
import email.message
import os
import re
import tempfile
from pathlib import Path

from adapters.errors import PermanentDeliveryError, TemporaryDeliveryError


class OutboxTransport:
    """Writes each message as ``<message-id-hash>.eml`` into a directory.

    The zero-config default when no SMTP server is set: nothing leaves the machine, and
    the operator can open the files in any mail client.
    """

    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, message_id: str) -> Path:
        """Return the file a message with this Message-ID is written to."""
        local = message_id.strip().strip("<>").partition("@")[0]
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", local).lstrip(".") or "message"
        return self.directory / f"{safe}.eml"

    async def deliver(self, msg: email.message.EmailMessage) -> str:
        """Write ``msg`` atomically; a repeat with the same Message-ID replaces the file.

        Args:
            msg: the MIME message; it must carry a Message-ID.

        Returns:
            The path of the ``.eml`` file.

        Raises:
            PermanentDeliveryError: the message has no Message-ID.
            TemporaryDeliveryError: the file could not be written (nothing was replaced).
        """
        message_id = msg["Message-ID"]
        if not message_id:
            raise PermanentDeliveryError("the message has no Message-ID; build it with build_mime")
        path = self.path_for(str(message_id))
        try:
            await asyncio.to_thread(_write_atomically, path, msg.as_bytes())
        except OSError as exc:
            raise TemporaryDeliveryError(
                f"could not write to the outbox {self.directory}: {exc.strerror or exc}; "
                "check that the directory is writable and the disk is not full"
            ) from exc
        return str(path)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # Readers see either no file or the whole message, never a half-written one.
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
