"""Messages that need no model: thanks, acknowledgements, greetings, emoji, or nothing at all.

They get a reaction (or, when empty, the usage text) instead of a model call. Conservative by
construction: a message is a no-call only if every word of it is in the small vocabularies
below and it has no question mark, so "ok, and what about prod?", "thanks — but why did it
fail?" and "hi, how do I rotate the key?" still go to a model. "yes" and "sure" are not in the
vocabulary on purpose: they usually accept something the last answer offered.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

NoCallKind = Literal["thanks", "ack", "greeting", "empty"]

# Longer than this, a message says more than thanks: let a model read it.
MAX_NO_CALL_CHARS = 80

# The Slack reaction (emoji name, without colons) each kind gets.
REACTIONS: dict[NoCallKind, str] = {"thanks": "heart", "ack": "+1", "greeting": "wave"}

# Phrases by kind; alternatives separated by " | " or line ends. Matched whole-word, after
# lower-casing, with punctuation, mentions and emoji already reduced to spaces or `<emoji>`.
_PHRASES = {
    "thanks": """
        tha+nks+ | thanks a lot | thanks so much | thank you | thank you so much | thank u
        thanks you | thx+ | thnx | thanx | tks | tnx | ty | tysm | tyvm | cheers | ta
        much appreciated | appreciated | appreciate it | many thanks | kudos
        danke | danke schön | danke schoen | vielen dank | merci | merci beaucoup | gracias
        muchas gracias | grazie | grazie mille | obrigado | obrigada | dank je | dank je wel
        bedankt | tack | kiitos | arigato
    """,
    "greeting": """
        hi+ | hello+ | hey+ | heya | hiya | yo | howdy | morning | good morning
        good afternoon | good evening | gm | hola | bonjour | hallo | moin | servus | salut
        ciao | bye | goodbye | cya | see ya | good night
    """,
    "ack": """
        o+k+ | okay+ | okie | okey | k+ | alright | all right | got it | gotcha | cool+
        great | nice+ | awesome | perfect | sounds good | sgtm | lgtm | makes sense
        understood | noted | roger | roger that | ack | \\+1 | brilliant | excellent | amazing
        sweet | neat | wow | ha(?:ha)+ | lol | will do | fair enough | good to know
        nice one | that works | that worked | it worked | works now | <emoji>
    """,
    # Words that may come with any of the above without changing what it is.
    "filler": """
        a lot | so much | very much | again | a ton | man | mate | buddy | bot | all | team
        everyone | folks | there | y'all | for the help | for your help | for that | for this
        for the info | for the answer | and
    """,
}


def _alternatives(block: str) -> str:
    """Longest first: the regex takes the first alternative that fits, and "merci" must not
    stop "merci beaucoup" from matching whole."""
    alternatives = (
        alternative.strip()
        for line in block.strip().splitlines()
        for alternative in line.split(" | ")
    )
    return "|".join(sorted(alternatives, key=len, reverse=True))


# One phrase at a time, whole words only; the named group says which kind it was.
_PHRASE = re.compile(
    "|".join(f"(?P<{kind}>{_alternatives(block)})(?= |$)" for kind, block in _PHRASES.items())
)
# Slack mentions and links (`<@U123>`, `<#C1|ops>`, `<!here>`): never a reason to call a model.
_MENTION = re.compile(r"<[@#!][^>]*>")
# Slack writes emoji as shortcodes, skin tone included: `:+1::skin-tone-3:`.
_SHORTCODE = re.compile(r"(?::[a-z0-9_+'-]+:)+")
# Unicode emoji, with their variation selectors, keycaps and skin tones.
_UNICODE_EMOJI = re.compile(
    "[\u2190-\u21ff\u2300-\u23ff\u2460-\u27bf\u2900-\u297f\u2b00-\u2bff\u3030\u303d\u3297"
    "\u3299\ufe0e\ufe0f\u20e3\U0001f000-\U0001faff]+"
)
_PUNCTUATION = re.compile(r"[!.,;:~…\-—–*_()\"]+")
# Kinds in order of precedence: "hi, thanks!" is thanks; "ok bye" is a greeting.
_PRECEDENCE: tuple[NoCallKind, ...] = ("thanks", "greeting", "ack")


@dataclass(frozen=True)
class NoCall:
    """What to do instead of a model call."""

    kind: NoCallKind
    # The reaction to add to the person's message; "" when the usage text is shown instead.
    reaction: str = ""
    # True for an empty message: reply with the usage text.
    show_usage: bool = False


def no_call(text: str) -> NoCall | None:
    """A `NoCall` when `text` needs no model, else None (the text is a question)."""
    if len(text) > 4 * MAX_NO_CALL_CHARS and len(text.strip()) > 4 * MAX_NO_CALL_CHARS:
        return None  # far too long to be thanks, however many invisible characters it holds
    visible = _MENTION.sub(" ", _without_format_chars(text)).strip()
    if not visible:
        return NoCall("empty", show_usage=True)
    if len(visible) > MAX_NO_CALL_CHARS or "?" in visible:
        return None
    words = _words(visible)
    if not words:  # punctuation only: nothing to answer
        return NoCall("empty", show_usage=True)
    kinds: set[str] = set()
    position = 0
    while position < len(words):
        match = _PHRASE.match(words, position)
        if match is None or match.lastgroup is None:
            return None
        kinds.add(match.lastgroup)
        position = match.end() + 1
    kind = next((kind for kind in _PRECEDENCE if kind in kinds), None)
    return None if kind is None else NoCall(kind, REACTIONS[kind])


def _without_format_chars(text: str) -> str:
    """Zero-width spaces, joiners, BOMs (Unicode category Cf) are invisible: drop them."""
    return "".join(char for char in text if unicodedata.category(char) != "Cf")


def _words(visible: str) -> str:
    """Lower-cased words separated by single spaces, each emoji run one `<emoji>` word."""
    lowered = visible.lower().replace("\u2019", "'")
    lowered = _SHORTCODE.sub(" <emoji> ", lowered)
    lowered = _UNICODE_EMOJI.sub(" <emoji> ", lowered)
    lowered = _PUNCTUATION.sub(" ", lowered)
    return " ".join(lowered.split())


__all__ = ["MAX_NO_CALL_CHARS", "REACTIONS", "NoCall", "NoCallKind", "no_call"]
