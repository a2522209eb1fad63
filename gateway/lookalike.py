"""Guards that tell a true paraphrase from a look-alike question: pure, fast, explainable.

Embedding similarity ranks near-misses ("pause" / "resume the rollout", "past 7 days" /
"past 7 minutes") above most true paraphrases, so the semantic cache serves an answer only
when these guards agree that two questions ask the same thing. They compare, in order:

    question   why / when / who / where / how many / how long … must be the same kind
    negation   not, n't, no, never, without … the same number of times
    tense      past vs present or future, when both questions say it
    numbers    durations (with units, so 24h = 1 day), percentages, versions, addresses,
               regions, Jira keys, people (@names), other names with digits, plain numbers
    env        prod / staging / dev … (synonyms folded: production = prod)
    opposite   enable/disable, start/stop, min/max, read/write, before/after …
    order      direction: "from Helm to Kustomize" ≠ "from Kustomize to Helm"; passive "by"
    word       every remaining content word, after inflections and known synonyms

Each refusal carries a reason such as `guard:number 3≠5` or `guard:env staging≠prod`. The
guards never say yes for a pair they do not understand: any differing content word refuses.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Frames that say the same thing in other words, rewritten before anything else.
_FRAMES = (
    (r"\b(?:am i|are we|is it|are you) (?:allowed|able|ok|okay) to\b", "can"),
    (r"\bis it possible to\b", "can"),
    (
        r"\bwhat(?: is|'s) the (?:best |right |correct )?(?:way|process|procedure) (?:to|for)\b",
        "how do i",
    ),
    (r"\bwhat are the steps (?:to|for)\b", "how do i"),
    (r"\bhow to\b", "how do i"),
    (r"\bwhere can i find\b", "where is"),
    (r"\bload balancers?\b", "lb"),
    (r"\bon[- ]call\b", "oncall"),
    (r"\broll(?:ing|ed)? back\b", "rollback"),
    (r"\broll(?:ing|ed)? out\b", "rollout"),
    (r"\btake away\b", "revoke"),
)
_CONTRACTIONS = (
    (r"\bcan't\b", "can not"),
    (r"\bwon't\b", "will not"),
    (r"n't\b", " not"),
    (r"'ll\b", " will"),
    (r"'re\b", " are"),
    (r"'ve\b", " have"),
    (r"'m\b", " am"),
    (r"'d\b", " would"),
    (r"\b(what|who|where|when|how|why|which|it|that|there|here|he|she)'s\b", r"\1 is"),
    (r"'s\b", ""),
)
_TOKEN = re.compile(r"@?[a-z0-9](?:[a-z0-9._/%:'-]*[a-z0-9%])?")
_JIRA_KEY = re.compile(r"\b[A-Z][A-Z0-9]+-\d+\b")

_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "fifteen": "15", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50",
    "sixty": "60", "ninety": "90", "hundred": "100",
}  # fmt: skip
_UNIT_SECONDS = {
    "ms": 0.001, "msec": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "wks": 604800, "week": 604800, "weeks": 604800,
    "mo": 2592000, "month": 2592000, "months": 2592000,
    "y": 31536000, "yr": 31536000, "yrs": 31536000, "year": 31536000, "years": 31536000,
}  # fmt: skip
# A unit word alone ("per minute", "the past week") means one of it; abbreviations do not
# count alone ("min" is as often "minimum").
_BARE_UNITS = _word_set(
    "millisecond second minute hour day week month year"
    " milliseconds seconds minutes hours days weeks months years"
)
_ENVIRONMENTS = {
    "prod": "prod", "production": "prod", "prd": "prod",
    "staging": "staging", "stage": "staging", "stg": "staging",
    "dev": "dev", "development": "dev", "qa": "qa", "uat": "uat",
    "preprod": "preprod", "pre-prod": "preprod", "sandbox": "sandbox",
}  # fmt: skip
_REGION = re.compile(
    r"^(?:(?:us|eu|ap|sa|ca|me|af|il|mx)(?:-gov)?-|(?:europe|asia|australia|northamerica|"
    r"southamerica|africa)-|us-)(?:east|west|north|south|central|northeast|southeast|"
    r"northwest|southwest)-?\d+$"
)
_VERSION = re.compile(r"^v?\d+(?:\.\d+)+$|^v\d+$")
_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+(?:/\d+)?$")
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(%|[a-z]+)?$")

_INTENTS = (
    (("how", "many"), "how many"), (("how", "much"), "how many"), (("how", "long"), "how long"),
    (("how", "often"), "how often"), (("what", "time"), "when"), (("why",), "why"),
    (("when",), "when"), (("who",), "who"), (("whom",), "who"), (("where",), "where"),
)  # fmt: skip


def _groups(text: str) -> tuple[tuple[str, ...], ...]:
    """`"a b, c d"` → `(("a", "b"), ("c", "d"))`: the word tables below, kept compact."""
    return tuple(tuple(group.split()) for group in text.split(",") if group.strip())


_NEGATIONS = {"not", "no", "never", "without", "none", "nobody", "nothing", "neither", "nor"}
_TENSES = {
    "was": "past", "were": "past", "did": "past", "had": "past",
    "is": "present", "are": "present", "am": "present", "does": "present", "do": "present",
    "has": "present", "have": "present", "will": "future", "shall": "future",
}  # fmt: skip
# Words that carry no meaning of their own in a question to the bot.
_STOPWORDS = _word_set(
    """a an the i we you me us my our your it its this that these those there here what how
    they them their he she his her
    which who whom why when where do does did is are am be been being was were has have had
    can could would should may might must shall will of for in on at with about as and or but so
    if any some please pls just also really actually quickly exactly hey hi hello thanks thank
    ok okay quick question wondering curious know tell help want like way best process procedure
    steps step let bot chatops folks guys someone anyone somebody anybody go over during via
    between whether then to from into onto than by"""
)
_ROLE_WORDS = {"from": "from", "to": "to", "into": "to", "onto": "to", "than": "than", "by": "by"}
# Roles whose presence alone flips meaning: "X is blocked by Y" vs "X blocks Y".
_STRICT_ROLES = ("by", "than")

_SYNONYM_GROUPS = _groups(
    """
    database db, kubernetes k8s kube, configuration config conf cfg, repository repo,
    environment env, namespace ns, credentials credential creds, password passwd pwd pw,
    restart bounce reboot recycle, delete remove rm, show list display, grant give,
    increase raise bump, decrease reduce, rollback revert, own owner, allow permit, deny block,
    check verify, need require required necessary, cost price, access permission permissions,
    log logs logging, percent pct, error errors err, migrate move, past last previous,
    instance instances, cert certificate
    """
)
_OPPOSITE_PAIRS = _groups(
    """
    enable disable, increase decrease, add remove, start stop, pause resume, min max,
    minimum maximum, read write, upgrade downgrade, allow deny, grant revoke, attach detach,
    mount unmount, lock unlock, open close, create delete, install uninstall, encrypt decrypt,
    before after, inbound outbound, ingress egress, push pull, import export, upload download,
    up down, on off, true false, public private, internal external, approve reject,
    promote demote, include exclude, block unblock, freeze unfreeze, allowlist denylist,
    whitelist blacklist, ascending descending, faster slower, higher lower, more less,
    first last, oldest newest, old new, success failure, succeed fail, connect disconnect,
    subscribe unsubscribe, show hide, online offline, healthy unhealthy, above below,
    earliest latest, previous next, previous current, primary replica, primary secondary,
    backup restore, compress decompress, always never
    """
)


def stem(word: str) -> str:
    """A deliberately small stemmer: plural, -ing, -ed, a final e, a doubled consonant."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("ses", "xes", "zes", "ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    return word


