"""Slack's Block Kit limits, checked on whole payloads (messages, modals, App Home).

From Slack's Block Kit reference: 50 blocks per message and 100 per modal or Home tab;
3,000 characters of section text, 2,000 per field and at most 10 fields; headers 150;
button labels 75 and values 2,000; ids 255 and unique block ids; modal titles 24;
at most 10 context elements, 25 buttons in an actions block; input elements 3,000.
"""

from __future__ import annotations

from typing import Any


def problems(payload: dict[str, Any], *, surface: str = "message") -> list[str]:
    """Every limit ``payload`` breaks; ``surface`` is "message", "modal" or "home"."""
    found: list[str] = []
    blocks = payload.get("blocks") or []
    most = 50 if surface == "message" else 100
    if len(blocks) > most:
        found.append(f"{len(blocks)} blocks > {most}")
    if surface == "message" and not payload.get("text"):
        found.append("no text fallback")
    if surface == "modal" and len(payload["title"]["text"]) > 24:
        found.append("modal title > 24")
    if len(payload.get("private_metadata", "")) > 3000:
        found.append("private_metadata > 3000")
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)):
        found.append("duplicate block_id")
    for block in blocks:
        found += _block(block)
    return found


def _block(block: dict[str, Any]) -> list[str]:
    found: list[str] = []
    kind = block["type"]
    if len(block.get("block_id", "")) > 255:
        found.append("block_id > 255")
    if kind == "section":
        text = block.get("text")
        if text is not None and not 1 <= len(text["text"]) <= 3000:
            found.append(f"section text {len(text['text'])}")
        fields = block.get("fields") or []
        if len(fields) > 10 or any(len(f["text"]) > 2000 for f in fields):
            found.append("section fields")
        if "accessory" in block:
            found += _element(block["accessory"])
    elif kind == "header" and len(block["text"]["text"]) > 150:
        found.append("header > 150")
    elif kind == "context" and (
        len(block["elements"]) > 10 or any(len(e.get("text", "")) > 3000 for e in block["elements"])
    ):
        found.append("context")
    elif kind == "actions":
        if len(block["elements"]) > 25:
            found.append("actions > 25")
        for element in block["elements"]:
            found += _element(element)
    elif kind == "input":
        element = block["element"]
        if element.get("max_length", 0) > 3000 or len(element.get("initial_value", "")) > 3000:
            found.append("input > 3000")
        if len(block["label"]["text"]) > 2000:
            found.append("label > 2000")
    return found


def _element(element: dict[str, Any]) -> list[str]:
    found: list[str] = []
    if element.get("type") == "button":
        if len(element["text"]["text"]) > 75:
            found.append("button label > 75")
        if len(element.get("value", "")) > 2000:
            found.append("button value > 2000")
        if len(element["action_id"]) > 255:
            found.append("action_id > 255")
    return found
