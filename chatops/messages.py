"""Every sentence the bot shows a person, in one place."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

ASK_USAGE = (
    "Ask me anything about your systems: `/ask <question>` — "
    "for example `/ask how do I rotate the staging DB password?`"
)
MENTION_USAGE = "Yes? Mention me with a question, e.g. `@ChatOps Bot why did the deploy fail?`"
QUESTION_TOO_LONG = (
    "That question is {length:,} characters; I can take {limit:,}. "
    "Shorten it, or attach long logs as a file and ask about them."
)
COST_USAGE = (
    "`/llm-cost [today|7d|30d] [@user|#channel] [share]` — spend, savings by lever and Bedrock"
    " vs EC2, sent to you alone unless you add `share`, e.g. `/llm-cost 7d #ops`"
)
COST_NOT_ALLOWED = "Only the people listed in COST_REPORT_USERS can see LLM spend."
COST_OTHERS_NOT_ALLOWED = (
    "Only the people listed in COST_REPORT_ADMINS can see another person's spend."
)
COST_SENT_PRIVATELY = (
    "I'm sending you the report in a direct message. To post it here for everyone, add"
    " `share`: `/llm-cost {period} share`."
)
# In a report for someone who may not see other people's spend: every DM's row as one.
COST_DIRECT_MESSAGES = "direct messages"
EC2_USAGE = (
    "`/llm-ec2 [status|start|stop] [instance-id]` — the self-hosted model's instances: their"
    " state, or start or stop one (stop with no id: every running one), e.g. `/llm-ec2 start`"
)
EC2_NOT_ALLOWED = (
    "Only the people listed in EC2_CONTROL_USERS (or COST_REPORT_USERS) can see or control the"
    " self-hosted model's instances."
)
EC2_NOT_CONFIGURED = (
    "No EC2 instance is configured: set EC2_INSTANCE_IDS or EC2_INSTANCE_TAG to let me start and"
    " stop the self-hosted model's instances."
)
EC2_HEADING = (
    "*EC2 instances* · schedule `{schedule}` · stop after {idle_min:g} min without a request"
    " · up to {max_instances} · seen {seen}"
)
EC2_NEVER_SEEN = "not yet"
EC2_FLEET_PROBLEM = ":warning: I can't see the instances: {problem}. Requests go to Bedrock."
EC2_NO_INSTANCES = "No instance carries the tag `{tag}`."
EC2_INSTANCE_LINE = (
    "`{instance_id}` {state} · up {uptime} today · {served} served today · {in_flight} in flight"
)
EC2_ANSWERING = "answering"
EC2_NOT_ANSWERING = "model server not answering yet"
EC2_STOPS_AT = "stops at {at} if no request comes"
EC2_HELD = "stopped by hand: the schedule leaves it down until {until}"
EC2_HELD_UNTIL_STARTED = "stopped by hand: the schedule leaves it down until it is started"
EC2_PROBLEM = ":warning: {problem} ({at}); {retry}"
EC2_RETRY_AT = "I'll try again after {at}"
EC2_RETRY_NOW = "I'll try again when needed"
EC2_LAST_ACTION = "last: {action} at {at}"
EC2_STARTED = (
    "Started `{instance_id}`: it answers once its model server is up; Bedrock answers meanwhile."
)
EC2_STOPPED = "Stopped `{instance_id}`."
EC2_NOT_DONE = "Could not {verb} `{instance_id}`: {problem}."
EC2_NOTHING_TO_START = "No stopped instance to start."
EC2_NOTHING_TO_STOP = "No running instance to stop."
EC2_BUSY = "The instance controller is busy; try again in a few seconds."
BUSY = "I can't take requests right now (my queue is unavailable). Please try again in a minute."
# The OpenAI-compatible API (`chatops api`): what a client's error message says.
API_NO_KEY = (
    "You didn't provide an API key: send it as `Authorization: Bearer <token>` (a token from"
    " `chatops api-token create`)."
)
API_UNKNOWN_KEY = "Incorrect API key provided: it is not a token of this server."
API_REVOKED_KEY = "This API key was revoked on {at:%Y-%m-%d %H:%M} UTC: ask for a new token."
API_BAD_JSON = "We could not parse the JSON body of your request ({problem}): send one JSON object."
API_INVALID = "Invalid value for '{param}': {problem}."
API_MISSING = "Missing required parameter: '{param}'."
API_BODY_TOO_LARGE = "The request body is {size:,} bytes; this server takes at most {limit:,}."
API_UNKNOWN_MODEL = (
    "The model `{model}` does not exist here: use one of {models} (GET /v1/models lists them)."
)
API_MAX_TOKENS = (
    "max_tokens is too large: {asked:,}. This server supports at most {limit:,} completion tokens."
)
API_CONTEXT_TOO_LONG = (
    "This server's maximum context length is {limit:,} tokens. However, your messages resulted"
    " in {tokens:,} tokens. Please reduce the length of the messages."
)
API_ROLE = (
    "messages[{index}].role '{role}' is not supported here: use system, developer, user or"
    " assistant (this server calls no tools)."
)
API_CONTENT_PART = "messages[{index}].content: only text parts are supported (got '{kind}')."
API_LAST_MESSAGE = "The last message must be from the user (role 'user')."
API_ONE_CHOICE = "n must be 1: this server returns one choice."
API_BUDGET = (
    "This request would go over {budget} of {cap}: {left} left. It resets at {at:%H:%M} UTC"
    " on {at:%Y-%m-%d}."
)
API_TOKEN_BUDGET = "this token's daily budget"
API_TEAM_BUDGET = "team {team}'s daily budget"
API_NOT_FOUND = (
    "Invalid URL ({method} {path}): this server answers POST /v1/chat/completions and"
    " GET /v1/models."
)
API_METHOD = "{method} is not allowed on {path}: use {allowed}."
API_SERVER_ERROR = "The server had an error while processing your request (error id {error_id})."
API_UNAVAILABLE = "The server cannot answer right now (its Redis is not answering): try again soon."
ROOT_MESSAGE = "<@{user}> asked: {question}"
# The root message quotes at most this much of a question: a pasted log would pass Slack's
# ~4,000-character limit for plain text, and the answer's context has the whole of it anyway.
ROOT_QUOTE_CHARS = 500
# ASK_ROOT_QUOTE=full: as much as a plain-text message takes, with room for the rest.
ROOT_FULL_QUOTE_CHARS = 3_500
# ASK_ROOT_QUOTE=none: the question is only in the answer's context, never quoted.
ROOT_MESSAGE_UNQUOTED = "<@{user}> asked a question."
FOOTER = "_{model} · {input_tokens:,} in / {output_tokens:,} out tokens · {cost}_"
# An answer no model wrote for this request; matches FOOTER's shape (tokens, then cost).
CACHED_FOOTER = (
    "_{model} · {how} {when} · 0 in / 0 out tokens · $0.00, saved {saved}"
    " · add `--fresh` to ask anew_"
)
CACHED_EXACT = "the same question's answer from"
CACHED_SEMANTIC = "the answer to the same question, asked differently, at"
CACHED_FLIGHT = "answered together with the identical question asked at"
# The buttons under an answer, and what the person who pressed one is told privately.
ANSWER_NOT_HELPFUL_BUTTON = "Not helpful"
ANSWER_AGAIN_BUTTON = "Answer again with the large model"
ANSWER_FRESH_BUTTON = "Answer fresh"
ANSWER_ESCALATED = (
    "Thanks for saying so. The next answer in this thread will come from the {tier} tier;"
    " *Answer again with the large model* redoes this one."
)
ANSWER_AT_TOP = "This answer already came from the largest model tier."
ANSWER_TOO_OLD = "I no longer have what this answer was asked with, so I can't redo it: ask again."
# `--explain`: why the request went to its tier.
EXPLAIN = (
    "_Routed to the {tier} tier: {reason}. Signals: {signals}."
    " Prompt {before:,} → {after:,} tokens after compaction._"
)
COST_SELF_HOSTED = "EC2 instance hours"
COST_UNPRICED = "unpriced"
# A footer's note when the tier's first route was skipped: `ec2 starting`, `ec2 stopped`, …
ROUTE_SKIPPED = "{reason}, so {backend} answered"
DOWNGRADED = "downgraded to the {tier} tier to stay within {budget}"
REFUSED = ":no_entry: {reason}"
NOTICE = ":information_source: {text}"
JOB_FAILED = ":warning: Sorry, I couldn't finish this answer: {reason} (error id `{error_id}`)"
UNEXPECTED = "something went wrong on my side"
# Slack refused to let the bot post where it was asked (said privately, before any model call).
NOT_IN_CHANNEL = (
    "I can't post in this channel yet. Invite me with `/invite @ChatOps Bot`, or ask me in a DM."
)
MISSING_SCOPE = (
    "I can't post here: my Slack app is missing the `{scope}` permission. "
    "Ask a Slack admin to add it and reinstall the app."
)
CANNOT_POST = "I couldn't post in this conversation (Slack said `{error}`)."
# {what}: the labels of gateway.redaction's findings, e.g. "an AWS access key and a Slack
# token"; {them}: "it" or "them".
SECRETS_REMOVED = (
    ":lock: I removed {what} from your message before passing it on. Rotate {them} now: "
    "anything pasted into Slack should be treated as exposed."
)
# A file attached to a question that the answer goes without (`workers.attachments`), said
# privately: one sentence per file.
FILE_LEFT_OUT = ":page_facing_up: I answered without `{name}`: {reason}."
FILE_NOT_TEXT = "it is not a text file (I read text files and snippets)"
FILE_TOO_BIG = "it is {size}, and I read files up to {limit}"
FILE_NOT_AVAILABLE = "Slack would not give it to me (`{error}`)"
FILE_DOWNLOAD_FAILED = "its download from Slack failed; attach it again to try once more"
JIRA_NOT_VISIBLE = "{key} was not found, or I can't see it."
JIRA_PROJECT_NOT_ALLOWED = "I'm not allowed to read Jira project {project}. I can read: {allowed}."
JIRA_UNAVAILABLE = "Jira isn't answering right now. Try again in a few minutes."
JIRA_RATE_LIMITED = (
    "Jira is rate-limiting me and asked me to wait {seconds} seconds. Try again then."
)
JIRA_SIGN_IN_FAILED = (
    "I can't sign in to Jira: an admin needs to check JIRA_AUTH, JIRA_USER and JIRA_API_TOKEN."
)
JIRA_REFUSED = "Jira refused to let me {action} {key}."
# The first line of the bot's summary comment on an issue, so readers know it is rewritten.
JIRA_SUMMARY_HEADING = "Summary by ChatOps Bot — kept up to date as the issue changes"
# Summaries and digests (/summarize, /digest, mentions that ask for a summary).
SUMMARIZE_USAGE = (
    "`/summarize KEY [--post]` — a summary of a Jira issue (`--post` also keeps it as one"
    " comment on the issue), e.g. `/summarize OPS-123 --post`; `/summarize project=OPS"
    ' updated:-1d` or `/summarize jql "…"` — a digest with a line per issue'
)
SUMMARY_ROOT = "<@{user}> asked for a summary of <{url}|{key}>"
THREAD_SUMMARY_ROOT = "Summary of this thread ({count:,} messages)"
SUMMARY_FOOTER_WINDOWS = "{windows} windows, {mapped} read now, {cached} from cache"
SUMMARY_NO_CALL_FOOTER = (
    "_no model call: unchanged since the last summary · 0 in / 0 out tokens · $0.00_"
)
SUMMARY_POST_PROMPT = "Keep this summary on {key} as a comment?"
SUMMARY_POST_BUTTON = "Post to Jira"
SUMMARY_POSTED = {
    "created": ":white_check_mark: Posted to <{url}|{key}> as a comment.",
    "updated": ":white_check_mark: Updated the summary comment on <{url}|{key}>.",
    "unchanged": ":white_check_mark: The summary comment on <{url}|{key}> is already up to date.",
}
ISSUE_QUESTION = (
    "About {key} ({url}), from its summary and latest comments:\n<issue>\n{context}\n</issue>"
    "\n\nQuestion: {question}"
)
DIGEST_ROOT = "<@{user}> asked for a digest of `{jql}`"
DIGEST_HEADING = "*Jira digest* · `{jql}` · {count} issue(s) changed"
DIGEST_MORE = "_…and {more} more: narrow the query to see them._"
DIGEST_EMPTY = "No issue matches `{jql}`."
DIGEST_LINE_FAILED = "*{key}*: {reason}"
# A new Jira issue's triage line (JIRA_TRIAGE_CHANNEL), and the line when it could not be made.
TRIAGE_LINE = "*New <{url}|{key}>* · {issue_type} · {priority} · {title}\n{answer}"
TRIAGE_FAILED = "*New <{url}|{key}>* · {title}\nI couldn't triage it: {reason}"
TRIAGE_UNREAD = "*New {key}*: I couldn't read it in Jira to triage it. {reason}"
DIGEST_USAGE = (
    '`/digest add "JQL" HH:MM` (a daily digest here, UTC), `/digest list`, `/digest remove N`'
    ' — e.g. `/digest add "project = OPS" 07:30`'
)
DIGEST_ADDED = (
    "Daily digest {number} set up for this channel: `{jql}` every day at {at} UTC,"
    " first on {first}."
)
DIGEST_LIST_EMPTY = "No daily digest is set up for this channel."
DIGEST_LIST_LINE = "{number}. `{jql}` at {at} UTC (set up by <@{user}>)"
DIGEST_REMOVED = "Removed daily digest {number}: `{jql}`."
DIGEST_NOT_FOUND = "There is no daily digest {number} in this channel; `/digest list` shows them."
# Channel policies (`gateway.channel_policy`), set in the App Home by workspace admins.
CHANNEL_NOT_ALLOWED = (
    "I'm not switched on in this channel. A workspace admin{also} can allow it from my App Home"
    " (open my profile, then *Home*)."
)
ADMINS_ALSO = " or someone in <!subteam^{group}>"
AI_DISCLOSURE = "AI-generated answer: check it before you act on it."
HOME_TITLE = "ChatOps Bot"
HOME_ABOUT = (
    "I answer questions about your systems and summarize Jira issues with large language"
    " models, each question on the cheapest model that fits it. Ask me with `/ask`, by"
    " mentioning me in a thread, or in a direct message."
)
HOME_AI_GENERATED = (
    ":robot_face: My answers are AI-generated and can be wrong: check them before you act on"
    " them. Each one says which model wrote it."
)
HOME_MODELS_HEADING = "*Models I may use*"
HOME_MODEL_LINE = "• {tier}: {models}"
HOME_DATA_HEADING = "*Where your text goes*"
HOME_DATA_INTRO = (
    "When you ask me something, your question and the thread it is in leave Slack (with"
    " secrets removed first) for one of these:"
)
HOME_DATA_BEDROCK = "• Amazon Bedrock, AWS region {region}: {models}"
HOME_DATA_EC2 = "• our own model server on EC2, inside our AWS account: {models}"
HOME_DATA_EC2_ONLY = "In {channels}, text goes to our own model server only, never to Bedrock."
HOME_DATA_KEPT = (
    "A thread is kept for {thread_min} minutes to answer follow-ups; an answer may be reused"
    " for the same question from the same place for up to {answer_h} hours (not in channels"
    " that turned caching off). Spend records — who, where, which model, tokens and cost, never"
    " the text — are kept for {days} days."
)
HOME_YOUR_SPEND = "*Your spend in the last 7 days:* {spend} over {requests:,} request(s)."
HOME_ADMIN_HEADING = "Channel policies"
HOME_ADMIN_INTRO = (
    "You can change these as a workspace admin{also}. A channel nobody has set is {default}."
    " Every change is logged with who made it."
)
HOME_DEFAULT_ALLOWED = "allowed"
HOME_DEFAULT_NOT_ALLOWED = "not allowed"
HOME_CHANNEL_LINE = "*<#{channel}>* · {allowed} · {tiers}{extras}\n{spend} in the last 7 days"
HOME_CHANNEL_NOT_ALLOWED = ":no_entry: not allowed"
HOME_ANY_TIER = "any tier"
HOME_TIER_RANGE = "tiers {low}–{high}"
HOME_TIER_AT_LEAST = "{tier} tier or above"
HOME_TIER_AT_MOST = "{tier} tier or below"
HOME_EC2_ONLY = "EC2 only"
HOME_NO_CACHE = "no caching"
HOME_THREAD_REPLIES = "answers thread replies without a mention"
HOME_PROMPT = "prompt: “{prompt}”"
HOME_BUDGET = "{budget} a day"
HOME_NO_CHANNELS = "No channel has asked me anything yet."
HOME_MORE_CHANNELS = "…and {more} more channels: set one by name with the button above."
HOME_EDIT_BUTTON = "Edit"
HOME_ADD_BUTTON = "Set a channel's policy"
HOME_LOG_HEADING = "*Recent changes*"
HOME_LOG_CHANGE = "{when} · <@{user}> set <#{channel}>: {changes}"
HOME_LOG_REFUSED = "{when} · <@{user}> tried to change <#{channel}>: refused ({reason})"
HOME_LOG_NOTHING = "nothing changed"
HOME_LOG_EMPTY = "none"
POLICY_MODAL_TITLE = "Channel policy"
POLICY_SAVE = "Save"
POLICY_CANCEL = "Cancel"
POLICY_CHANNEL = "Channel"
POLICY_EDITING = "Policy of <#{channel}>"
POLICY_ALLOWED = "May people here use the bot?"
POLICY_YES = "Yes"
POLICY_NO = "No"
POLICY_MIN_TIER = "Least capable model tier"
POLICY_MAX_TIER = "Most capable model tier"
POLICY_NO_LIMIT = "no limit"
POLICY_PROMPT = "Added to the system prompt here"
POLICY_PROMPT_HINT = "For example: Answers here are read by the payments team; name the runbook."
POLICY_OPTIONS = "Options"
POLICY_THREAD_OPTION = "Answer replies in my threads without a new mention"
POLICY_CACHE_OPTION = "Cache answers, and reuse them for the same question"
POLICY_EC2_OPTION = "EC2 only: never send this channel's text to Bedrock"
POLICY_BUDGET = "Daily budget (USD)"
POLICY_BUDGET_HINT = "Empty: the deployment's cap for every channel applies."
POLICY_BAD_TIER = "Choose one of: {tiers}."
POLICY_TIERS_CROSSED = "Choose a tier at least as capable as the least capable one ({tier})."
POLICY_BAD_BUDGET = "Enter an amount in dollars, such as 5 or 2.50 (or leave it empty)."
POLICY_PROMPT_TOO_LONG = "At most {limit:,} characters (this is {length:,})."
POLICY_NO_CHANNEL = "Choose a channel (not a direct message)."
POLICY_EC2_NO_ROUTE = (
    "No {tier}-tier model runs on our own model server: choose a lower tier, or turn off EC2 only."
)
POLICY_NOT_ADMIN = "Only workspace admins{also} can change channel policies."
# How the Home tab names the backends, and the fields of a policy in its change log.
HOME_BACKENDS = {"bedrock": "Amazon Bedrock", "ec2": "our own model server"}
POLICY_FIELD_NAMES = {
    "allowed": "allowed",
    "min_tier": "least capable tier",
    "max_tier": "most capable tier",
    "prompt_addition": "prompt",
    "thread_replies": "thread replies",
    "cache_allowed": "caching",
    "ec2_only": "EC2 only",
    "daily_budget_micro_usd": "daily budget",
}


def root_message(user: str, question: str, mode: str = "short") -> str:
    """`<@U…> asked: …`, the /ask thread's root (`mode`: ASK_ROOT_QUOTE). `question` must
    already be redacted. A long one is cut short, never inside a code block, inline code or a
    Slack link (which would show the rest of the message as code, or a broken link)."""
    if mode == "none":
        return ROOT_MESSAGE_UNQUOTED.format(user=user)
    limit = ROOT_FULL_QUOTE_CHARS if mode == "full" else ROOT_QUOTE_CHARS
    return ROOT_MESSAGE.format(user=user, question=_quote(question, limit))


def _quote(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
    cut = cut if cut > limit // 2 else limit
    fences = [match.start() for match in re.finditer("```", text[:cut])]
    if len(fences) % 2:  # inside a code block: end before it, or close it if it is all there is
        if fences[-1] < limit // 4:
            return text[:cut].rstrip() + "…\n```"
        cut = fences[-1]
    head = text[:cut]
    if head.rfind("<") > head.rfind(">"):  # inside <@U…>, <#C…>, <https://…|…>
        cut = head.rfind("<")
    outside_blocks = re.sub(r"```.*?```", "", text[:cut], flags=re.DOTALL)
    if outside_blocks.count("`") % 2:  # inside inline code
        cut = text.rfind("`", 0, cut)
    return text[:cut].rstrip().rstrip("`").rstrip() + "…"


def secrets_removed(labels: Sequence[str]) -> str:
    """SECRETS_REMOVED for the labels of what was removed, one per secret, e.g. ("AWS access
    key", "password", "password") → "an AWS access key and 2 passwords … Rotate them"."""
    counts = Counter(labels)
    parts = [
        f"{count} {label}s" if count > 1 else f"{'an' if label[0] in 'AEIOUaeiou' else 'a'} {label}"
        for label, count in counts.items()
    ]
    what = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return SECRETS_REMOVED.format(what=what, them="them" if len(labels) > 1 else "it")


def admins_also(usergroup: str) -> str:
    """` or someone in @group` when a user group may change policies too; else empty."""
    return ADMINS_ALSO.format(group=usergroup) if usergroup else ""


def usd(micro_usd: int) -> str:
    """`$734.38`, `$0.0123`, `$0.000042`: cents from ten cents up, finer below, where a
    small team's week of Nova calls lives."""
    dollars = Decimal(abs(micro_usd)) / 1_000_000
    if micro_usd == 0 or abs(micro_usd) >= 100_000:
        text = f"{dollars:,.2f}"
    elif abs(micro_usd) >= 1_000:
        text = f"{dollars:.4f}"
    else:
        text = f"{dollars:.6f}"
    return f"{'-' if micro_usd < 0 else ''}${text}"


__all__ = [
    "ADMINS_ALSO",
    "AI_DISCLOSURE",
    "ANSWER_AGAIN_BUTTON",
    "ANSWER_AT_TOP",
    "ANSWER_ESCALATED",
    "ANSWER_FRESH_BUTTON",
    "ANSWER_NOT_HELPFUL_BUTTON",
    "ANSWER_TOO_OLD",
    "API_BAD_JSON",
    "API_BODY_TOO_LARGE",
    "API_BUDGET",
    "API_CONTENT_PART",
    "API_CONTEXT_TOO_LONG",
    "API_INVALID",
    "API_LAST_MESSAGE",
    "API_MAX_TOKENS",
    "API_METHOD",
    "API_MISSING",
    "API_NOT_FOUND",
    "API_NO_KEY",
    "API_ONE_CHOICE",
    "API_REVOKED_KEY",
    "API_ROLE",
    "API_SERVER_ERROR",
    "API_TEAM_BUDGET",
    "API_TOKEN_BUDGET",
    "API_UNAVAILABLE",
    "API_UNKNOWN_KEY",
    "API_UNKNOWN_MODEL",
    "ASK_USAGE",
    "BUSY",
    "CACHED_EXACT",
    "CACHED_FLIGHT",
    "CACHED_FOOTER",
    "CACHED_SEMANTIC",
    "CANNOT_POST",
    "CHANNEL_NOT_ALLOWED",
    "COST_DIRECT_MESSAGES",
    "COST_NOT_ALLOWED",
    "COST_OTHERS_NOT_ALLOWED",
    "COST_SELF_HOSTED",
    "COST_SENT_PRIVATELY",
    "COST_UNPRICED",
    "COST_USAGE",
    "DIGEST_ADDED",
    "DIGEST_EMPTY",
    "DIGEST_HEADING",
    "DIGEST_LINE_FAILED",
    "DIGEST_LIST_EMPTY",
    "DIGEST_LIST_LINE",
    "DIGEST_MORE",
    "DIGEST_NOT_FOUND",
    "DIGEST_REMOVED",
    "DIGEST_ROOT",
    "DIGEST_USAGE",
    "DOWNGRADED",
    "EC2_ANSWERING",
    "EC2_BUSY",
    "EC2_FLEET_PROBLEM",
    "EC2_HEADING",
    "EC2_HELD",
    "EC2_HELD_UNTIL_STARTED",
    "EC2_INSTANCE_LINE",
    "EC2_LAST_ACTION",
    "EC2_NEVER_SEEN",
    "EC2_NOTHING_TO_START",
    "EC2_NOTHING_TO_STOP",
    "EC2_NOT_ALLOWED",
    "EC2_NOT_ANSWERING",
    "EC2_NOT_CONFIGURED",
    "EC2_NOT_DONE",
    "EC2_NO_INSTANCES",
    "EC2_PROBLEM",
    "EC2_RETRY_AT",
    "EC2_RETRY_NOW",
    "EC2_STARTED",
    "EC2_STOPPED",
    "EC2_STOPS_AT",
    "EC2_USAGE",
    "EXPLAIN",
    "FILE_DOWNLOAD_FAILED",
    "FILE_LEFT_OUT",
    "FILE_NOT_AVAILABLE",
    "FILE_NOT_TEXT",
    "FILE_TOO_BIG",
    "FOOTER",
    "HOME_ABOUT",
    "HOME_ADD_BUTTON",
    "HOME_ADMIN_HEADING",
    "HOME_ADMIN_INTRO",
    "HOME_AI_GENERATED",
    "HOME_ANY_TIER",
    "HOME_BACKENDS",
    "HOME_BUDGET",
    "HOME_CHANNEL_LINE",
    "HOME_CHANNEL_NOT_ALLOWED",
    "HOME_DATA_BEDROCK",
    "HOME_DATA_EC2",
    "HOME_DATA_EC2_ONLY",
    "HOME_DATA_HEADING",
    "HOME_DATA_INTRO",
    "HOME_DATA_KEPT",
    "HOME_DEFAULT_ALLOWED",
    "HOME_DEFAULT_NOT_ALLOWED",
    "HOME_EC2_ONLY",
    "HOME_EDIT_BUTTON",
    "HOME_LOG_CHANGE",
    "HOME_LOG_EMPTY",
    "HOME_LOG_HEADING",
    "HOME_LOG_NOTHING",
    "HOME_LOG_REFUSED",
    "HOME_MODELS_HEADING",
    "HOME_MODEL_LINE",
    "HOME_MORE_CHANNELS",
    "HOME_NO_CACHE",
    "HOME_NO_CHANNELS",
    "HOME_PROMPT",
    "HOME_THREAD_REPLIES",
    "HOME_TIER_AT_LEAST",
    "HOME_TIER_AT_MOST",
    "HOME_TIER_RANGE",
    "HOME_TITLE",
    "HOME_YOUR_SPEND",
    "ISSUE_QUESTION",
    "JIRA_NOT_VISIBLE",
    "JIRA_PROJECT_NOT_ALLOWED",
    "JIRA_RATE_LIMITED",
    "JIRA_REFUSED",
    "JIRA_SIGN_IN_FAILED",
    "JIRA_SUMMARY_HEADING",
    "JIRA_UNAVAILABLE",
    "JOB_FAILED",
    "MENTION_USAGE",
    "MISSING_SCOPE",
    "NOTICE",
    "NOT_IN_CHANNEL",
    "POLICY_ALLOWED",
    "POLICY_BAD_BUDGET",
    "POLICY_BAD_TIER",
    "POLICY_BUDGET",
    "POLICY_BUDGET_HINT",
    "POLICY_CACHE_OPTION",
    "POLICY_CANCEL",
    "POLICY_CHANNEL",
    "POLICY_EC2_NO_ROUTE",
    "POLICY_EC2_OPTION",
    "POLICY_EDITING",
    "POLICY_FIELD_NAMES",
    "POLICY_MAX_TIER",
    "POLICY_MIN_TIER",
    "POLICY_MODAL_TITLE",
    "POLICY_NO",
    "POLICY_NOT_ADMIN",
    "POLICY_NO_CHANNEL",
    "POLICY_NO_LIMIT",
    "POLICY_OPTIONS",
    "POLICY_PROMPT",
    "POLICY_PROMPT_HINT",
    "POLICY_PROMPT_TOO_LONG",
    "POLICY_SAVE",
    "POLICY_THREAD_OPTION",
    "POLICY_TIERS_CROSSED",
    "POLICY_YES",
    "QUESTION_TOO_LONG",
    "REFUSED",
    "ROOT_FULL_QUOTE_CHARS",
    "ROOT_MESSAGE",
    "ROOT_MESSAGE_UNQUOTED",
    "ROOT_QUOTE_CHARS",
    "ROUTE_SKIPPED",
    "SECRETS_REMOVED",
    "SUMMARIZE_USAGE",
    "SUMMARY_FOOTER_WINDOWS",
    "SUMMARY_NO_CALL_FOOTER",
    "SUMMARY_POSTED",
    "SUMMARY_POST_BUTTON",
    "SUMMARY_POST_PROMPT",
    "SUMMARY_ROOT",
    "THREAD_SUMMARY_ROOT",
    "TRIAGE_FAILED",
    "TRIAGE_LINE",
    "TRIAGE_UNREAD",
    "UNEXPECTED",
    "admins_also",
    "root_message",
    "secrets_removed",
    "usd",
]