def _synonyms() -> dict[str, str]:
    table: dict[str, str] = {}
    for words in _SYNONYM_GROUPS:
        for word in words:
            table[word] = words[0]
            table[stem(word)] = words[0]
    return table


_SYNONYMS = _synonyms()
_OPPOSITES = tuple(
    (_SYNONYMS.get(stem(x), stem(x)), _SYNONYMS.get(stem(y), stem(y))) for x, y in _OPPOSITE_PAIRS
)


@dataclass(frozen=True)
class Verdict:
    """Whether two questions ask the same thing; `reason` says why not (empty when same)."""

    same: bool
    reason: str = ""


SAME = Verdict(True)


@dataclass(frozen=True)
class Facets:
    """What the guards compare, read once from a question."""

    intent: str
    negations: int
    tense: frozenset[str]
    numbers: tuple[tuple[str, str], ...]  # (kind, canonical value), in order
    environments: tuple[str, ...]
    words: tuple[str, ...]  # content stems, synonyms folded, in order
    # (role, value) for each value between a role word (from, to, by, than) and the next one.
    roles: tuple[tuple[str, str], ...]
    # A content stem as the question spelled it, for reasons people read.
    spelling: Mapping[str, str] = field(default_factory=dict, compare=False)


def _clean(text: str) -> str:
    lowered = text.lower().replace("’", "'")
    for pattern, replacement in _CONTRACTIONS:
        lowered = re.sub(pattern, replacement, lowered)
    for pattern, replacement in _FRAMES:
        lowered = re.sub(pattern, replacement, lowered)
    return lowered


