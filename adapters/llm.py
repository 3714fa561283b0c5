"""LLM drafting through any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM).

Optional: Deskhand works fully with template drafting. When the model fails or answers
nonsense, the template draft is used and the failure is logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from adapters.drafting import Drafter, EmailDraft

log = logging.getLogger(__name__)

_SYSTEM = (
    "You draft short, warm, professional emails for a one-person business. "
    'Answer with JSON only: {"subject": "...", "body": "..."}. Plain text body, no markdown, '
    "sign off with the sender's name. Never invent prices, dates or promises."
)


class OpenAIDrafter:
    """Drafts with a chat model; falls back to ``fallback`` on any model failure."""

    name = "llm"

    def __init__(self, *, model: Any, fallback: Drafter, sender_name: str) -> None:
        self._model = model
        self._fallback = fallback
        self._sender_name = sender_name

    @classmethod
    def connect(
        cls,
        *,
        api_key: str | None,
        base_url: str | None,
        model: str,
        fallback: Drafter,
        sender_name: str,
        timeout: float = 30.0,
    ) -> OpenAIDrafter:
        """Build the client once at start-up (imports langchain-openai only when used)."""
        from langchain_openai import ChatOpenAI

        chat = ChatOpenAI(
            model=model,
            api_key=api_key or "not-needed",  # type: ignore[arg-type]
            base_url=base_url,
            timeout=timeout,
            max_retries=2,
            temperature=0.3,
        )
        return cls(model=chat, fallback=fallback, sender_name=sender_name)

    async def draft_email(self, *, purpose: str, facts: Mapping[str, str]) -> EmailDraft:
        """Ask the model for a draft; use the template when it fails."""
        prompt = f"Purpose: {purpose} email.\nSender: {self._sender_name}\n" + "\n".join(
            f"{k}: {v}" for k, v in facts.items()
        )
        try:
            answer = await self._model.ainvoke([("system", _SYSTEM), ("human", prompt)])
            return _parse(str(answer.content))
        except Exception:
            log.warning(
                "LLM draft failed; using the template", exc_info=True, extra={"purpose": purpose}
            )
            return await self._fallback.draft_email(purpose=purpose, facts=facts)


def _parse(content: str) -> EmailDraft:
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    data = json.loads(text)
    subject, body = str(data["subject"]).strip(), str(data["body"]).strip()
    if not subject or not body or "\n" in subject or len(subject) > 200:
        raise ValueError("model returned an unusable subject or body")
    return EmailDraft(subject=subject, body=body)
