"""Model output can mention `@channel` without notifying anyone.

Slack notifies for the control sequences `<!channel>`, `<!here>`, `<!everyone>` (and the
legacy `<!group>`), user groups `<!subteam^S123>` / `<!subteam^S123|@team>`, and, where a
message is parsed with `link_names`, bare `@channel` / `@here` / `@everyone`. A model that
read them in a thread, or was asked to, may write them back.

Each becomes `@` + WORD JOINER (U+2060) + the name: it reads as `@channel` (the joiner is
invisible and, unlike a space, lets no line break in), but it is neither a control sequence
nor the word Slack matches, so nobody is notified. Backticks would be inert too, but inside a
code block they would show as stray backticks, and in prose they suggest a command.

Streaming: a ping can arrive split across deltas (`<!chan` + `nel>`), and neutralising each
delta alone would let Slack join them back into `<!channel>`. `PingFilter` holds back a tail
that could still become one; `neutralise_pings` is for whole texts (`chat.update`, footers).
"""

from __future__ import annotations

import re

WORD_JOINER = "\u2060"

_PING = re.compile(
    r"<!(?P<special>channel|here|everyone|group)(?:\|[^<>\n]*)?>"
    r"|<!subteam\^[A-Za-z0-9]+(?:\|@?(?P<label>[^<>\n]*))?>"
    # Not after a letter or `@`: `ops@here.example.com` is an address, not a mention.
    r"|(?<![\w@])@(?P<bare>channel|here|everyone)"
    # An opening left unclosed, or with a label we do not read as one (`<`, a line break):
    # broken, whatever Slack would make of the rest.
    r"|(?P<opening><)(?=!(?:channel|here|everyone|group|subteam\^))",
    re.IGNORECASE,
)
_SPECIAL_NAMES = {"group": "channel"}  # `<!group>` is the old name of `<!channel>`
_LABEL_REST = re.compile(r"(?:\|[^<>\n]*)?")
# Each opening, and what may follow it before the closing `>`.
_OPENINGS = (
    *((name, _LABEL_REST) for name in ("<!channel", "<!here", "<!everyone", "<!group")),
    ("<!subteam^", re.compile(r"[a-z0-9]*(?:\|[^<>\n]*)?")),
)
_BARE_TAIL = re.compile(r"(?<![\w@])@[a-z]*\Z", re.IGNORECASE)
_BARE_NAMES = ("@channel", "@here", "@everyone")
# Longer than any bare ping (`@everyone`) and the character before it.
_CONTEXT_CHARS = 16
# A `<!…` tail longer than this is not held back any more: its `<!` is broken instead, so
# that whatever follows cannot complete it.
MAX_HELD_CHARS = 200


def _inert(match: re.Match[str]) -> str:
    if match.group("opening"):
        return "<" + WORD_JOINER
    special, bare = match.group("special"), match.group("bare")
    if special:
        name = _SPECIAL_NAMES.get(special.lower(), special)
    else:
        name = bare or match.group("label") or "group"
    return f"@{WORD_JOINER}{name}"


def neutralise_pings(text: str) -> str:
    """`text` with every channel-wide or user-group ping made inert; idempotent."""
    return _neutralise_from(text, 0)


def _neutralise_from(text: str, start: int) -> str:
    """`text[start:]` neutralised, with what comes before `start` seen only as context."""
    if "<!" not in text and "@" not in text:
        return text[start:]
    pieces, position = [], start
    for match in _PING.finditer(text, start):
        pieces += [text[position : match.start()], _inert(match)]
        position = match.end()
    pieces.append(text[position:])
    return "".join(pieces)


def _could_become_ping(tail: str) -> bool:
    """Whether more text could turn `tail`, which starts with `<`, into a ping."""
    lowered = tail.lower()
    for opening, rest in _OPENINGS:
        if opening.startswith(lowered):
            return True
        if lowered.startswith(opening):
            return rest.fullmatch(lowered, len(opening)) is not None
    return False


def _held_from(text: str, before: str) -> int:
    """Where the tail of `text` that must wait for more begins (`len(text)`: nothing waits).
    `before` is what was sent just before `text`, which the bare form looks behind at."""
    held = len(text) - 1 if text.endswith("<") else len(text)
    opening = text.rfind("<!")
    if opening >= 0 and _could_become_ping(text[opening:]):
        held = min(held, opening)
    bare = _BARE_TAIL.search(before + text, len(before))
    if bare and any(name.startswith(bare.group().lower()) for name in _BARE_NAMES):
        held = min(held, bare.start() - len(before))
    return held


def _break_opening(text: str, at: int) -> str:
    """A word joiner after the `<` at `at`: whatever follows, it cannot become `<!here>`."""
    return text[: at + 1] + WORD_JOINER + text[at + 1 :]


class PingFilter:
    """Neutralises pings in a reply streamed as deltas: send `feed(delta)` as each delta
    arrives and `flush()` once at the end, instead of the deltas themselves.

    A tail that could still become a ping (`<!her`, `@every`) waits for the next delta;
    everything else comes out at once, in order, unchanged apart from the inserted joiners.
    """

    def __init__(self) -> None:
        self._held = ""
        # The end of what was sent, as it came (before joiners), for context: `ops@` + `here`
        # is an address, not a ping. What could still become a ping is never sent, so no
        # ping can begin in here.
        self._sent = ""

    def feed(self, delta: str) -> str:
        text = self._held + delta
        cut = _held_from(text, self._sent)
        if len(text) - cut > MAX_HELD_CHARS:  # `<!subteam^…|` and no `>` in sight
            text = _break_opening(text, cut)
            cut = _held_from(text, self._sent)
        self._held = text[cut:]
        return self._send(text[:cut])

    def flush(self) -> str:
        """What was held back; an unfinished `<!…` is broken, in case text is added later."""
        text, self._held = self._held, ""
        if text.startswith("<"):
            text = _break_opening(text, 0)
        return self._send(text)

    def _send(self, text: str) -> str:
        out = _neutralise_from(self._sent + text, len(self._sent))
        self._sent = (self._sent + text)[-_CONTEXT_CHARS:]
        return out


__all__ = ["MAX_HELD_CHARS", "WORD_JOINER", "PingFilter", "neutralise_pings"]
