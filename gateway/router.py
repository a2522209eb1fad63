"""Right-sizing: which tier answers a request, and why, from signals computed in microseconds
with no model call.

The question, and the root of its thread, are measured once (`measure_text`: prose apart from
pasted log and code lines, cue families found in the prose, number of questions); each row of
`SIGNALS` tests the measurements and adds points; the task's default tier sets the
starting score (`START_POINTS`) and `THRESHOLDS` turn the total into a tier. Policy then
applies, in this order, each step naming itself in `Decision.reason` when it changes the tier:

1. the person's override (`--tier`, `--model`) replaces the score;
2. an escalation (the thread's last answer was cut or marked not helpful) and the channel's
   minimum raise the tier;
3. the channel's maximum lowers it (overrides and escalations included);
4. the tier the budget leaves (the caller knows it from `Budgets.choose_tier`) lowers it;
5. an unavailable tier moves to the nearest available one, upward first.

The promise is "no hard question quietly sent to a weak model": the small tier is earned only
by a short, single, plain lookup or how-to with no analysis cue, code or log, outside a thread
about something hard. Whatever the table cannot place stays on the task's default tier.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

from gateway.budgets import BUDGET_DOWNGRADE_REASON
from gateway.types import Route

TIERS = ("small", "medium", "large")  # cheapest first; gateway.engine orders tiers by this

# A question is "short" (a candidate for the small tier) up to this many characters of prose.
SHORT_CHARS = 160
# Cues are looked for in this many characters at the start and at the end of a long prose:
# that is where people put the ask; the middle is context, and its length scores anyway.
CUE_HEAD_CHARS, CUE_TAIL_CHARS = 600, 400
# A thread this many turns deep carries enough context to need a capable reader.
DEEP_THREAD_TURNS = 8
# Cue families that rule out the small tier; `lookup` and `howto` are what earns it.
HEAVY_CUES = frozenset(
    {"why", "symptom", "design", "compare", "advice", "explain", "write", "risk"}
)

OVERRIDE_REASON = "override"
CHANNEL_MINIMUM_REASON = "channel minimum"
CHANNEL_MAXIMUM_REASON = "channel maximum"
ESCALATED_REASON = "escalated"
# The escalation a person asked for with the *Not helpful* button under an answer.
NOT_HELPFUL_REASON = "not helpful"
TASK_DEFAULT_REASON = "task default"


# -- measuring a text -------------------------------------------------------------------------

# One line of a pasted log, by how it starts: timestamps, stack frames, `kubectl describe` and
# `get` output. Matched at the line's start only, so a miss costs little.
_LOG_START = re.compile(
    r"\s*\[?\d{4}([-/])\d{2}\1\d{2}[T ]\d{2}:\d{2}"
    r"|\s*\[?\d{2}:\d{2}:\d{2}[.,\]\s]"
    r"|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}"
    r"|[IWEF]\d{4} \d{2}:\d{2}"
    r"|\s+at [\w$.<>/]+[(.]"
    r"|\s*File \"[^\"]+\", line \d+"
    r"|Traceback \(most recent call last\)"
    r"|goroutine \d+ \[|panic: |\s+/\S+\.go:\d+"
    r"|(?:Caused by|Exception in thread)\b|[\w.]*(?:Exception|Error): "
    r"|\s*(?:Warning|Normal)\s+\w+\s+(?:\d+[smhd]|<unknown>)"
    r"|\s*(?:State|Last State|Reason|Exit Code|Restart Count|Started|Finished):\s"
    r"|[\w.-]+\s+\d+/\d+\s+\w+\s+\d+"
    r"|\s*(?:NAME\s+(?:READY|STATUS|TYPE)|Type\s+Reason\s+Age\b)"
    r"|\s*-{3,}(?:\s+-{3,})+\s*$"
)
# ...or by what it holds anywhere: a level, an access-log date, a structured level field.
_LOG_ANYWHERE = re.compile(
    r"\b(?:ERROR|WARN|WARNING|INFO|DEBUG|FATAL|CRITICAL|TRACE|PANIC)\b"
    r"|\[(?:error|warn|crit|alert|emerg|notice)\]"
    r"|\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}"
    r"|\blevel=\w|\"(?:level|severity)\":"
)
# One line of pasted code, config or shell (matched from the line's start).
_CODE_LINE = re.compile(
    r"\s*(?:def |class |import |from [\w.]+ import |func |package |public |private |const "
    r"|let |var |return\b|elif |else:|try:|except\b|#include|SELECT |INSERT |UPDATE |DELETE "
    r"|CREATE |ALTER |WITH \w+ AS|resource \"|module \"|variable \"|provider \"|data \""
    r"|apiVersion:|kind:|metadata:|spec:|- name:|FROM \S|RUN |COPY |ENV |EXPOSE |CMD "
    r"|ENTRYPOINT |\$ |kubectl |helm |terraform |aws |gcloud |docker |curl |psql )"
    r"|.*[{};]\s*$"
    r"|\s{2,}[\w.\"-]+:(?:\s|$)"
    r"|[\w.-]+:\s{2,}\S"
    r"|\s*[\w.\[\]\"-]+\s*=\s*\S"
)
# A bare word after an opening fence is its language, not content.
_LANG_TAG = re.compile(r"[A-Za-z+#-]{1,15}")
# Cues are searched in the prose only (lower-cased), never in the pasted log or code: a log
# full of "ERROR" and "failed" says nothing about what the person asks. Each family lists its
# alternatives separated by " | " or line ends; every alternative starts at a word boundary.
_CUE_WORDS = {
    # Asking for a diagnosis or a review.
    "why": r"""
        why\b | root[- ]?cause | rca\b | debug | diagnos | troubleshoot | investigat
        what(?:'s| is| was) (?:going on|wrong|happening) | what gives\b | what happened\b
        what changed\b | caus(?:e|es|ing)\b | make sense of\b | figure out\b | fix(?:ing)?\b
        real (?:one|error|problem|issue|cause)\b | bugs?\b
        (?:review|check|audit) (?:this|these|that|my|our)\b
        find (?:the |out )?(?:leak|cause|culprit|problem|issue|bottleneck|source)
        where (?:do|should) (?:i|we) (?:look|start) | what should (?:i|we) (?:look at|check)
    """,
    # Describing a problem: worth a capable reader, less so than being asked why. Symptoms
    # also appear in text to be written ("draft an update: elevated errors…").
    "symptom": r"""
        keeps? (?:\w+ing|timing out)\b | \w+n't (?:work|help|start|connect|fix|run|load)
        not working\b | stuck\b | broken\b | breaks?\b | fail(?:s|ing|ed|ures?)\b | leak
        hang(?:s|ing)\b | same (?:error|thing|problem)s?\b | errors?\b | exceptions?\b
        still (?:failing|broken|happening|seeing|getting|down|slow) | slow(?:er|ness)?\b
        spik(?:e|es|ing)\b | flak | tim(?:es|ing) out\b | degraded\b | regression\b
        caused by\b | crash(?:es|ed|ing)?\b | (?:jump|doubl|tripl|surg)(?:ed|es|ing)\b
        [45]\d\ds\b | intermittent | random(?:ly)?\b | sporadic | race condition | deadlock
        (?:high|elevated|increased|rising) (?:\w+ ){0,2}\w*(?:cpu|memory|latency|load|iops)\b
        (?:high|elevated|increased|rising) (?:\w+ ){0,2}(?:disk|traffic|errors?|cost|bill|lag)\b
    """,
    "design": r"""
        design | architect | trade-?offs?\b | strateg | (?<!terraform )plan(?:s|ned|ning)?\b
        rfc\b | migrat(?:e|ing)\b | pros and cons\b | approach(?:es)?\b | long[- ]term\b | evaluat
        multi-region\b | disaster recovery\b | rpo\b | rto\b
        weigh\b | should we (?:move|switch|adopt|replace|migrate|build|buy|split|merge)\b
        which would you (?:pick|choose|use)\b | (?:pick|choose) between\b
    """,
    "compare": r"""
        compar | versus\b | vs\b | diff(?:erent|erence)s? (?:between|from)\b | better\b | or\b
        alternatives?\b
    """,
    "advice": r"""
        recommend | suggest | advi[cs]e | best\b | sensible\b | ideal\b | optimal
        (?<!what )should\b
        good (?:\w+ )?(?:idea|way|approach|strategy|practice|pattern|default)s?\b
        is it (?:safe|ok|okay|fine|worth|bad|wise) | safe to\b | safer\b | safely\b | worth\b
        ideas?\b | thoughts\b | opinion | siz(?:e|ing)\b | tun(?:e|ing)\b | optimi[sz]
        improve | risks?\b | risky\b | blast radius\b | any reason\b | gotchas?\b
        what (?:would|do) you\b | enough\b
    """,
    "explain": r"""
        explain | walk me through\b | help me understand\b | elaborate\b | in detail\b
        deep dive\b | how does .{1,60} work\b
    """,
    "write": r"""
        write\b | draft\b | turn (?:this|that|it|these) into\b | convert\b | rewrite\b
        refactor | summari[sz]e\b | compose\b | (?:create|make|give) me an?\b | outline\b
    """,
    "risk": r"""
        prod\b | production\b | live traffic\b | delet | drop\b | destroy | truncat | purge
        flush | wipe | rm -rf\b | force[- ]push | fail ?over | fail(?:ed)? ?back\b | restor
        data loss\b | los(?:e|ing) data\b | outage | incident | sev ?[0-3]\b | security\b
        breach | leak(?:ed)?\b | compromis | cve-\d | migrat | upgrad | rollback | revert
        roll(?:ing)? back\b | downtime\b | cut ?over\b | customer data\b | pii\b | gdpr\b
        root account\b | encrypt | iam\b | access denied\b | pvcs?\b | persistent ?volume
        statefulsets?\b | without (?:breaking|losing|dropping|disrupting|downtime|restarting)
    """,
}
# "what's the <thing>", "what is our <adjective> <thing>": asking for a fact.
_THINGS = """
    command cmd url link port ip address hostname endpoint name channel dashboard runbook flag
    syntax path version default limit owner team repo email ticket schedule region id
"""
_WHAT_IS_THE_THING = (
    r"what(?:'s| is| are)? (?:the |our |my |a )?(?:\S+ )?(?:" + "|".join(_THINGS.split()) + r")s?\b"
)
# Lookups and how-tos count only where a clause starts: "…, who approves it?" is one.
_CLAUSE_START = r"(?:^|[.!?,;:(]\s*|\b(?:and|so|but|also|or)\s+)"
_STARTERS = {
    "lookup": r"""
        who(?:'s|se|m)?\b | where\b | which\b | when\b | what time\b | links?\b | urls?\b
        is there an?\b | are there\b | do we have\b | how many\b | are we (?:in|on)\b
        what does .{1,80}? (?:mean|stand for|do)\b | any (?:link|docs?|runbook|dashboard)\b
        is \S+ (?:down|up|deprecated|enabled|disabled)\b
    """
    + _WHAT_IS_THE_THING,
    "howto": r"""
        how (?:do|can|would) (?:i|we|you)\b | how to\b | steps (?:to|for)\b | can i\b
        what(?:'s| is| are) the (?:way|process|procedure|steps)\b | is there a way\b
        (?:can|could) you (?:give|show|tell) me\b | command (?:to|for)\b
    """,
}


def _alternatives(block: str) -> str:
    """The alternatives of a block as one regex; each must be a whole regex on its own, so a
    group split across two lines fails here, at import, instead of matching everything."""
    alternatives = [
        alternative.strip()
        for line in block.strip().splitlines()
        for alternative in line.split(" | ")
    ]
    for alternative in alternatives:
        if not alternative:
            raise ValueError(f"an empty alternative in {block!r}")
        re.compile(alternative)
    return "|".join(alternatives)


_CUES = {
    **{name: re.compile(rf"\b(?:{_alternatives(words)})") for name, words in _CUE_WORDS.items()},
    **{
        name: re.compile(rf"{_CLAUSE_START}(?:{_alternatives(words)})")
        for name, words in _STARTERS.items()
    },
}
_LONG_TEXT_CUES = {name: pattern for name, pattern in _CUES.items() if name not in _STARTERS}
_QUESTION_MARKS = re.compile(r"\?+")
_NUMBERED_ITEM = re.compile(r"(?:^|\s)\(?[1-9][.)]\s+[a-z]")
_ASKING_CLAUSE = re.compile(
    r"(?:^|[.!?,;:]\s*|\b(?:and|also|plus)\s+)(?:what|how|why|which|who|where|when|should)\b"
)


@dataclass(frozen=True)
class TextShape:
    """What the router reads from one text: its size, pasted lines, questions and cues."""

    total_chars: int
    prose_chars: int
    log_lines: int
    code_lines: int
    # How many questions it asks: question marks, numbered items or asking clauses.
    parts: int
    # The cue families (keys of `_CUES`) found in its prose.
    cues: frozenset[str]

    @property
    def is_log(self) -> bool:
        return self.log_lines >= 3

    @property
    def is_hard(self) -> bool:
        """A question whose follow-ups deserve a capable model too."""
        return (
            self.code_lines >= 3
            or self.parts >= 2
            or self.prose_chars > 400
            or bool(self.cues & {"why", "design", "compare"})
        )


def measure_text(text: str) -> TextShape:
    """Measure a question once; every signal then reads these numbers."""
    if "\n" in text or "```" in text:
        prose, log_lines, code_lines = _split_lines(text)
    else:
        prose, log_lines, code_lines = text.strip(), 0, 0
    # Phones and Macs type curly apostrophes: "didn’t help" is "didn't help".
    lowered = prose.lower().replace("\u2019", "'")
    numbered = len(_NUMBERED_ITEM.findall(lowered))
    parts = max(
        len(_QUESTION_MARKS.findall(lowered)),
        numbered if numbered >= 2 else 0,
        len(_ASKING_CLAUSE.findall(lowered)),
    )
    return TextShape(len(text), len(prose), log_lines, code_lines, parts, _cues(lowered))


def _cues(lowered: str) -> frozenset[str]:
    if len(lowered) > CUE_HEAD_CHARS + CUE_TAIL_CHARS:
        lowered = f"{lowered[:CUE_HEAD_CHARS]} … {lowered[-CUE_TAIL_CHARS:]}"
    # Lookups and how-tos only ever matter for a short question.
    families = _CUES if len(lowered) <= SHORT_CHARS else _LONG_TEXT_CUES
    return frozenset(name for name, pattern in families.items() if pattern.search(lowered))


def _split_lines(text: str) -> tuple[str, int, int]:
    """The prose of a multi-line text, and how many of its lines are log and code.

    Inside a ``` fence every line is log or code; outside, a line must look like one.
    """
    prose: list[str] = []
    log_lines = code_lines = 0
    fenced = False
    for line in text.splitlines():
        for n, segment in enumerate(line.split("```")):
            if n:
                fenced = not fenced
            if not segment.strip():
                continue
            if fenced and n and _LANG_TAG.fullmatch(segment.strip()):
                continue
            if _LOG_START.match(segment) or _LOG_ANYWHERE.search(segment):
                log_lines += 1
            elif fenced or _CODE_LINE.match(segment):
                code_lines += 1
            else:
                prose.append(segment.strip())
    return " ".join(prose), log_lines, code_lines


@dataclass(frozen=True)
class Shape:
    """A request as the signals see it: the question, and what its thread is about."""

    question: TextShape
    prior_turns: int
    root_is_log: bool
    root_is_hard: bool
    # Short, one question, prose only, no analysis cue, not in a thread about a hard topic:
    # the only kind of request the small tier may take.
    is_plain: bool


def measure(request: RouteInput) -> Shape:
    question = measure_text(request.question)
    root = measure_text(request.thread_root) if request.thread_root else None
    root_is_log = root is not None and root.is_log
    root_is_hard = root is not None and root.is_hard
    is_plain = (
        question.prose_chars <= SHORT_CHARS
        and question.parts <= 1
        and not question.log_lines
        and not question.code_lines
        and not question.cues & HEAVY_CUES
        and not root_is_log
        and not root_is_hard
    )
    return Shape(question, request.prior_turns, root_is_log, root_is_hard, is_plain)


# -- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signal:
    name: str
    test: Callable[[Shape], bool]
    points: int
    label: str


# One row per signal: what it tests, what it is worth, and how a reason names it.
# Thresholds below: large at 4 points, small at -2 or fewer, medium between.
SIGNALS: tuple[Signal, ...] = (
    Signal("pasted_log", lambda s: s.question.log_lines >= 3, 2, "pasted log"),
    # A log's `key: value` lines read like config: with a log pasted, they are the log.
    Signal(
        "pasted_code",
        lambda s: s.question.code_lines >= 3 and s.question.log_lines < 3,
        2,
        "pasted code",
    ),
    Signal("long_question", lambda s: s.question.prose_chars > 400, 3, "long question"),
    Signal("several_questions", lambda s: s.question.parts >= 3, 3, "several questions"),
    Signal("two_questions", lambda s: s.question.parts == 2, 1, "two questions"),
    Signal("design", lambda s: "design" in s.question.cues, 6, "design / trade-off"),
    Signal("why", lambda s: "why" in s.question.cues, 2, "why"),
    # A symptom described is half of asking why; asked why as well, it adds nothing.
    Signal(
        "symptom",
        lambda s: "symptom" in s.question.cues and "why" not in s.question.cues,
        1,
        "symptom",
    ),
    Signal("compare", lambda s: "compare" in s.question.cues, 1, "comparison"),
    Signal("advice", lambda s: "advice" in s.question.cues, 1, "advice"),
    Signal("explain", lambda s: "explain" in s.question.cues, 1, "explain"),
    Signal("write", lambda s: "write" in s.question.cues, 1, "writing"),
    Signal("risk", lambda s: "risk" in s.question.cues, 1, "prod / risky"),
    Signal("log_thread", lambda s: s.root_is_log, 2, "thread about a pasted log"),
    Signal(
        "hard_thread",
        lambda s: s.root_is_hard and not s.root_is_log,
        2,
        "thread about a hard question",
    ),
    Signal("deep_thread", lambda s: s.prior_turns >= DEEP_THREAD_TURNS, 1, "long thread"),
    Signal(
        "short_lookup",
        lambda s: s.is_plain and "lookup" in s.question.cues,
        -2,
        "short lookup",
    ),
    Signal(
        "short_howto",
        lambda s: s.is_plain and "howto" in s.question.cues and "lookup" not in s.question.cues,
        -2,
        "short how-to",
    ),
)
# The kinds of question the large tier is for; without one of them a score goes no higher
# than medium.
LARGE_KINDS = frozenset({"design", "several_questions", "long_question"})
# The score a request starts from: its task's default tier, before any signal.
START_POINTS = {"small": -2, "medium": 0, "large": 5}
# The first tier whose threshold the score reaches, most capable first. Medium (Claude Haiku
# 4.5 by default) reads a pasted log or a piece of code and says why it fails; large is kept
# for what needs the strongest reasoning: a design or trade-off, several questions about one
# problem, a long account of a situation to weigh, a log with code and a why.
THRESHOLDS = (("large", 5), ("medium", -1), ("small", -(10**9)))


@dataclass(frozen=True)
class RouteInput:
    """Everything the router looks at; plain data, cheap to build per request.

    Tier fields take a name from `TIERS`; None means "no such constraint".
    """

    task: str
    question: str
    task_tier: str
    # Turns of the thread before this question (0 for a new question).
    prior_turns: int = 0
    # The thread's first message, or a summary of it ("" outside a thread).
    thread_root: str = ""
    channel_min_tier: str | None = None
    # The most capable tier the channel accepts: it caps overrides and escalations too (the
    # channel's admins have the last word over a person's `--tier`).
    channel_max_tier: str | None = None
    # The person's `--tier`; with `override_model`, the tier that model belongs to (None when
    # it belongs to none: the strongest tier is then assumed for budgets and the ledger).
    override_tier: str | None = None
    override_model: str | None = None
    # At least this tier: the thread's last answer was cut at max tokens or marked not helpful.
    escalated_tier: str | None = None
    # The escalation's reason when it is not the router's own (`NOT_HELPFUL_REASON`).
    escalation_reason: str | None = None
    # The most capable tier today's budget leaves, when the caller knows it is a downgrade.
    budget_tier: str | None = None
    # Tiers with no working route right now (see `unavailable_tiers`).
    unavailable: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        named = (
            self.task_tier,
            self.channel_min_tier,
            self.channel_max_tier,
            self.override_tier,
            self.escalated_tier,
            self.budget_tier,
            *self.unavailable,
        )
        unknown = sorted({tier for tier in named if tier is not None and tier not in TIERS})
        if unknown:
            raise ValueError(f"unknown tier(s) {', '.join(unknown)}: expected one of {TIERS}")
        if self.prior_turns < 0:
            raise ValueError(f"prior_turns cannot be negative (got {self.prior_turns})")


@dataclass(frozen=True)
class Decision:
    """The tier (and, when the person named one, the model) a request runs on.

    `reason` is short and human, for the ledger's `tier_reason` and reports grouped by it;
    `signals` lists every signal that fired with its points, and every policy step that applied,
    for `--explain`.
    """

    tier: str
    reason: str
    signals: tuple[str, ...] = ()
    model: str | None = None
    score: int = field(default=0, compare=False)


def route(request: RouteInput) -> Decision:
    """The tier for one request. Pure and fast: no I/O, no model, microseconds."""
    if request.override_model is not None or request.override_tier is not None:
        decision = _override(request)
    else:
        decision = _raise_to_floors(_score(request), request)
    decision = _cap_at_channel_maximum(decision, request.channel_max_tier)
    decision = _cap_at_budget(decision, request.budget_tier)
    return _avoid_unavailable(decision, request)


def avoid_unavailable(decision: Decision, unavailable: frozenset[str]) -> Decision:
    """Step 5 alone, for a decision the router did not score (a document step's tier)."""
    if decision.tier not in TIERS:
        return decision
    placed = RouteInput(task="", question="", task_tier=decision.tier, unavailable=unavailable)
    return _avoid_unavailable(decision, placed)


def unavailable_tiers(
    tiers: Mapping[str, Sequence[Route]], down_backends: Collection[str]
) -> frozenset[str]:
    """Tiers none of whose routes can run, given the backends the caller knows are down."""
    return frozenset(
        tier
        for tier, routes in tiers.items()
        if routes and all(route.backend in down_backends for route in routes)
    )


def tier_rank(tier: str) -> int:
    """0 for the cheapest tier; raises ValueError for a name not in `TIERS`."""
    return TIERS.index(tier)


def _score(request: RouteInput) -> Decision:
    shape = measure(request)
    fired = [signal for signal in SIGNALS if signal.test(shape)]
    score = START_POINTS[request.task_tier] + sum(signal.points for signal in fired)
    tier = next(name for name, threshold in THRESHOLDS if score >= threshold)
    # Points pile up on a debugging question (a log, why, "ideas?", "on prod"); what needs
    # the strongest model is a kind of question, not a sum of cues.
    lacks_kind = not any(signal.name in LARGE_KINDS for signal in fired)
    if tier == TIERS[-1] and request.task_tier != TIERS[-1] and lacks_kind:
        tier = TIERS[1]
    return Decision(
        tier,
        _scored_reason(fired, tier, request.task_tier),
        tuple(f"{signal.label} {signal.points:+d}" for signal in fired),
        score=score,
    )


def _scored_reason(fired: Sequence[Signal], tier: str, task_tier: str) -> str:
    """`pasted log + why → large`: the (at most two) strongest signals that moved the tier."""
    if not fired:
        return TASK_DEFAULT_REASON
    moved = tier_rank(tier) - tier_rank(task_tier)
    pool = [s for s in fired if (s.points > 0) == (moved > 0)] if moved else list(fired)
    strongest = sorted(pool or fired, key=lambda s: -abs(s.points))[:2]
    return " + ".join(signal.label for signal in strongest) + f" → {tier}"


def _override(request: RouteInput) -> Decision:
    if request.override_model is not None:
        tier = request.override_tier or TIERS[-1]
        said = f"--model {request.override_model}"
    else:
        tier = request.override_tier or request.task_tier
        said = f"--tier {tier}"
    return Decision(tier, OVERRIDE_REASON, (said,), model=request.override_model)


def _raise_to_floors(decision: Decision, request: RouteInput) -> Decision:
    floors = (
        (request.escalated_tier, request.escalation_reason or ESCALATED_REASON),
        (request.channel_min_tier, CHANNEL_MINIMUM_REASON),
    )
    for floor, reason in floors:
        if floor is not None and tier_rank(floor) > tier_rank(decision.tier):
            decision = Decision(
                floor, reason, (*decision.signals, f"{reason} {floor}"), score=decision.score
            )
    return decision


def _cap_at_channel_maximum(decision: Decision, ceiling: str | None) -> Decision:
    """A named model above the channel's maximum is dropped with its tier: the channel's
    policy is about which models may see its text, not only about their price."""
    if ceiling is None or tier_rank(ceiling) >= tier_rank(decision.tier):
        return decision
    note = f"{CHANNEL_MAXIMUM_REASON} {ceiling}"
    return Decision(
        ceiling, CHANNEL_MAXIMUM_REASON, (*decision.signals, note), score=decision.score
    )


def _cap_at_budget(decision: Decision, budget_tier: str | None) -> Decision:
    if budget_tier is None or tier_rank(budget_tier) >= tier_rank(decision.tier):
        return decision
    return Decision(
        budget_tier,
        BUDGET_DOWNGRADE_REASON,
        (*decision.signals, f"{BUDGET_DOWNGRADE_REASON} to {budget_tier}"),
        score=decision.score,
    )


def _avoid_unavailable(decision: Decision, request: RouteInput) -> Decision:
    """Move off a tier with no working route: up first (never quietly weaker), then down.

    An explicit model is left alone: the gateway knows whether that model answers, we do not.
    Going up stops at the budget's tier and the channel's maximum; when every tier is down the
    decision stands and the gateway reports the failure.
    """
    if decision.tier not in request.unavailable or decision.model is not None:
        return decision
    rank = tier_rank(decision.tier)
    limits = (request.budget_tier, request.channel_max_tier)
    ceiling = min((tier_rank(tier) for tier in limits if tier), default=len(TIERS) - 1)
    upward = TIERS[rank + 1 : ceiling + 1]
    downward = TIERS[:rank][::-1]
    for tier in (*upward, *downward):
        if tier not in request.unavailable:
            note = f"{decision.tier} unavailable → {tier}"
            return Decision(tier, note, (*decision.signals, note), score=decision.score)
    return decision


__all__ = [
    "CHANNEL_MAXIMUM_REASON",
    "CHANNEL_MINIMUM_REASON",
    "ESCALATED_REASON",
    "NOT_HELPFUL_REASON",
    "SIGNALS",
    "TIERS",
    "Decision",
    "RouteInput",
    "Shape",
    "Signal",
    "TextShape",
    "avoid_unavailable",
    "measure",
    "measure_text",
    "route",
    "tier_rank",
    "unavailable_tiers",
]
