"""Compaction: golden inputs (tests/unit/compaction_inputs, as Slack delivers them) keep what a
reader needs and lose the rest; code comes back byte for byte; budgets hold; hostile inputs
give a sensible result."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from gateway.compact import FENCE, STEPS, compact
from gateway.tokens import estimate_tokens

INPUTS = Path(__file__).parent / "compaction_inputs"
EXPECTED: dict[str, Any] = json.loads((INPUTS / "expected.json").read_text())
NAMES: dict[str, str] = EXPECTED["names"]
GOLDEN = sorted(name for name in EXPECTED if name.endswith(".txt"))
NOTE = re.compile(r"\[… ([\d,]+) lines? \(≈ ([\d,]+) tokens\) left out …\]")


def spaced(text: str) -> str:
    return " ".join(text.split())


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape(text: str) -> str:
    """What Slack sends for text a person typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fenced_blocks(text: str) -> list[str]:
    return text.split(FENCE)[1::2]


# -- golden inputs ---------------------------------------------------------------------------


def test_every_golden_input_has_expectations() -> None:
    assert sorted(path.name for path in INPUTS.glob("*.txt")) == GOLDEN


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_input_keeps_what_matters_and_drops_the_rest(name: str) -> None:
    expected = EXPECTED[name]
    text = (INPUTS / name).read_text()
    result = compact(text, names=NAMES)

    assert result.tokens_before == estimate_tokens(text)
    assert result.tokens_after == estimate_tokens(result.text)
    saved = 1 - result.tokens_after / result.tokens_before
    assert saved >= expected["min_saved"], f"saved {saved:.0%}"
    flat = spaced(result.text)
    missing = [line for line in expected["keep"] if spaced(line) not in flat]
    assert missing == []
    assert [line for line in expected["gone"] if line in result.text] == []
    for line, most in expected["at_most"].items():
        assert result.text.count(line) <= most, line
    for index in expected["verbatim"]:
        code = unescape(fenced_blocks(text)[index])
        assert FENCE + code + FENCE in result.text


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_input_compacts_to_a_fixed_point(name: str) -> None:
    """Compacting again finds little left: what was repeated or folded is already gone."""
    once = compact((INPUTS / name).read_text(), names=NAMES)
    twice = compact(once.text, names=NAMES)
    assert twice.tokens_after >= once.tokens_after * 0.95


def test_library_frames_are_folded_into_lines_that_say_where() -> None:
    result = compact((INPUTS / "spring_trace.txt").read_text())
    folds = re.findall(r"^\t… (\d+) frames? in (.+)$", result.text, re.MULTILINE)
    assert folds
    places = {place for _, where in folds for place in where.split(", ")}
    assert {"org.springframework", "java.base", "org.postgresql"} <= places
    steps = dict(step.split(":") for step in result.steps)
    assert sum(int(count) for count, _ in folds) == int(steps["trace_frames"])


# -- nothing to compact ----------------------------------------------------------------------

PLAIN = [
    "How do I rotate the staging DB password?",
    "why is the deploy of payments-api stuck?\nit was fine yesterday",
    "```python\ndef handler(event):\n    return {'ok': True}\n```",
    "Step 1: drain node-1\nStep 2: drain node-2\nStep 3: drain node-3",
    "```\nSELECT id, status FROM orders WHERE id = 42;\n"
    "SELECT id, status FROM orders WHERE id = 43;\n```",
]


@pytest.mark.parametrize("text", PLAIN)
def test_text_with_nothing_to_compact_comes_back_unchanged(text: str) -> None:
    result = compact(text)
    assert (result.text, result.steps) == (text, ())
    assert result.tokens_after == result.tokens_before == estimate_tokens(text)


# -- Slack markup ----------------------------------------------------------------------------