def _tokens(text: str) -> list[str]:
    """Tokens with number words as digits, `7 days` as one token and `70 percent` as `70%`."""
    raw: list[str] = []
    for token in _TOKEN.findall(text):
        token = token.strip("'")
        token = _NUMBER_WORDS.get(token, token)
        if "-" in token and not any(ch.isdigit() for ch in token) and token not in _ENVIRONMENTS:
            raw.extend(part for part in token.split("-") if part)  # billing-events, multi-az
        elif "_" in token:
            raw.extend(part for part in token.split("_") if part)  # max_connections
        else:
            raw.append(token)
    merged: list[str] = []
    for token in raw:
        previous = merged[-1] if merged else ""
        if token in ("percent", "pct", "%") and previous.isdigit():
            merged[-1] = previous + "%"
        elif token in _UNIT_SECONDS and re.fullmatch(r"\d+(?:\.\d+)?", previous):
            merged[-1] = previous + token
        else:
            merged.append(token)
    return merged


def _number(token: str) -> tuple[str, str] | None:
    """(kind, canonical value) for a token that names a number or an identifier with digits."""
    if token.startswith("@"):
        return ("person", token)
    if _REGION.match(token):
        return ("region", token)
    if _ADDRESS.match(token):
        return ("address", token)
    if _VERSION.match(token):
        return ("version", token.removeprefix("v"))
    quantity = _QUANTITY.match(token)
    if quantity:
        value, unit = quantity.group(1), quantity.group(2) or ""
        if unit == "%":
            return ("percent", value + "%")
        if unit in _UNIT_SECONDS:
            return ("duration", _duration(float(value) * _UNIT_SECONDS[unit]))
        if not unit:
            return ("number", value)
    if any(ch.isdigit() for ch in token) or "." in token:
        return ("name", token)
    return None


