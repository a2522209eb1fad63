"""Slack text is cleaned of what nobody can see before the empty check: a message of
zero-width characters is empty, and what a person typed is otherwise left as typed."""

from __future__ import annotations

import pytest

from bot.text import clean_input, is_empty


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\u200b",  # zero-width space
        "\u2060",  # word joiner
        "\ufeff",  # byte-order mark
        " \u200b\u200c\u200d\u2060\ufeff\u00ad ",
        "\u00a0\u202f\u2007",  # no-break spaces
        "\u202e\u2066\u2069\n\t",  # bidi controls and whitespace
        "\u200d",  # a joiner with nothing to join
    ],
)
def test_invisible_messages_are_empty(text: str) -> None:
    assert clean_input(text) == ""
    assert is_empty(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u200bwhy did the\u200b deploy fail?\ufeff", "why did the deploy fail?"),
        ("restart\u00a0the\u202fpod\u2007now", "restart the pod now"),
        ("pass\u00adword reset", "password reset"),  # a soft hyphen hid inside the word
        ("\u202eevil\u202c text", "evil text"),  # bidi override, the "Trojan Source" trick
        ("Cafe\u0301 menu", "Café menu"),  # NFC: e + combining acute is é
    ],
)
def test_invisible_characters_go_and_the_words_stay(text: str, expected: str) -> None:
    assert clean_input(text) == expected
    assert not is_empty(text)


def test_code_blocks_keep_their_spacing() -> None:
    text = "look:\n```\ndef f():\n\u00a0   return 1\u200b\n\n\tpass\n```"
    assert clean_input(text) == "look:\n```\ndef f():\n    return 1\n\n\tpass\n```"


def test_joiners_inside_emoji_and_words_are_kept() -> None:
    technologist = "\U0001f469\u200d\U0001f4bb"  # woman + ZWJ + laptop: one emoji
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # ZWNJ inside a word
    text = f"{technologist} {persian}"
    assert clean_input(text) == text


def test_other_spacing_is_kept() -> None:
    assert clean_input("a\u3000b  c") == "a\u3000b  c"  # ideographic space is a real space
    assert clean_input("  plain ascii  \n") == "plain ascii"
