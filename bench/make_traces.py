"""Writes the workload traces in bench/traces/: `team-week` (a platform team's week of Slack
traffic) and `smoke` (every kind of event in two minutes), each with its Jira fixture file.

Deterministic (one seeded `random.Random` per file, stdlib only) so the committed files can be
regenerated and compared byte for byte. The trace format is `chatops.trace`; this script does
not import it, so it runs without the project installed. Prints the team-week figures that
bench/README.md quotes.

What people write lives beside it: the FAQs, question templates and Jira stories in
trace_corpus.py, the pasted logs in trace_logs.py. They are imported by their bare names, as
sibling modules of a script (bench/ is not an installed package).

    .venv/bin/python bench/make_traces.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from trace_corpus import (
    FAQS,
    GENERIC_FOLLOW_UPS,
    LOG_FOLLOW_UPS,
    QUESTIONS,
    SHORT_ISSUES_SOURCE,
    STORIES,
    Faq,
    Story,
    fill,
    issue_fields,
    lines_of,
    story_comment,
)
from trace_logs import log_paste

TRACES_DIR = Path(__file__).with_name("traces")
TRACE_START = datetime(2026, 11, 30, tzinfo=UTC)  # t = 0 is this Monday, 00:00 UTC
DAY_S = 86_400
SEEDS = {"team-week": 20261130, "smoke": 7}


# -- people and places ----------------------------------------------------------------------

TEAM = {
    "alice": "Alice Adams",
    "bob": "Bob Byrne",
    "carol": "Carol Chen",
    "dave": "Dave Okafor",
    "erin": "Erin Walsh",
    "frank": "Frank Meyer",
    "grace": "Grace Huang",
    "heidi": "Heidi Novak",
    "ivan": "Ivan Petrov",
    "judy": "Judy Kim",
    "ken": "Ken Sato",
    "leo": "Leo Martins",
}
LEAD, HEAVY = "alice", "dave"
# The heavy user's share of what people start; the others by relative activity.
HEAVY_SHARE = 0.16
ACTIVITY = {"alice": 5, "bob": 6, "carol": 6, "erin": 5, "frank": 4, "grace": 5, "heidi": 3}
ACTIVITY |= {"ivan": 5, "judy": 4, "ken": 3, "leo": 2}
CHANNELS = {
    "C_PLATFORM": "platform",
    "C_OPS": "ops",
    "C_INCIDENTS": "incidents",
    "C_GENERAL": "general",
    "C_PAYMENTS": "payments-eng",
}
CHANNEL_WEIGHTS = {"C_PLATFORM": 35, "C_OPS": 28, "C_INCIDENTS": 12, "C_GENERAL": 13}
CHANNEL_WEIGHTS |= {"C_PAYMENTS": 12}
# Where people paste logs: mostly the incident and ops channels.
LOG_CHANNEL_WEIGHTS = {"C_INCIDENTS": 40, "C_OPS": 30, "C_PLATFORM": 20, "C_PAYMENTS": 10}
PROJECTS = {
    "DEMO": ("Demo Payments", "C_PAYMENTS"),
    "OPS": ("Operations", "C_OPS"),
    "PLAT": ("Platform", "C_PLATFORM"),
}
# The smoke trace uses only what the Slack emulator is seeded with.
SMOKE_USERS = ("alice", "bob", "carol")
SMOKE_CHANNELS = {"C_GENERAL": "general", "C_OPS": "ops"}


def user_id(handle: str) -> str:
    return "U_" + handle.upper()


def dm_channel(handle: str) -> str:
    """As the Slack emulator names the bot's DM with a person (chatops.trace.dm_channel_for)."""
    return "D_" + handle.upper()


# -- Jira -----------------------------------------------------------------------------------


def jira_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class ShortIssue:
    key: str
    fields: dict[str, object]
    summary: str
    description: list[str] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)

    def seed(self, created: datetime) -> dict[str, object]:
        """In the emulator's seed format, comments an hour apart after `created`."""
        comments = [
            {"author": author, "body": body, "created": jira_time(created + timedelta(hours=i))}
            for i, (author, body) in enumerate(self.comments, start=1)
        ]
        return {"key": self.key, "summary": self.summary, **self.fields} | {
            "created": jira_time(created),
            "updated": comments[-1]["created"] if comments else jira_time(created),
            "description": " ".join(self.description),
            "comments": comments,
            "changelog": [],
        }


