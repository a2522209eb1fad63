"""`chatops jira digest --jql "…"`: the Jira digest `/summarize jql "…"` posts in Slack,
printed in the terminal — the same issues, batched model calls and ledger rows."""

from __future__ import annotations

import argparse
import re
import time
import uuid

from chatops.settings import load_settings

DESCRIPTION = """\
A digest of the Jira issues a JQL query finds: one line per issue — its status, what changed
in the period, who is waiting on whom — written by the model with the issues batched into as
few calls as BATCH_MAX_ITEMS allows (concurrent requests on the EC2 model). Only projects in
JIRA_PROJECTS are read. Needs JIRA_URL, JIRA_USER, JIRA_API_TOKEN, a model and REDIS_URL
(the ledger records every call)."""

EXAMPLES = """\
Examples:
  chatops jira digest --jql "project = OPS AND updated >= -1d"
  chatops jira digest --jql "project = PLAT AND status = Blocked" --since 7d"""

_PERIOD = re.compile(r"^([1-9][0-9]*)([hdw])$")
_UNIT_S = {"h": 3600, "d": 86_400, "w": 604_800}
# Slack's mrkdwn for a terminal: bold marks go, a link shows its label.
_LINK = re.compile(r"<[^|>]+\|([^>]+)>")


def _period_s(text: str) -> int:
    found = _PERIOD.match(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"expected a period such as 1d, 12h or 2w (got {text!r})")
    return int(found.group(1)) * _UNIT_S[found.group(2)]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "jira",
        help="Jira from the terminal: a digest of issues",
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    digest = verbs.add_parser(
        "digest",
        help="one line per issue a JQL query finds",
        description=DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=parser.formatter_class,
    )
    digest.add_argument("--jql", required=True, help="the JQL query, in quotes")
    digest.add_argument(
        "--since",
        type=_period_s,
        default="1d",
        metavar="PERIOD",
        help="what changed is looked for this far back: 12h, 1d, 2w",
    )
    digest.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # The workers' runtime (boto3, the ledger, the batch collector) loads only for this command.
    from chatops.payloads import DigestJob
    from workers.digest import build_digest, collector_for
    from workers.runtime import build_runtime

    runtime = build_runtime(load_settings())
    job = DigestJob(
        request_id=f"cli-{uuid.uuid4().hex[:12]}",
        source="cli",
        jql=args.jql,
        since_s=args.since,
        received_at=time.time(),
    )
    digest = build_digest(runtime, collector_for(runtime), job)
    print(plain(digest.text))
    if digest.footer:
        print(plain(digest.footer))
    return 0


def plain(text: str) -> str:
    return _LINK.sub(r"\1", text).replace("*", "")


__all__ = ["add_parser", "plain", "run"]
