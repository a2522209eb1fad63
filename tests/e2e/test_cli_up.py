"""`chatops up` as a new user runs it (`make run`): no credentials → the sandbox plays its
script, and the terminal shows what Slack would."""

from __future__ import annotations

import re

from tests.e2e.test_cli_ask import _chatops


def test_up_plays_the_sandbox_conversation_and_exits() -> None:
    result = _chatops("up")  # stdout is a pipe, so --once is the default

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "#ops  alice: /ask How do I rotate the staging DB password?" in out
    assert "#ops  ChatOps Bot: @alice asked: How do I rotate the staging DB password?" in out
    assert "#ops (thread)  bob: @chatops and what changes for production?" in out
    assert "DM  carol: Who do I page when the payments queue backs up?" in out
    answers = re.findall(
        r"\(thread\)  ChatOps Bot: \[offline emulator · [^\]]+\] You asked: “([^”]+)”", out
    )
    assert answers == [
        "How do I rotate the staging DB password?",
        "and what changes for production?",
        "Who do I page when the payments queue backs up?",
    ]
    footers = re.findall(r"^_.+ · [\d,]+ in / [\d,]+ out tokens · \$0\.\d{6}_$", out, re.MULTILINE)
    assert len(footers) == 3
    assert "Script done: 3 requests acknowledged" in result.stderr