def parse_short_issues(source: str) -> tuple[dict[str, object], ...]:
    """The short issues in the emulator's seed format, created in the two weeks before t 0."""
    issues: list[ShortIssue] = []
    for line in lines_of(source):
        if line.startswith("  - "):
            author, body = line[4:].split(": ", 1)
            issues[-1].comments.append((author, body))
        elif line.startswith("  "):
            issues[-1].description.append(line.strip())
        else:
            key, issuetype, status, priority, assignee, summary = line.split(" | ")
            owner = None if assignee == "-" else assignee
            fields = issue_fields(issuetype, status, priority, owner, LEAD, "")
            issues.append(ShortIssue(key, fields, summary))
    return tuple(
        issue.seed(TRACE_START - timedelta(days=14 - i, hours=2 * i))
        for i, issue in enumerate(issues)
    )


def story_issue(rng: random.Random, story: Story) -> dict[str, object]:
    """The issue in the emulator's seed format, its beats spread evenly among the notes."""
    at = datetime.strptime(story.created, "%Y-%m-%dT%H:%M:%S.000%z")
    step = story.comments / len(story.beats)
    beat_at = {int(i * step): beat for i, beat in enumerate(story.beats)}
    comments = []
    for index in range(story.comments):
        at += timedelta(minutes=rng.randint(4, 80))
        body = beat_at.get(index) or story_comment(rng, story)
        comments.append({"author": rng.choice(list(TEAM)), "body": body, "created": jira_time(at)})
    return {"key": story.key, "summary": story.summary, **story.fields} | {
        "created": story.created,
        "updated": jira_time(at),
        "description": story.description,
        "comments": comments,
        "changelog": [],
    }


def jira_fixture(
    rng: random.Random,
    stories: Iterable[Story],
    short_keys: Iterable[str],
    updates: Iterable[Update],
) -> dict[str, object]:
    """A fixture `JiraEmulator(fixtures=…)` loads, plus the `updates` a replay applies."""
    users = [{"name": n, "displayName": d, "email": f"{n}@example.com"} for n, d in TEAM.items()]
    users.append({"name": "chatops", "displayName": "ChatOps Bot", "email": "chatops@example.com"})
    wanted = set(short_keys)
    shorts = [issue for issue in SHORT_ISSUES if issue["key"] in wanted]
    return {
        "users": users,
        "projects": [{"key": key, "name": name} for key, (name, _) in PROJECTS.items()],
        "issues": [story_issue(rng, story) for story in stories] + shorts,
        "updates": [asdict(update) for update in updates],
    }


SHORT_ISSUES = parse_short_issues(SHORT_ISSUES_SOURCE)
LONG_STORIES = STORIES[:3]
SUMMARIZE_WEIGHT = {"long": 6, "medium": 3, "short": 1}

# -- time -----------------------------------------------------------------------------------

# Activity by UTC hour for a team in Europe: a morning ramp, a lunch dip, a quiet night.
HOUR_WEIGHTS: tuple[int, ...] = (3, 2, 2, 2, 3, 5, 12, 35, 80, 100, 100, 90, 45, 55, 95, 100)
HOUR_WEIGHTS += (85, 55, 30, 15, 10, 7, 5, 4)
DAY_WEIGHTS = (110, 100, 100, 95, 80, 5, 4)  # Monday first: five working days, a quiet weekend


def sample_t(rng: random.Random, day: int | None = None) -> float:
    """A moment in the week (seconds from t 0) drawn from the working-day curve."""
    if day is None:
        day = rng.choices(range(7), DAY_WEIGHTS)[0]
    hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
    return day * DAY_S + hour * 3600 + rng.uniform(0, 3600)


# -- the team's week ------------------------------------------------------------------------

# Events by what they are, not by kind: the mix the README describes.
STARTERS = {"faq": 330, "unique": 200, "paraphrase": 120, "near_miss": 60, "log": 62}
DMS = {"faq": 20, "unique": 18, "paraphrase": 7}
FOLLOW_UPS = 250
SUMMARIES = 100
COSTS = 25
# How likely each kind of question is to turn into a conversation, relative to one another.
THREAD_WEIGHT = {"log": 8.0, "unique": 4.0, "near_miss": 2.0, "paraphrase": 1.5, "faq": 1.0}
MENTION_SHARE = 0.4


