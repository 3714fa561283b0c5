"""A local OpenAI-compatible chat completions server (aiohttp) for tests.

It answers ``POST /v1/chat/completions`` with a scripted reply and records each request
(headers and JSON body). Not an LLM, and not the whole OpenAI API: only what Deskhand's
drafting calls.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeOpenAI:
    """Serve scripted completions; ``replies`` are used in order, the last one repeats."""

    replies: list[str] = field(default_factory=lambda: ['{"subject": "Hi", "body": "Hello"}'])
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _port: int = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._complete)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    async def _complete(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"auth": request.headers.get("Authorization"), "body": body})
        if self.status != 200:
            return web.json_response(
                {"error": {"message": "server exploded", "type": "server_error"}},
                status=self.status,
            )
        content = self.replies[min(len(self.requests) - 1, len(self.replies) - 1)]
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }
        )

    def last_prompt(self) -> str:
        """The text of every message in the last request, joined."""
        messages = self.requests[-1]["body"]["messages"]
        return "\n".join(json.dumps(m["content"]) for m in messages)