MARKUP = [
    ("<@U123>", {}, "@U123"),
    ("<@U123>", {"U123": "bob"}, "@bob"),
    ("<@U123|bobby>", {}, "@bobby"),
    ("<#C1|ops>", {}, "#ops"),
    ("<#C1>", {"C1": "ops"}, "#ops"),
    ("<https://x.example/a?b=1&amp;c=2|the doc>", {}, "the doc (https://x.example/a?b=1&c=2)"),
    ("<https://x.example/a>", {}, "https://x.example/a"),
    ("<http://status.example.com|status.example.com>", {}, "http://status.example.com"),
    ("<mailto:oncall@example.com|oncall@example.com>", {}, "oncall@example.com"),
    ("<!here>", {}, "@here"),
    ("<!channel>", {}, "@channel"),
    ("<!subteam^S9|@sre>", {}, "@sre"),
    ("<!date^1392734382^{date_short}|Feb 18, 2014>", {}, "Feb 18, 2014"),
    ("a &lt; b &amp;&amp; c &gt; d", {}, "a < b && c > d"),
]


@pytest.mark.parametrize(("markup", "names", "plain"), MARKUP)
def test_slack_markup_becomes_what_the_person_saw(
    markup: str, names: dict[str, str], plain: str
) -> None:
    result = compact(f"see {markup} now", names=names)
    assert result.text == f"see {plain} now"
    assert result.steps[0].startswith("markup:")


def test_text_that_is_not_from_slack_keeps_its_angle_brackets_and_entities() -> None:
    text = "if a <b|c> then &amp;\n```\nx = 1 &lt; 2\n```"
    assert compact(text, from_slack=False).text == text


def test_whitespace_is_folded_outside_code_only() -> None:
    code = "step:   \n\n\n\n    run: make   \u00a0\n"
    text = f"a\u00a0b\u200bc   \n\n\n\nd\n```yaml\n{code}```"
    result = compact(text)
    assert result.text == f"a bc\n\nd\n```yaml\n{code}```"
    assert "whitespace:" in " ".join(result.steps)


# -- code or log -----------------------------------------------------------------------------

CODE = {
    "go": 'if err != nil {\n\treturn fmt.Errorf("commit: %w", err)\n}\nif err != nil {\n\t'
    'return fmt.Errorf("commit: %w", err)\n}\n',
    "yaml": "containers:\n  - name: api\n    image: api:1.2.3\n"
    "  - name: api\n    image: api:1.2.4\n",
    "hcl": 'resource "aws_s3_bucket" "logs" {\n  bucket = "acme-logs-2026"\n}\n',
    "sql": "UPDATE orders SET status = 'paid' WHERE id = 1;\nUPDATE orders SET status = 'paid' "
    "WHERE id = 2;\n",
    "shell": "$ kubectl rollout restart deploy/api\n$ kubectl rollout status deploy/api\n",
    "python": "for attempt in range(3):\n    try:\n        return call()\n    except Timeout:\n"
    "        sleep(2 ** attempt)\n",
}


@pytest.mark.parametrize("language", sorted(CODE))
def test_code_in_a_fence_comes_back_byte_for_byte_even_with_repeated_lines(language: str) -> None:
    code = CODE[language]
    text = f"why does this fail?\n```\n{escape(code)}```\nthanks"
    assert compact(text).text == f"why does this fail?\n```\n{code}```\nthanks"


def test_a_fenced_log_is_compacted_while_code_beside_it_is_not() -> None:
    log = "\n".join(
        f"2026-03-02 10:00:{n:02d} WARN pool exhausted, waited {100 + n}ms" for n in range(40)
    )
    code = CODE["python"]
    text = f"```\n{log}\n```\nmy retry:\n```python\n{code}```"
    result = compact(text)
    assert "2026-03-02 10:00:00 WARN pool exhausted, waited 100ms … (×40 similar lines)" in (
        result.text
    )
    assert f"```python\n{code}```" in result.text


def test_an_unfenced_pasted_log_is_compacted() -> None:
    lines = [
        f"E0302 10:00:{n:02d}.{n:06d} 1 reflector.go:138] watch failed: EOF" for n in range(30)
    ]
    result = compact("any idea?\n" + "\n".join(lines))
    assert result.text == f"any idea?\n{lines[0]} … (×30 similar lines)"


# -- repeats ---------------------------------------------------------------------------------