@dataclass
class Event:
    t: float
    kind: str
    user: str  # a team handle
    channel: str
    tag: str  # what it is: faq, paraphrase, near_miss, unique, log, follow_up, …
    text: str | None = None
    jira_key: str | None = None
    period: str | None = None
    thread: int | None = None  # labelled th-NNNN in the order threads start
    faq: Faq | None = None


@dataclass
class Asker:
    """Writes questions of each tag; one-off questions never repeat exactly."""

    rng: random.Random
    seen: set[str] = field(default_factory=set)

    def ask(self, tag: str, t: float) -> tuple[str, Faq | None]:
        makers: dict[str, Callable[[float], tuple[str, Faq | None]]] = {
            "faq": lambda _: self._from_faq(lambda faq: (faq.question,)),
            "paraphrase": lambda _: self._from_faq(lambda faq: faq.paraphrases),
            "near_miss": lambda _: self._from_faq(lambda faq: faq.near_misses),
            "unique": lambda _: (self._unique(), None),
            "log": lambda at: (log_paste(self.rng, TRACE_START + timedelta(seconds=at)), None),
        }
        return makers[tag](t)

    def _from_faq(self, texts: Callable[[Faq], tuple[str, ...]]) -> tuple[str, Faq]:
        # A few questions are asked far more than the rest (Zipf-like).
        weights = [1 / (rank + 1) ** 0.8 for rank in range(len(FAQS))]
        faq = self.rng.choices(FAQS, weights)[0]
        return self.rng.choice(texts(faq)), faq

    def _unique(self) -> str:
        while True:
            text = fill(self.rng.choice(QUESTIONS), self.rng)
            if text not in self.seen:
                self.seen.add(text)
                return text


def pick_user(rng: random.Random) -> str:
    return HEAVY if rng.random() < HEAVY_SHARE else pick(rng, ACTIVITY)


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def starters(rng: random.Random, asker: Asker) -> list[Event]:
    events = []
    for tag, count in STARTERS.items():
        for _ in range(count):
            t = sample_t(rng)
            kind = "mention" if rng.random() < MENTION_SHARE else "ask"
            weights = LOG_CHANNEL_WEIGHTS if tag == "log" else CHANNEL_WEIGHTS
            text, faq = asker.ask(tag, t)
            events.append(Event(t, kind, pick_user(rng), pick(rng, weights), tag, text, faq=faq))
    return events


def threads(rng: random.Random, starters: list[Event], target: int) -> list[Event]:
    """Turn starters into conversations until `target` follow-ups are written; logs and
    one-off questions are the likeliest to get one (weighted sampling without replacement)."""
    order = sorted(starters, key=lambda e: rng.random() ** (1 / THREAD_WEIGHT[e.tag]))
    follow_ups: list[Event] = []
    for number, starter in enumerate(reversed(order), start=1):
        if len(follow_ups) >= target:
            break
        starter.thread = number
        turns = min(rng.randint(1, 5), target - len(follow_ups))
        follow_ups += conversation(rng, starter, turns)
    return follow_ups


def conversation(rng: random.Random, starter: Event, turns: int) -> list[Event]:
    """Follow-ups about this question first (in the order a conversation would take them),
    then general ones, 45 s to 7 min apart (sometimes an hour: people go to meetings)."""
    about = (starter.faq.follow_ups if starter.faq else ()) + (
        LOG_FOLLOW_UPS if starter.tag == "log" else ()
    )
    picked = sorted(rng.sample(range(len(about)), min(turns, len(about))))
    texts = ([about[i] for i in picked] + rng.sample(GENERIC_FOLLOW_UPS, turns))[:turns]
    t, replies = starter.t, []
    for text in texts:
        t += rng.uniform(900, 5400) if rng.random() < 0.12 else rng.uniform(45, 420)
        user = starter.user if rng.random() < 0.75 else pick_user(rng)
        replies.append(
            Event(t, "mention", user, starter.channel, "follow_up", text, thread=starter.thread)
        )
    return replies


