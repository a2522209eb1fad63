"""What a person typed, without what they could not see: the first thing done to Slack text.

`str.strip()` keeps format characters (category Cf: zero-width space U+200B, word joiner
U+2060, byte-order mark U+FEFF, bidi controls, soft hyphen …), so a message made only of them
passed the empty check, went to the model and was billed. Clients also paste no-break spaces,
which look like spaces but defeat splitting and matching.
"""

from __future__ import annotations

import unicodedata

from chatops.settings import Settings
from gateway.redaction import Redacted, redact

# Shown as a space, and only a space to anyone reading.
_NO_BREAK_SPACES = {"\u00a0": " ", "\u202f": " ", "\u2007": " "}
# Joiners change how the characters on either side are drawn (emoji sequences such as
# 👩‍💻, Persian and Indic words); between two visible characters they are kept. Emoji tag
# characters (regional flags such as Scotland's) are Cf too and go: the flag shows as 🏴.
_JOINERS = frozenset("\u200c\u200d")


def _is_visible(char: str) -> bool:
    return not char.isspace() and unicodedata.category(char) != "Cf"


def _without_format_characters(text: str) -> str:
    return "".join(
        char
        for index, char in enumerate(text)
        if unicodedata.category(char) != "Cf" or _joins_visible(text, index)
    )


def _joins_visible(text: str, index: int) -> bool:
    return (
        text[index] in _JOINERS
        and 0 < index < len(text) - 1
        and _is_visible(text[index - 1])
        and _is_visible(text[index + 1])
    )


def clean_input(text: str) -> str:
    """Format characters removed (joiners between visible characters kept), no-break spaces
    made spaces, NFC-normalised, stripped. Other spacing, inside code blocks included, is
    left as it was."""
    if text.isascii():
        return text.strip()
    text = _without_format_characters(text)
    for no_break, space in _NO_BREAK_SPACES.items():
        text = text.replace(no_break, space)
    return unicodedata.normalize("NFC", text).strip()


def is_empty(text: str) -> bool:
    """True when nothing a person could see is left: a zero-width-space DM is empty."""
    return not clean_input(text)


def redact_for(settings: Settings, team_id: str, text: str) -> Redacted:
    """`text` with its secrets replaced by placeholders, unless the workspace turned redaction
    off (SECRET_REDACTION_OFF_TEAMS): done before the text is queued, cached, quoted, logged or
    sent to a model."""
    if not settings.redacts_secrets(team_id):
        return Redacted(text)
    return redact(text)


__all__ = ["clean_input", "is_empty", "redact_for"]
