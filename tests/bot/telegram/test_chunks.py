"""Splitting and escaping for Telegram's limits: pure functions, no network."""

from __future__ import annotations

import html
import random
import re

import pytest

from bot.telegram.chunks import MAX_ALERT, alert, clip, escape, pack, split, units

ENTITY = re.compile(r"&(amp|lt|gt);")


def rebuild(pieces: list[str], original: str) -> None:
    """Every piece is a run of the original, in order; only a separator at a cut is dropped."""
    at = 0
    for piece in pieces:
        raw = html.unescape(piece)
        if original[at : at + len(raw)] != raw and original[at : at + 1] in ("\n", " "):
            at += 1  # the line break or space the cut was made at
        assert original[at : at + len(raw)] == raw
        at += len(raw)
    assert at == len(original)


def assert_whole_entities(piece: str) -> None:
    for index in (m.start() for m in re.finditer("&", piece)):
        assert ENTITY.match(piece, index), f"broken entity at {index}: {piece[index : index + 6]!r}"
    assert "<" not in piece and ">" not in piece


@pytest.mark.parametrize("seed", range(20))
def test_split_never_breaks_an_entity_and_loses_nothing(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = ["&", "<", ">", "a", "b", " ", "\n", "\u00e9", "\U0001f600", "&amp;"]
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 3000)))
    limit = rng.choice([8, 9, 10, 50, 333, 4096])
    pieces = split(text, limit)
    for piece in pieces:
        assert units(piece) <= limit
        assert_whole_entities(piece)
    rebuild(pieces, text)


def test_split_prefers_line_then_word_boundaries() -> None:
    text = ("word " * 30).strip() + "\n" + "x" * 20
    assert split(text, 160) == [("word " * 30).strip(), "x" * 20]
    assert split("aaaa bbbb cccc", 10) == ["aaaa bbbb", "cccc"]
    assert split("", 10) == [""]


def test_units_count_like_telegram() -> None:
    assert units("abc") == 3 and units("\U0001f600") == 2 and units("\u00e9") == 1


def test_clip_escapes_and_marks_what_it_cut() -> None:
    assert clip("a < b & c", 100) == ("a &lt; b &amp; c", False)
    text, cut = clip("&&&&&&&&&&", 12)
    assert cut and text == "&amp;&amp;\u2026" and units(text) <= 12
    assert clip("one two three four", 15) == ("one two three\u2026", True)  # at a word
    assert clip("one two three four", 12) == ("one two thr\u2026", True)  # too far back


def test_pack_fills_messages_and_refuses_an_oversized_block() -> None:
    assert pack(["a" * 5, "b" * 5, "c" * 5], 11) == ["aaaaa\nbbbbb", "ccccc"]
    with pytest.raises(ValueError):
        pack(["x" * 12], 11)


def test_alerts_are_plain_and_short() -> None:
    assert alert("Already   approved\nby Ana") == "Already approved by Ana"
    long = alert("word " * 100)
    assert units(long) <= MAX_ALERT and long.endswith("\u2026")


def test_escape_leaves_quotes_alone() -> None:
    assert escape('"Ana" <a@b> & co') == '"Ana" &lt;a@b&gt; &amp; co'