def direct_messages(rng: random.Random, asker: Asker) -> list[Event]:
    events = []
    for tag, count in DMS.items():
        for _ in range(count):
            t, user = sample_t(rng), pick_user(rng)
            text, _ = asker.ask(tag, t)
            events.append(Event(t, "dm", user, dm_channel(user), tag, text))
    return events


@dataclass(frozen=True)
class Update:
    """A comment that arrives on an issue at trace time `t` (chatops.trace.JiraUpdate)."""

    t: float
    key: str
    author: str
    body: str


def jira_activity(rng: random.Random) -> tuple[list[Event], list[Update]]:
    """Comments arriving on the busy issues during the week, a summary soon after some of
    the bursts, and summaries at random times of every issue (the long ones most)."""
    updates: list[Update] = []
    summaries: list[Event] = []
    for story in STORIES:
        for day in range(5):
            if rng.random() < 0.8:
                t = sample_t(rng, day)
                for _ in range(rng.randint(2, 6)):
                    t += rng.uniform(120, 1500)
                    author = rng.choice(list(TEAM))
                    updates.append(
                        Update(round(t, 3), story.key, author, story_comment(rng, story))
                    )
                if rng.random() < 0.8:
                    summaries.append(summarize(rng, t + rng.uniform(300, 3600), story.key))
    sizes = {s.key: "long" if s in LONG_STORIES else "medium" for s in STORIES}
    sizes |= {str(issue["key"]): "short" for issue in SHORT_ISSUES}
    weights = [SUMMARIZE_WEIGHT[size] for size in sizes.values()]
    while len(summaries) < SUMMARIES:
        key = rng.choices(list(sizes), weights)[0]
        summaries.append(summarize(rng, sample_t(rng), key))
    return summaries, sorted(updates, key=lambda u: u.t)


def summarize(rng: random.Random, t: float, key: str) -> Event:
    home = PROJECTS[key.rsplit("-", 1)[0]][1]
    channel = home if rng.random() < 0.7 else pick(rng, CHANNEL_WEIGHTS)
    return Event(t, "summarize", pick_user(rng), channel, "summarize", jira_key=key)


def digests(rng: random.Random) -> list[Event]:
    """Every project's daily digest at 07:30 UTC, weekend included (a schedule does not rest),
    attributed to the lead who set them up."""
    return [
        Event(
            day * DAY_S + 27_000 + i * 60 + rng.uniform(0, 30),
            "digest",
            LEAD,
            channel,
            "digest",
            jira_key=project,
        )
        for day in range(7)
        for i, (project, (_, channel)) in enumerate(PROJECTS.items())
    ]


def cost_reports(rng: random.Random) -> list[Event]:
    """/llm-cost, mostly from the lead and from the heavy user watching their budget."""
    who = {LEAD: 35, HEAVY: 35, "bob": 10, "grace": 10, "carol": 10}
    periods = {"today": 50, "7d": 35, "30d": 15}
    events = []
    for _ in range(COSTS):
        t, user, channel = sample_t(rng), pick(rng, who), pick(rng, CHANNEL_WEIGHTS)
        events.append(Event(t, "cost", user, channel, "cost", period=pick(rng, periods)))
    return events


# -- the two traces -------------------------------------------------------------------------


@dataclass
class TraceFiles:
    """A trace before it is written: events in time order and its Jira fixture."""

    name: str
    description: str
    users: tuple[str, ...]
    channels: dict[str, str]
    events: list[Event]
    updates: list[Update]
    fixture: dict[str, object]


def in_time_order(events: list[Event]) -> list[Event]:
    """Sorted by written time; the sort is stable, so a thread's turns keep their order."""
    return sorted(events, key=lambda e: round(e.t, 3))


def team_week() -> TraceFiles:
    rng = random.Random(SEEDS["team-week"])
    asker = Asker(rng)
    questions = starters(rng, asker)
    follow_ups = threads(rng, questions, FOLLOW_UPS)
    dms = direct_messages(rng, asker)
    summaries, updates = jira_activity(rng)
    events = questions + follow_ups + dms + summaries + digests(rng) + cost_reports(rng)
    short_keys = [str(issue["key"]) for issue in SHORT_ISSUES]
    fixture = jira_fixture(random.Random(SEEDS["team-week"] + 1), STORIES, short_keys, updates)
    description = (
        "A platform team's week; t 0 is Monday 2026-11-30 00:00 UTC. 12 people in 5 channels "
        "and their DMs: repeated and paraphrased FAQs, threads, pasted logs, summaries of Jira "
        "issues that change during the week, daily digests, /llm-cost; U_DAVE asks the most."
    )
    return TraceFiles(
        "team-week", description, tuple(TEAM), CHANNELS, in_time_order(events), updates, fixture
    )


