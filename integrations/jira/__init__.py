"""The Jira edge: read issues, write one summary comment per issue, take signed webhooks.

    client.py    JiraClient over the `jira` library: issue + every comment (paged) + changelog,
                 comment add/update; the project allowlist; bounded retries; errors mapped
    records.py   Jira's REST JSON → frozen values (types.py)
    wiki.py      wiki markup → plain text          adf.py   ADF ↔ plain text
    text.py      an issue → header + time-ordered sections, bot noise folded, source hash
    marker.py    the marker line that finds the summary comment
    comments.py  upsert of that one comment
    webhook.py   signature check, dedupe identity, parsing, trigger rules (pure)
    errors.py    its leaves of the `gateway.errors` tree

Imports `gateway`, `chatops.settings` and `chatops.messages`; must not import `bot`, `workers`
or `sandbox`. Nothing here calls a model: summaries are the caller's (`gateway.windowing`).
"""

from integrations.jira.client import JiraClient, ProjectAccess
from integrations.jira.comments import find_summary, upsert_summary
from integrations.jira.text import IssueDocument, NoiseRules, issue_document
from integrations.jira.webhook import Triggers, parse, should_summarize, verify

__all__ = [
    "IssueDocument",
    "JiraClient",
    "NoiseRules",
    "ProjectAccess",
    "Triggers",
    "find_summary",
    "issue_document",
    "parse",
    "should_summarize",
    "upsert_summary",
    "verify",
]