def test_lines_differing_only_in_variables_collapse_to_the_first_with_a_count() -> None:
    lines = [
        f"2026-03-02T10:{n:02d}:07.{n:03d}Z INFO request id={n:08x}-{n:04x} "
        f"from 10.0.{n}.7:{4000 + n} took {n}ms"
        for n in range(1, 21)
    ]
    result = compact("```\n" + "\n".join(lines) + "\n```")
    assert result.text == f"```\n{lines[0]} … (×20 similar lines)\n```"
    assert "log_repeats:19" in result.steps


def test_a_level_or_a_word_apart_is_not_similar() -> None:
    lines = [
        "2026-03-02 10:00:01 INFO  payment 1001 settled",
        "2026-03-02 10:00:02 ERROR payment 1002 settled",
        "2026-03-02 10:00:03 INFO  payment 1003 refused",
        "2026-03-02 10:00:04 INFO  payment 1004 settled",
    ]
    result = compact("```\n" + "\n".join(lines) + "\n```")
    kept = result.text.split("\n")[1:-1]
    assert kept == [lines[0] + " … (×2 similar lines)", lines[1], lines[2]]


def test_a_500_is_never_folded_into_200s() -> None:
    def access(n: int, status: int) -> str:
        return (
            f'10.1.0.{n} - - [02/Mar/2026:10:00:{n:02d} +0000] "GET /api/orders/{n} HTTP/1.1" '
            f'{status} {100 + n} "-" "curl/8.5.0"'
        )

    statuses = [200] * 10 + [500] + [200] * 10 + [502]
    lines = [access(n, status) for n, status in enumerate(statuses)]
    result = compact("```\n" + "\n".join(lines) + "\n```")
    assert f"{lines[0]} … (×20 similar lines)" in result.text
    assert f"{lines[10]} … (×2 similar lines)" in result.text
    assert lines[-1] not in result.text


def test_an_entry_seen_again_apart_is_kept_once_with_its_trace() -> None:
    def entry(n: int) -> list[str]:
        return [
            f"2026-03-02 10:0{n}:00.{n}21 ERROR [worker-{n}] job {7000 + n} failed",
            f"java.lang.IllegalStateException: job {7000 + n} has no owner",
            f"\tat com.acme.jobs.Runner.run(Runner.java:{40 + n})",
            f"2026-03-02 10:0{n}:30.{n}00 INFO  [main] heartbeat {n}",
        ]

    lines = [line for n in range(1, 6) for line in entry(n)]
    result = compact("```\n" + "\n".join(lines) + "\n```")
    assert result.text.split("\n")[1:-1] == [
        lines[0] + " … (×5 similar lines)",
        lines[1] + " … (×5 similar entries)",
        lines[2],
        lines[3] + " … (×5 similar lines)",
    ]


def test_prose_loses_only_runs_of_identical_lines() -> None:
    text = "checked:\n" + "node ok\n" * 6 + "node-1 down\nnode-2 down\nnode-3 down"
    result = compact(text)
    assert (
        result.text
        == "checked:\nnode ok … (×6 similar lines)\nnode-1 down\nnode-2 down\nnode-3 down"
    )


# -- stack traces ----------------------------------------------------------------------------


def test_the_frame_that_raised_is_kept_even_in_a_library() -> None:
    text = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "/srv/app/jobs.py", line 12, in run',
            "    client.get(url)",
            '  File "/usr/lib/python3/dist-packages/urllib3/pool.py", line 715, in urlopen',
            "    httplib_response = self._make_request(",
            '  File "/usr/lib/python3/dist-packages/urllib3/pool.py", line 467, in _make_request',
            "    six.raise_from(e, None)",
            '  File "/usr/lib/python3/dist-packages/urllib3/conn.py", line 96, in create',
            "    raise err",
            "ConnectionRefusedError: [Errno 111] Connection refused",
        ]
    )
    result = compact(text)
    assert result.text.split("\n") == [
        "Traceback (most recent call last):",
        '  File "/srv/app/jobs.py", line 12, in run',
        "    client.get(url)",
        "  … 2 frames in site-packages",
        '  File "/usr/lib/python3/dist-packages/urllib3/conn.py", line 96, in create',
        "    raise err",
        "ConnectionRefusedError: [Errno 111] Connection refused",
    ]
    assert "trace_frames:2" in result.steps