def smoke() -> TraceFiles:
    """Every kind in two minutes, with the Slack emulator's seeded users and channels."""
    rng = random.Random(SEEDS["smoke"])
    rotate, scale, on_call = FAQS[0], FAQS[7], FAQS[1]
    log = log_paste(rng, TRACE_START, size=(3400, 4000))
    events = [
        Event(0, "ask", "alice", "C_OPS", "faq", rotate.question, thread=1),
        Event(5, "digest", "alice", "C_OPS", "digest", jira_key="OPS"),
        Event(9, "summarize", "bob", "C_GENERAL", "summarize", jira_key="OPS-120"),
        Event(14, "mention", "carol", "C_GENERAL", "unique", fill(QUESTIONS[27], rng), thread=2),
        Event(20, "ask", "bob", "C_OPS", "faq", rotate.question),
        Event(27, "dm", "carol", dm_channel("carol"), "faq", on_call.question),
        Event(33, "mention", "alice", "C_OPS", "follow_up", rotate.follow_ups[0], thread=1),
        Event(38, "ask", "bob", "C_OPS", "paraphrase", rotate.paraphrases[0]),
        Event(44, "ask", "carol", "C_OPS", "faq", scale.question),
        Event(50, "ask", "alice", "C_OPS", "near_miss", scale.near_misses[0]),
        Event(55, "summarize", "alice", "C_OPS", "summarize", jira_key="DEMO-41"),
        Event(60, "mention", "carol", "C_GENERAL", "follow_up", GENERIC_FOLLOW_UPS[2], thread=2),
        Event(66, "ask", "alice", "C_OPS", "log", log, thread=3),
        Event(80, "summarize", "bob", "C_GENERAL", "summarize", jira_key="DEMO-41"),
        Event(86, "mention", "bob", "C_OPS", "follow_up", LOG_FOLLOW_UPS[0], thread=3),
        Event(92, "cost", "alice", "C_GENERAL", "cost", period="today"),
        Event(98, "dm", "bob", dm_channel("bob"), "unique", fill(QUESTIONS[9], rng)),
        Event(104, "mention", "carol", "C_GENERAL", "follow_up", GENERIC_FOLLOW_UPS[5], thread=2),
        Event(110, "summarize", "carol", "C_GENERAL", "summarize", jira_key="PLAT-241"),
        Event(114, "ask", "bob", "C_OPS", "near_miss", rotate.near_misses[0]),
        Event(120, "cost", "bob", "C_OPS", "cost", period="7d"),
    ]
    # Lands between the two DEMO-41 summaries, so the second one sees a changed issue.
    updates = [Update(72.0, "DEMO-41", "bob", "Canary at 25% since 10:40, p99 181 ms. Holding.")]
    fixture = jira_fixture(
        random.Random(SEEDS["smoke"] + 1), STORIES[:1], ("OPS-120", "PLAT-241"), updates
    )
    description = "Every kind of event in two minutes, with the Slack emulator's seeded users."
    return TraceFiles("smoke", description, SMOKE_USERS, SMOKE_CHANNELS, events, updates, fixture)


# -- writing --------------------------------------------------------------------------------


def event_rows(events: list[Event]) -> list[dict[str, object]]:
    """The events as trace lines; thread labels numbered in the order threads start."""
    labels: dict[int, str] = {}
    rows: list[dict[str, object]] = []
    for event in events:
        row: dict[str, object] = {"t": round(float(event.t), 3), "kind": event.kind}
        row |= {"user": user_id(event.user), "channel": event.channel}
        if event.thread is not None:
            row["thread"] = labels.setdefault(event.thread, f"th-{len(labels) + 1:04d}")
        for name in ("text", "jira_key", "period"):
            if getattr(event, name) is not None:
                row[name] = getattr(event, name)
        rows.append(row)
    return rows


