"""Secrets out of text before it is queued, cached, quoted, logged or sent to a model.

`redact(text)` replaces each secret with a typed placeholder (`[redacted AWS secret key]`),
keeps the words around it (`postgres://app:[redacted password]@db:5432/x`), and lists what it
removed. Pure and in-process: every edge (Slack, the API, Jira text) calls it.

Detection leans on Yelp's detect-secrets, used at the level of its plugins, on the text itself
(no files, no baseline, no global settings): the plugins' own patterns for AWS, Slack, GitHub,
GitLab, JWT (with its validity check), private keys, basic-auth URLs, OpenAI, Stripe, SendGrid
and PyPI; its keyword list; its Shannon entropy measure and limits; its heuristic filters
(templated values, UUIDs, sequences). What it misses in chat text is filled in below, each gap
with its reason:

- Private keys: the plugin finds the `BEGIN … PRIVATE KEY` line only; the whole block up to its
  `END` line (or the end of a truncated paste) is one secret. `BEGIN ENCRYPTED PRIVATE KEY`
  (PKCS#8) is not in its list.
- JWT: its regex ends lazily before the signature, which would stay visible.
- Slack: its token regex wants digit-only segments; app-level `xapp-` tokens, refresh tokens
  (`xoxe-`) and tokens with letters in a segment are missed.
- GitHub fine-grained tokens (`github_pat_…`) and Vault tokens (`hvs.`, `hvb.`, legacy `s.`)
  have no plugin.
- URL passwords: its pattern wants a user name and no sub-delimiters, so `redis://:pw@host`
  (how Redis URLs carry `requirepass`) and `p@ss!word`-style passwords were missed.
- AWS secret keys: its pattern wants the 40 characters quoted; env files, `~/.aws/credentials`,
  CLI flags and a key pasted next to its access key id are not.
- Key/value pairs: `KeywordDetector` is written for source files: its value runs to the end of
  the line (and through newlines), it reports one pair per line, flags `secretary: Alice`, and
  knows no `token`. Pairs here take one value (quoted, or up to a separator), skip keys that
  name metadata (`token_url`, `password_file`, `max_tokens`) and values that are references
  (`${X}`, `os.environ[…]`, paths); spaced prose (`password: it expired`) is left alone.
  Added: CLI flags (`--password x`, `mysql -px`, `curl -u user:x`, `docker login -p x`),
  `Authorization:` / `Bearer` values, XML elements (also as Slack escapes them), and
  environment lists that put the name and the value in two fields (Kubernetes, ECS).
- High-entropy strings are taken only right after a secret word (`my token is …`): the
  plugins' limits are for long strings, so the limit scales down with length.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from detect_secrets.filters.heuristic import (
    is_potential_uuid,
    is_sequential_string,
    is_templated_secret,
)
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
)
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.keyword import DENYLIST
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.stripe import StripeDetector


@dataclass(frozen=True)
class Finding:
    """One secret removed: `kind` for counting (ledger, metrics), `label` for people."""

    kind: str
    label: str

    @property
    def placeholder(self) -> str:
        return f"[redacted {self.label}]"


@dataclass(frozen=True)
class Redacted:
    text: str
    findings: tuple[Finding, ...] = ()

    @property
    def labels(self) -> tuple[str, ...]:
        """What was removed, each label once, in order of first appearance."""
        return tuple(dict.fromkeys(f.label for f in self.findings))


AWS_ACCESS_KEY = Finding("aws_access_key", "AWS access key")
AWS_SECRET_KEY = Finding("aws_secret_key", "AWS secret key")
AWS_SESSION_TOKEN = Finding("aws_session_token", "AWS session token")
SLACK_TOKEN = Finding("slack_token", "Slack token")
SLACK_WEBHOOK = Finding("slack_webhook", "Slack webhook")
GITHUB_TOKEN = Finding("github_token", "GitHub token")
GITLAB_TOKEN = Finding("gitlab_token", "GitLab token")
JWT = Finding("jwt", "JWT")
PRIVATE_KEY = Finding("private_key", "private key")
PASSWORD = Finding("password", "password")
VAULT_TOKEN = Finding("vault_token", "Vault token")
API_KEY = Finding("api_key", "API key")
TOKEN = Finding("token", "token")
SECRET = Finding("secret", "secret")


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    rank: int  # lower wins when hits overlap: the more specific detector names the secret
    finding: Finding


@dataclass(frozen=True)
class _Pattern:
    """A regex whose `group` is a secret. Slow regexes (case-insensitive ones, or those that
    scan a line for a flag) run only when one of their `triggers` is in the lower-cased text;
    the others start with a literal, which the regex engine finds fast. Values found next to
    a word (`generic`) may be references (`${DB_PASSWORD}`) and are checked."""

    regex: re.Pattern[str]
    finding: Finding
    triggers: tuple[str, ...] = ()
    group: int = 0
    rank: int = 1
    generic: bool = False


def _plugin(plugin: RegexBasedDetector, finding: Finding) -> list[_Pattern]:
    return [_Pattern(regex, finding) for regex in plugin.denylist]


_AWS = AWSKeyDetector()
_SLACK = SlackDetector()
_PLUGIN_PATTERNS = [
    _Pattern(_AWS.denylist[0], AWS_ACCESS_KEY),
    _Pattern(_AWS.denylist[1], AWS_SECRET_KEY, ("aws",), group=1),
    _Pattern(_SLACK.denylist[0], SLACK_TOKEN, ("xox",)),
    _Pattern(_SLACK.denylist[1], SLACK_WEBHOOK, ("hooks.slack.com",)),
    *_plugin(GitHubTokenDetector(), GITHUB_TOKEN),
    *_plugin(GitLabTokenDetector(), GITLAB_TOKEN),
    *_plugin(OpenAIDetector(), API_KEY),
    _Pattern(StripeDetector.denylist[0], API_KEY, ("k_live_",)),
    *_plugin(SendGridDetector(), API_KEY),
    *_plugin(PypiTokenDetector(), API_KEY),
    _Pattern(BasicAuthDetector.denylist[0], PASSWORD, group=1, rank=2, generic=True),
]
# The gaps. Each starts with a literal and checks the character before it with a lookbehind
# placed after that literal: a leading lookbehind makes the engine try every position.
_GAP_PATTERNS = [
    _Pattern(
        re.compile(r"x(?<![\w-]x)(?:ox[abposre]|app)-[A-Za-z0-9-]{10,}"),
        SLACK_TOKEN,
    ),
    _Pattern(
        # Fine-grained tokens have no plugin; the plugin's classic-token regex stops at 36
        # characters with no boundary, which would leave the rest of a longer token visible.
        re.compile(r"gh[pousr]_[A-Za-z0-9_]{36,}|github_pat_[A-Za-z0-9_]{22,}"),
        GITHUB_TOKEN,
    ),
    _Pattern(re.compile(r"hv(?<![\w.]hv)[sbr]\.[A-Za-z0-9_-]{24,}"), VAULT_TOKEN),
    _Pattern(
        # Legacy Vault tokens: `s.` and 24 characters of both cases (lower-case-only runs are
        # host names and the like).
        re.compile(r"s\.(?<![\w.]s\.)(?=[a-z0-9]*[A-Z])(?=[A-Z0-9]*[a-z])[A-Za-z0-9]{24}(?![\w.])"),
        VAULT_TOKEN,
    ),
    _Pattern(
        # Userinfo with an empty user (`redis://:pw@host`), sub-delimiters, and an unencoded
        # `@` (the password runs to the last `@` before the host).
        re.compile(r"://[^\s:/?#@\[\]<>|]*:([^\s/?#<>|]+)@"),
        PASSWORD,
        group=1,
        rank=2,
        generic=True,
    ),
    _Pattern(
        re.compile(
            r"aws[\w .-]{0,30}?secret[\w .-]{0,30}?[\"']?"
            r"(?:[ \t]*[:=][ \t]*|[ \t]+)[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
            re.IGNORECASE,
        ),
        AWS_SECRET_KEY,
        ("aws",),
        group=1,
    ),
    _Pattern(
        re.compile(
            r"(?i:authorization)[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"(?:(?i:bearer|basic|token|bot|apikey)[ \t]+)?([^\s\"',;]{8,})"
        ),
        TOKEN,
        ("authorization",),
        group=1,
        rank=2,
        generic=True,
    ),
    _Pattern(
        re.compile(r"(?i:bearer)[ \t]+((?=[^\s]*\d)[A-Za-z0-9._~+/-]{20,}=*)"),
        TOKEN,
        ("bearer",),
        group=1,
        rank=2,
        generic=True,
    ),
    # Short flags that carry a password: `mysql -pSECRET`, `curl -u user:SECRET`,
    # `docker login -p SECRET` (long flags such as `--password` are key/value pairs).
    _Pattern(
        re.compile(r"mysql(?<!\wmysql)(?:dump|admin|sh)?\b[^\n]{0,200}?[ \t]-p([^\s-]\S*)"),
        PASSWORD,
        ("-p",),
        group=1,
        rank=2,
        generic=True,
    ),
    _Pattern(
        re.compile(
            r"curl(?<!\wcurl)\b[^\n]{0,200}?[ \t](?:-u|--user)[ \t]*[\"']?[^\s:\"']*:([^\s\"']+)"
        ),
        PASSWORD,
        ("curl",),
        group=1,
        rank=2,
        generic=True,
    ),
    _Pattern(
        re.compile(r"login(?<!\wlogin)\b[^\n]{0,200}?[ \t]-p[ \t]+[\"']?([^\s\"'-][^\s\"']*)"),
        PASSWORD,
        ("-p",),
        group=1,
        rank=2,
        generic=True,
    ),
]

_KEY_HEADER = re.compile(r"BEGIN ENCRYPTED PRIVATE KEY")
_KEY_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|Private-MAC: *\S+")
_KEY_NEXT_BEGIN = re.compile(r"-----BEGIN |PuTTY-User-Key-File")
# Without an END line (a truncated paste), the rest of the header line and the lines that
# look like key material: base64 runs and `Proc-Type: …` headers, not prose.
_KEY_BODY = re.compile(
    r"[^\n]*(?:\r?\n(?:[ \t]*[A-Za-z0-9+/=]{16,}[ \t]*|[A-Za-z-]+: [^\n]*)(?=\r?\n|$))*"
)
_JWT_SIGNATURE = re.compile(r"[A-Za-z0-9_=+/-]*")
_AWS_SECRET_NEARBY = re.compile(
    r"(?<![A-Za-z0-9/+=])(?=[^\s]{0,39}[A-Z])(?=[^\s]{0,39}[a-z])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
)


def _pattern_hits(text: str, lower: str) -> Iterator[_Hit]:
    for pattern in (*_PLUGIN_PATTERNS, *_GAP_PATTERNS):
        if pattern.triggers and not any(trigger in lower for trigger in pattern.triggers):
            continue
        for match in pattern.regex.finditer(text):
            start, end = match.span(pattern.group)
            if not (pattern.generic and _is_placeholder(text[start:end])):
                yield _Hit(start, end, pattern.rank, pattern.finding)


def _jwt_hits(text: str, _lower: str) -> Iterator[_Hit]:
    if "eyJ" not in text:
        return
    for regex in JwtTokenDetector.denylist:
        for match in regex.finditer(text):
            if JwtTokenDetector.is_formally_valid(match.group()):
                signature = _JWT_SIGNATURE.match(text, match.end())
                yield _Hit(match.start(), signature.end() if signature else match.end(), 1, JWT)


def _private_key_hits(text: str, _lower: str) -> Iterator[_Hit]:
    if "PRIVATE KEY" not in text and "PuTTY" not in text:
        return
    headers = sorted(
        (m for regex in (*PrivateKeyDetector.denylist, _KEY_HEADER) for m in regex.finditer(text)),
        key=lambda m: m.start(),
    )
    # Every END and BEGIN line found once, so that many headers cost no more than one.
    ends = list(_KEY_END.finditer(text))
    end_starts = [m.start() for m in ends]
    begins = [m.start() for m in _KEY_NEXT_BEGIN.finditer(text)]
    covered = 0
    for header in headers:
        begin = header.start()
        if begin < covered:
            continue
        start = begin - 5 if text[max(0, begin - 5) : begin] == "-----" else begin
        at = bisect.bisect_left(end_starts, header.end())
        after = bisect.bisect_left(begins, header.end())
        next_key = begins[after] if after < len(begins) else len(text)
        if at < len(ends) and end_starts[at] < next_key:
            covered = ends[at].end()
        else:  # a truncated paste
            body = _KEY_BODY.match(text, header.end())
            covered = body.end() if body else header.end()
        yield _Hit(start, covered, 0, PRIVATE_KEY)


def _aws_pair_hits(text: str, _lower: str) -> Iterator[_Hit]:
    """A 40-character secret key pasted within two lines of its access key id."""
    for match in _PLUGIN_PATTERNS[0].regex.finditer(text):
        begin = text.rfind("\n", 0, match.start()) + 1
        end = begin
        for _ in range(3):
            found = text.find("\n", end + 1)
            end = len(text) if found < 0 else found
        for secret in _AWS_SECRET_NEARBY.finditer(text, begin, end):
            yield _Hit(secret.start(), secret.end(), 1, AWS_SECRET_KEY)


# -- key/value pairs and secret words --------------------------------------------------------

# detect-secrets' keyword list, with `api key` / `api-key` spellings, plus what it lacks.
_KEYWORD = re.compile(
    "|".join(word.replace("_?", "[ _-]?") for word in DENYLIST) + "|passphrase|token"
)
_KEYWORD_AT = re.compile(f"(?=({_KEYWORD.pattern}))")
_FAMILIES = (
    ("pass", PASSWORD),
    ("pwd", PASSWORD),
    ("contras", PASSWORD),
    ("token", TOKEN),
    ("api", API_KEY),
    ("priv", PRIVATE_KEY),
)
_NAME_VALUE = re.compile(
    r"name[\"']?[ \t]*[:=][ \t]*[\"']?(?P<key>[\w.-]+)[\"']?[ \t]*(?:,|\r?\n)[ \t-]*"
    r"[\"']?value[\"']?[ \t]*[:=][ \t]*(?:(?P<q>[\"'])(?P<qv>[^\"'\n]+)(?P=q)|(?P<v>[^\s\"',}]+))"
)
_SECOND_WORD = re.compile(r" (?:[Kk]ey|KEY|[Tt]oken|TOKEN)\b")
_METADATA = frozenset(
    str.split(
        "file path dir url uri endpoint host name ref keyref length len min max policy ttl "
        "expiry expires expiration type header field env var mode prompt reset hint rotation "
        "age count version arn enabled required limit budget usage cost price window size "
        "format rate timeout store manager provider source refresh interval status state error "
        "scope scopes algorithm alg issuer audience lifetime duration created updated at"
    )
)
_IDENT = re.compile(r"[\w.-]*")
_ASSIGNMENT = re.compile(
    r"[\"'\]*]{0,2}(?P<sep>[ \t]*(?:=>|:=|==?|:)[ \t]*|[ \t]+)(?:[*_]{1,2}[ \t]*)?"
    r"(?:(?P<q>[\"'`])(?P<qv>[^\"'`\n]{1,256})(?P=q)|(?P<v>[^\s\"'`,;&)}\]<>]{1,256}))"
)
_NEAR_WORD = re.compile(
    r"(?:[ \t]+(?:is|was|here)\b)?(?:[ \t]*[:=])?[ \t]+[\"'`]?"
    r"(?P<v>[A-Za-z0-9+/_=~.-]{16,512})(?![A-Za-z0-9+/_=~.-])"
)
_LINE_TAIL_NOISE = " \t\r,;}])'\"`"
_PLACEHOLDER_WORDS = frozenset(
    str.split(
        "null none nil true false yes no on off undefined required optional string str int bool "
        "bytes secretstr any expired invalid missing empty unset redacted hidden masked"
    )
)
_REFERENCE = re.compile(
    r"[\w.-]+[\[(]"  # os.environ[…], get_secret(…)
    r"|[a-z_]\w*(?:\.[A-Za-z_]\w*)+$"  # settings.db_password, process.env.TOKEN
    r"|[$%<{]|(?:~|\.{1,2})?/|\.\.|…"  # $VAR, %(x)s, <your-token>, {{ x }}, paths, "..."
    r"|![A-Za-z]+$"  # YAML tags: !vault, !Ref
)
# A part with two digits or more among letters (`7d9f8b6c4`, `x2x9q`): a generated name such
# as a pod's (`token-refresher-7d9f8b6c4-x2x9q`), not a key.
_GENERATED_PART = re.compile(r"(?=\w*\d\w*\d)(?=\w*[a-z])[a-z0-9]{5,}")
_CAMEL = re.compile(r"[_.\- ]+|(?<=[a-z])(?=[A-Z])")
_BASE64 = Base64HighEntropyString()
_HEX = HexHighEntropyString()


def _is_placeholder(value: str) -> bool:
    return (
        value.lower() in _PLACEHOLDER_WORDS
        or value.startswith("[redacted")
        or len(set(value)) == 1
        or is_templated_secret(value)
        or bool(_REFERENCE.match(value))
        or not any(char.isalnum() for char in value)
    )


def _looks_random(value: str) -> bool:
    """Right after a secret word, a long enough string of mixed characters whose entropy is
    near what a random string of its length has (the plugins' limits assume 40+ characters)."""
    part = max(re.split(r"[-.]", value), key=len)
    if len(part) < 16 or is_potential_uuid(value) or is_sequential_string(part):
        return False
    if not (any(c.isdigit() for c in part) or (part.lower() != part != part.upper())):
        return False
    plugin = _HEX if all(c in "0123456789abcdefABCDEF" for c in part) else _BASE64
    limit = min(plugin.entropy_limit, 0.8 * math.log2(len(part)))
    return plugin.calculate_shannon_entropy(part) >= limit


@functools.lru_cache(maxsize=1024)  # logs repeat their keys (`input_tokens`, `password`)
def _key_finding(key: str) -> Finding | None:
    """The finding a key names, or None when it is not a secret's name (`secretary`,
    `max_tokens`, `token_url`, `password_file`)."""
    lowered = key.lower()
    # Overlapping matches: in `DB_PASSWORD` both `db_pass` and `password` are keywords.
    words = [w for w in _KEYWORD_AT.finditer(lowered) if _ends_a_word(key, w.end(1))]
    parts = [p.lower() for p in _CAMEL.split(key) if p]
    if not words or parts[-1] in _METADATA or any(_GENERATED_PART.fullmatch(p) for p in parts):
        return None
    family = words[-1].group(1)
    if "aws" in lowered:
        return AWS_SESSION_TOKEN if family == "token" else AWS_SECRET_KEY
    return next((finding for part, finding in _FAMILIES if part in family), SECRET)


def _ends_a_word(key: str, end: int) -> bool:
    """`password_file`, `secretKey`, `token2`: yes; `secretary`, `tokens`: no."""
    tail = key[end:]
    return not tail or tail[0] in "_.- 0123456789" or (tail[0].isupper() and not key.isupper())


def _identifier(text: str, reverse: str, word: re.Match[str]) -> tuple[int, int]:
    """The identifier around a keyword; `reverse` is the text reversed, so that the way back
    is a forward match (a regex cannot search backwards)."""
    before = _IDENT.match(reverse, len(text) - word.start())
    start = word.start() - (before.end() - before.start() if before else 0)
    after = _IDENT.match(text, word.end())
    end = after.end() if after else word.end()
    second = _SECOND_WORD.match(text, end)  # `secret key: …`, `session token: …`
    return start, second.end() if second else end


def _pair_value(text: str, key: str, finding: Finding, end: int) -> tuple[int, int] | None:
    """The span of the value assigned to `key` (which ends at `end`), if it is a secret."""
    match = _ASSIGNMENT.match(text, end)
    if match is None:
        return None
    group = "qv" if match.group("qv") else "v"
    value, sep = match.group(group), match.group("sep")
    # Digits alone are a count (`token_count: 5`) except as a password (a PIN).
    if _is_placeholder(value) or (value.isdigit() and finding != PASSWORD):
        return None
    if not sep.strip():  # `--password foo`: whitespace assigns only after a flag
        ok = key.startswith("-") and not value.startswith("-")
    elif group == "qv" or sep == sep.strip() or text[match.end() : match.end() + 1] in ",;}]":
        ok = True
    else:  # `password: …` with spaces is prose unless the value ends the line or looks random
        line_end = text.find("\n", match.end())
        rest = text[match.end() : len(text) if line_end < 0 else line_end]
        ok = not rest.strip(_LINE_TAIL_NOISE) or _looks_random(value) or _is_alphanumeric(value)
    return match.span(group) if ok else None


def _is_alphanumeric(value: str) -> bool:
    """Letters and digits mixed, as in `Summer2024!`; prose words and counts are not."""
    return len(value) >= 6 and any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _xml_value(text: str, start: int, end: int) -> tuple[int, int] | None:
    """`<password>…</password>`, also as Slack escapes it (`&lt;password&gt;…`)."""
    for opening, closing in (("<", ">"), ("&lt;", "&gt;")):
        if text[max(0, start - len(opening)) : start] == opening and text.startswith(closing, end):
            begin = end + len(closing)
            close = text.find(f"{opening}/{text[start:end]}{closing}", begin)
            value = text[begin:close]
            if close < 0 or "\n" in value or not value or _is_placeholder(value.strip()):
                return None
            return begin, close
    return None


def _name_value_hits(text: str, lower: str) -> Iterator[_Hit]:
    """Environment lists, where the secret's name and its value are two fields: Kubernetes
    `- name: DB_PASSWORD` / `value: …`, ECS `{"name": "DB_PASSWORD", "value": "…"}`."""
    if "value" not in lower:
        return
    for match in _NAME_VALUE.finditer(text):
        finding = _key_finding(match.group("key"))
        group = "qv" if match.group("qv") else "v"
        if finding is not None and not _is_placeholder(match.group(group)):
            yield _Hit(*match.span(group), 3, finding)


def _keyword_hits(text: str, lower: str) -> Iterator[_Hit]:
    done, reverse = 0, text[::-1]
    for word in _KEYWORD.finditer(lower):
        if word.start() < done:
            continue
        start, end = _identifier(text, reverse, word)
        done = end
        if text[start - 1 : start] in (":", "/", "@", "$"):  # ARNs, URL paths, $VARIABLES
            continue
        key = text[start:end].strip(".")
        finding = _key_finding(key)
        if finding is None:
            continue
        span = _xml_value(text, start, end) or _pair_value(text, key, finding, end)
        if span is None:
            near = _NEAR_WORD.match(text, end)
            if near and not _is_placeholder(near.group("v")) and _looks_random(near.group("v")):
                span = near.span("v")
        if span is not None:
            done = span[1]
            yield _Hit(*span, 3, finding)


# -- putting it together ---------------------------------------------------------------------

_DETECTORS: tuple[Callable[[str, str], Iterator[_Hit]], ...] = (
    _private_key_hits,
    _pattern_hits,
    _jwt_hits,
    _aws_pair_hits,
    _keyword_hits,
    _name_value_hits,
)


def _merge(hits: list[_Hit]) -> list[_Hit]:
    """Overlapping hits become one span named by the most specific of them, so that no part
    of a secret stays visible between two placeholders."""
    merged: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start, h.rank)):
        last = merged[-1] if merged else None
        if last is not None and hit.start < last.end:
            best = last if last.rank <= hit.rank else hit
            merged[-1] = _Hit(last.start, max(last.end, hit.end), best.rank, best.finding)
        else:
            merged.append(hit)
    return merged


def _lowered(text: str) -> str:
    """Lower-cased with the same indices (a few characters lower-case to two)."""
    lower = text.lower()
    return lower if len(lower) == len(text) else "".join(c.lower()[0] for c in text)


def redact(text: str) -> Redacted:
    """`text` with each secret replaced by its placeholder; the findings in text order.

    Idempotent: placeholders are never taken for secrets."""
    lower = _lowered(text)
    hits = _merge([hit for detect in _DETECTORS for hit in detect(text, lower)])
    if not hits:
        return Redacted(text)
    pieces, position = [], 0
    for hit in hits:
        pieces += [text[position : hit.start], hit.finding.placeholder]
        position = hit.end
    pieces.append(text[position:])
    return Redacted("".join(pieces), tuple(hit.finding for hit in hits))


__all__ = ["Finding", "Redacted", "redact"]