def test_a_recursion_of_own_frames_collapses_to_one_with_a_count() -> None:
    frame = "\tat com.acme.tree.Node.depth(Node.java:31)"
    text = "java.lang.StackOverflowError\n" + "\n".join([frame] * 1024)
    assert compact(text).text == f"java.lang.StackOverflowError\n{frame} … (×1,024 similar lines)"


# -- JSON ------------------------------------------------------------------------------------


def test_json_is_minified_with_strings_and_numbers_byte_for_byte() -> None:
    value = '{\n  "price": 1.0000000000000000001,\n  "big": 123456789012345678901234567890,\n'
    value += '  "name": "a  b\\n \\u00e9",\n  "tags": [ "x", "y" ]\n}'
    result = compact(f"the response:\n```json\n{value}\n```")
    minified = '{"price":1.0000000000000000001,"big":123456789012345678901234567890,'
    minified += '"name":"a  b\\n \\u00e9","tags":["x","y"]}'
    assert result.text == f"the response:\n```json\n{minified}\n```"
    assert result.steps[0].startswith("json:")


def test_text_that_only_looks_like_json_is_left_alone() -> None:
    text = "{ this is not: json }\n[ nor, this ]"
    assert compact(text).text == text


# -- budget ----------------------------------------------------------------------------------


def paste(chars: int, seed: int = 3) -> str:
    """A pasted log of unique lines (nothing for the other steps to fold), errors here and
    there, between a question and a closing line."""
    rng = random.Random(seed)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"]
    lines = ["why does the sync keep failing?", "```"]
    n = 0
    while sum(len(line) + 1 for line in lines) < chars:
        n += 1
        level = "ERROR" if n % 97 == 0 else "INFO"
        detail = " ".join(rng.sample(words, 6))
        job = "".join(chr(ord("k") + int(digit)) for digit in str(n))  # unique, and no digits
        lines.append(f"2026-03-02 10:{n // 60 % 60:02d}:{n % 60:02d} {level} {job} {detail}")
    return "\n".join([*lines, "```", "is it the upstream API?"])


def test_a_30000_character_paste_compacts_under_the_budget() -> None:
    text = paste(30_000)
    result = compact(text, budget_tokens=1_500)
    assert len(text) >= 30_000
    assert result.tokens_after <= 1_500 < result.tokens_before
    lines = result.text.split("\n")
    assert lines[:2] == ["why does the sync keep failing?", "```"]
    assert lines[-2:] == ["```", "is it the upstream API?"]
    errors = [line for line in text.split("\n") if " ERROR " in line]
    assert errors and all(line in lines for line in errors)
    notes = [NOTE.fullmatch(line) for line in lines if line.startswith("[…")]
    assert notes and all(notes)
    left_out = sum(int(note.group(1).replace(",", "")) for note in notes if note)
    assert left_out == len(text.split("\n")) - len(lines) + len(notes)
    cut = dict(step.split(":") for step in result.steps)["budget_cut"]
    assert int(cut) == result.tokens_before - result.tokens_after


def test_an_error_line_is_kept_with_a_line_of_context_either_side() -> None:
    text = paste(20_000, seed=5)
    original = text.split("\n")
    lines = compact(text, budget_tokens=800).text.split("\n")
    for index, line in enumerate(original):
        if " ERROR " in line:
            assert original[index - 1 : index + 2] == lines[lines.index(line) - 1 :][:3]


def test_a_code_block_is_kept_whole_or_left_out_whole() -> None:
    code = "".join(f"    step_{n} = run(step_{n - 1})  # {'x' * 40}\n" for n in range(1, 60))
    for budget in (300, 2_000, 5_000):
        text = f"{paste(12_000)}\nthe job:\n```python\ndef job():\n{code}```\nthat's it"
        result = compact(text, budget_tokens=budget)
        assert result.tokens_after <= budget
        assert result.text.count(FENCE) % 2 == 0
        whole = f"```python\ndef job():\n{code}```"
        kept = whole in result.text
        assert kept or "step_1 =" not in result.text
        assert kept == (budget >= 2_000)


def test_a_budget_the_text_fits_changes_nothing() -> None:
    text = (INPUTS / "node_trace.txt").read_text()
    assert compact(text, budget_tokens=10_000) == compact(text)