def _duration(seconds: float) -> str:
    for unit, size in (("y", 31536000), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _intent(tokens: list[str]) -> str:
    for index in range(len(tokens)):
        for words, intent in _INTENTS:
            if tuple(tokens[index : index + len(words)]) == words:
                return intent
    return "what"


def facets(text: str, *, jira_keys: Iterable[str] = ()) -> Facets:
    """Read a question once. Jira keys are found in the original case (`OPS-12`, not `db-02`)."""
    keys = {key.lower() for key in jira_keys} | {k.lower() for k in _JIRA_KEY.findall(text)}
    tokens = _tokens(_clean(text))
    numbers: list[tuple[str, str]] = []
    environments: list[str] = []
    words: list[str] = []
    roles: list[tuple[str, str]] = []
    spelling: dict[str, str] = {}
    role = ""
    value = ""
    for token in tokens:
        if token in _ROLE_WORDS:
            role = _ROLE_WORDS[token]
            continue
        if token in _STOPWORDS or token in _NEGATIONS:
            continue
        if token in _SYNONYMS:
            value = _SYNONYMS[token]
            words.append(value)
        elif token in keys:
            value = token.upper()
            numbers.append(("jira", value))
        elif token in _ENVIRONMENTS:
            value = _ENVIRONMENTS[token]
            environments.append(value)
        elif (found := _number(token)) is not None:
            value = found[1]
            numbers.append(found)
        elif token in _BARE_UNITS:
            value = _duration(_UNIT_SECONDS[token])
            numbers.append(("duration", value))
        else:
            value = _SYNONYMS.get(token) or _SYNONYMS.get(stem(token)) or stem(token)
            words.append(value)
        spelling.setdefault(value, token)
        if role:
            roles.append((role, value))
    return Facets(
        intent=_intent(tokens),
        negations=sum(token in _NEGATIONS for token in tokens),
        tense=frozenset(_TENSES[t] for t in tokens if t in _TENSES),
        numbers=tuple(numbers),
        environments=tuple(environments),
        words=tuple(words),
        roles=tuple(roles),
        spelling=spelling,
    )


def _differs(
    label: str, a: Iterable[str], b: Iterable[str], spelling: Mapping[str, str] | None = None
) -> Verdict | None:
    """A refusal naming the first value each side has that the other lacks, if any."""
    left, right = Counter(a), Counter(b)
    if left == right:
        return None
    spelled = spelling or {}
    only_a = [spelled.get(v, v) for v in left if left[v] > right[v]] or ["—"]
    only_b = [spelled.get(v, v) for v in right if right[v] > left[v]] or ["—"]
    return Verdict(False, f"guard:{label} {only_a[0]}≠{only_b[0]}")


def _numbers(a: Facets, b: Facets) -> Verdict | None:
    kinds = sorted({kind for kind, _ in a.numbers} | {kind for kind, _ in b.numbers})
    for kind in kinds:
        refusal = _differs(
            kind, (v for k, v in a.numbers if k == kind), (v for k, v in b.numbers if k == kind)
        )
        if refusal:
            return refusal
    return None


def _opposites(a: Facets, b: Facets) -> Verdict | None:
    words_a, words_b = set(a.words), set(b.words)
    for x, y in _OPPOSITES:
        for one, other, first, second in ((x, y, words_a, words_b), (y, x, words_a, words_b)):
            if one in first and other in second and (one not in second or other not in first):
                spelled = _spell(a, b)
                return Verdict(False, f"guard:opposite {spelled(one)}≠{spelled(other)}")
    return None


def _order(a: Facets, b: Facets) -> Verdict | None:
    """Direction. Two questions may not put different shared words in the same role ("into
    main" / "into the release branch"), nor one shared word in different roles ("to main" /
    "from main"), and a `by` or `than` may not appear on one side only."""
    shared = _values(a) & _values(b)
    spelled = _spell(a, b)
    for role in ("from", "to", "than", "by"):
        in_a = {w for r, w in a.roles if r == role and w in shared}
        in_b = {w for r, w in b.roles if r == role and w in shared}
        swapped = bool(in_a and in_b and not in_a & in_b)
        if swapped or (role in _STRICT_ROLES and bool(in_a) != bool(in_b)):
            first_a, first_b = spelled(_first(in_a)), spelled(_first(in_b))
            return Verdict(False, f"guard:order {role} {first_a}≠{role} {first_b}")
    for word in sorted(shared):
        roles_a = {r for r, w in a.roles if w == word}
        roles_b = {r for r, w in b.roles if w == word}
        if roles_a and roles_b and not roles_a & roles_b:
            shown = spelled(word)
            return Verdict(
                False, f"guard:order {_first(roles_a)} {shown}≠{_first(roles_b)} {shown}"
            )
    return None


def _values(question: Facets) -> set[str]:
    return set(question.words) | {v for _, v in question.numbers} | set(question.environments)


def _spell(a: Facets, b: Facets) -> Callable[[str], str]:
    spelling = {**b.spelling, **a.spelling}
    return lambda value: spelling.get(value, value)


def _first(values: set[str]) -> str:
    return min(values) if values else "—"


def _question(a: Facets, b: Facets) -> Verdict | None:
    return None if a.intent == b.intent else Verdict(False, f"guard:question {a.intent}≠{b.intent}")


def _negation(a: Facets, b: Facets) -> Verdict | None:
    if a.negations == b.negations:
        return None
    return Verdict(False, f"guard:negation {a.negations}≠{b.negations}")


def _tense(a: Facets, b: Facets) -> Verdict | None:
    """Past against present or future, only when both questions say (`list pods OOMKilled`
    has no tense of its own)."""
    if not (a.tense and b.tense and "past" in a.tense ^ b.tense):
        return None
    return Verdict(False, f"guard:tense {'/'.join(sorted(a.tense))}≠{'/'.join(sorted(b.tense))}")


def _environments(a: Facets, b: Facets) -> Verdict | None:
    return _differs("env", a.environments, b.environments)


def _words(a: Facets, b: Facets) -> Verdict | None:
    words_a, words_b = tuple(dict.fromkeys(a.words)), tuple(dict.fromkeys(b.words))
    return _differs("word", words_a, words_b, {**b.spelling, **a.spelling})


_CHECKS = (_question, _negation, _tense, _numbers, _environments, _opposites, _order, _words)


def compare_facets(a: Facets, b: Facets) -> Verdict:
    for check in _CHECKS:
        refusal = check(a, b)
        if refusal:
            return refusal
    return SAME


def compare(a: str, b: str) -> Verdict:
    """Do questions `a` and `b` ask the same thing? Pure; about 0.1 ms a pair."""
    return compare_facets(facets(a), facets(b))


__all__ = ["SAME", "Facets", "Verdict", "compare", "compare_facets", "facets", "stem"]