def write(out: Path, trace: TraceFiles) -> None:
    header = {
        "trace": trace.name,
        "version": 1,
        "description": trace.description,
        "users": {user_id(handle): handle for handle in trace.users},
        "channels": trace.channels,
        "jira_fixture": f"{trace.name}.jira.json",
    }
    lines = [json.dumps(row, ensure_ascii=False) for row in [header, *event_rows(trace.events)]]
    (out / f"{trace.name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    fixture = json.dumps(trace.fixture, ensure_ascii=False, indent=1)
    (out / f"{trace.name}.jira.json").write_text(fixture + "\n", encoding="utf-8")


# -- what the README quotes -----------------------------------------------------------------

TAG_NAMES = {
    "faq": "FAQ asked word for word",
    "paraphrase": "FAQ paraphrased (same meaning)",
    "near_miss": "FAQ look-alike that differs (number, env, negation)",
    "unique": "one-off question",
    "log": "question with a pasted log",
    "follow_up": "follow-up in a thread",
    "summarize": "Jira summary",
    "digest": "daily project digest",
    "cost": "/llm-cost",
}


def summary_states(events: list[Event], updates: list[Update]) -> Counter[str]:
    """Each summary: the issue's first, after it changed, or again with nothing new."""
    last: dict[str, float] = {}
    states: Counter[str] = Counter()
    for event in events:
        key = event.jira_key
        if event.kind != "summarize" or key is None:
            continue
        if key not in last:
            states["first"] += 1
        elif any(u.key == key and last[key] < u.t <= event.t for u in updates):
            states["after a change"] += 1
        else:
            states["unchanged"] += 1
        last[key] = event.t
    return states


def report(trace: TraceFiles, out: Path) -> str:
    events, total = trace.events, len(trace.events)

    def share(n: int) -> str:
        return f"{n} ({100 * n / total:.1f}%)"

    kinds = Counter(e.kind for e in events)
    tags = Counter(e.tag for e in events)
    top = [e for e in events if e.kind in ("ask", "mention", "dm") and e.tag != "follow_up"]
    repeats = len(top) - len({e.text for e in top})
    turns = Counter(e.thread for e in events if e.thread is not None)
    logs = sorted(len(e.text or "") for e in events if e.tag == "log")
    users = Counter(e.user for e in events).most_common()
    runner_up = next((user, n) for user, n in users if user != HEAVY)
    sizes = {p.name: p.stat().st_size for p in sorted(out.glob(f"{trace.name}*"))}
    lines = [f"{total} events, {len(trace.updates)} Jira comment updates.", ""]
    lines += ["| kind | events |", "|---|---|"]
    lines += [f"| {kind} | {share(n)} |" for kind, n in kinds.most_common()]
    lines += ["", "| what | events |", "|---|---|"]
    lines += [f"| {name} | {share(tags[tag])} |" for tag, name in TAG_NAMES.items()]
    lines += [
        "",
        f"- Top-level questions (asks, top-level mentions, DMs): {len(top)}; {repeats} of them "
        f"({100 * repeats / len(top):.0f}%) repeat an earlier one word for word.",
        f"- Threads: {len(turns)}, {min(turns.values())} to {max(turns.values())} turns "
        f"(median {statistics.median(turns.values()):g}).",
        f"- Pasted logs: {len(logs)} questions of {logs[0]:,} to {logs[-1]:,} characters "
        f"(median {statistics.median(logs):,.0f}).",
        "- Summaries: "
        + ", ".join(f"{n} {s}" for s, n in summary_states(events, trace.updates).items())
        + f"; {len({e.jira_key for e in events if e.kind == 'summarize'})} issues.",
        f"- Heavy user {user_id(HEAVY)}: {share(dict(users)[HEAVY])} of all events; the next "
        f"busiest, {user_id(runner_up[0])}: {share(runner_up[1])}.",
        f"- Weekend (Saturday and Sunday): {share(sum(e.t >= 5 * DAY_S for e in events))}.",
        "- Files: " + ", ".join(f"{name} {size / 1024:,.0f} KiB" for name, size in sizes.items()),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the workload traces and Jira fixtures.")
    parser.add_argument("--out", type=Path, default=TRACES_DIR, help="default: bench/traces")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    week = team_week()
    for trace in (week, smoke()):
        write(out, trace)
    print(report(week, out))


if __name__ == "__main__":
    main()