# -- hostile input ---------------------------------------------------------------------------


def test_a_40000_character_paste_of_one_line_becomes_that_line_with_a_count() -> None:
    line = "WARN  [kafka-producer-network-thread] Got error produce response, retrying"
    text = "\n".join([line] * (40_000 // (len(line) + 1)))
    result = compact(text)
    assert result.text == f"{line} … (×{text.count(line):,} similar lines)"


def test_a_megabyte_of_minified_json_on_one_line_is_cut_to_the_budget() -> None:
    items = [{"id": n, "sku": f"SKU-{n:06d}", "tags": ["a, b", "c: d"]} for n in range(20_000)]
    text = json.dumps(items, separators=(",", ":"))
    assert len(text) > 1_000_000
    result = compact(text, budget_tokens=2_000)
    assert result.tokens_after <= 2_000
    assert result.text.startswith(text[:400])
    assert result.text.endswith(text[-400:])
    assert re.search(r" \[… [\d,]+ characters \(≈ [\d,]+ tokens\) left out …\] ", result.text)


def test_binary_looking_text_is_replaced_by_one_line() -> None:
    rng = random.Random(9)
    junk = bytes(rng.randrange(256) for _ in range(20_000)).decode("latin-1")
    result = compact(f"attached:\n\n{junk}\n\nwhat is this?")
    assert result.text.startswith("attached:\n\n[… ")
    assert "characters of binary-looking text left out …]" in result.text
    assert result.text.endswith("\n\nwhat is this?")
    assert result.tokens_after < 40


def test_text_with_no_newlines_keeps_its_head_and_tail() -> None:
    text = " ".join(f"token{n}" for n in range(8_000))
    result = compact(text, budget_tokens=500)
    assert "\n" not in result.text
    assert result.text.startswith("token0 token1 ")
    assert result.text.endswith(" token7998 token7999")
    assert result.tokens_after <= 500


HOSTILE = {
    "angle brackets": "<" * 40_000,
    "ampersands": "&amp;" * 8_000,
    "fences only": FENCE * 13_000,
    "fence lines": (FENCE + "\n") * 10_000,
    "digits": "7" * 40_000,
    "one long word": "abcdef" * 7_000,
    "nested brackets": "[" * 20_000 + "]" * 20_000,
    "blank lines": "\n" * 40_000,
    "spaces": " " * 40_000,
    "zero-width": "\u200b\u00a0" * 20_000,
    "dots": ".".join(["abc"] * 10_000) + "Exception",
    "frames without traces": '\tat a.b(C.java:1)\n  File "x", line 1\n\t/x.go:1\n' * 900,
    "lone surrogates": "\ud800" * 1_000 + "text",
    "controls": "".join(chr(n % 32) for n in range(40_000)),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_gives_a_result_within_the_budget(name: str) -> None:
    text = HOSTILE[name]
    plain = compact(text)
    assert plain.tokens_after <= plain.tokens_before
    cut = compact(text, budget_tokens=1_000)
    assert cut.tokens_after <= 1_000


def test_random_mixtures_never_raise_and_respect_the_budget() -> None:
    rng = random.Random(2026)
    pieces = [
        FENCE, "\n", " ", "\t", "<@U1>", "<https://x|y>", "&amp;", "&lt;", "\u200b", "\u00a0",
        "\x1b[31m", "\x00", "2026-03-02 10:00:00 ERROR boom 42", "\tat a.b.C.d(C.java:1)",
        '  File "/usr/lib/python3.11/x.py", line 3, in f', "goroutine 1 [running]:",
        "main.f()", "\t/usr/local/go/src/runtime/x.go:1 +0x1", "{", "}", '"k": 1,', "[", "]",
        "python", "def f():", "    return 1", "Caused by: x.YError: no", "... 3 more", "é", "日本",
    ]  # fmt: skip
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 400)))
        budget = rng.choice([None, 5, 50, 200, 2_000])
        result = compact(text, budget_tokens=budget)
        assert set(step.split(":")[0] for step in result.steps) <= set(STEPS)
        if budget is not None and budget >= 50:
            assert result.tokens_after <= budget, text
