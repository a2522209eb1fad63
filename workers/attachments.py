"""Text files and snippets attached to a question, read so that the answer can use them.

The bot edge queued only the files' ids and names (a listener makes no Slack call). Here, for
each file: `files.info` (scope files:read) gives its size, type and private URL; a file that is
plainly not text (an image, an archive, a PDF …) or bigger than MAX_FILE_BYTES is left out
without being downloaded. Otherwise its `url_private` is read with the bot token — only from
Slack's file host or the configured Slack API's host, so the token goes nowhere else — at most
MAX_FILE_BYTES + 1 bytes, within a deadline shared by all files, following no redirect. What
arrives must read as text (`as_text`): UTF-8 (or UTF-16 with a byte-order mark), no NUL byte,
hardly any control character — a binary renamed `.log` is left out — and not Slack's sign-in
page, which is what Slack serves, with status 200, to a token it does not accept.

A file's text joins the question as if it had been pasted under it (`question_with`): secrets
replaced like a message's, then escaped as Slack escapes a message (`&`, `<`, `>`), so that the
engine's compaction — which reads every turn as Slack text — restores it byte for byte and reads
none of it as Slack markup, exactly as `compact(text, from_slack=False)` treats a lone file;
and a follow-up, whose stored turn holds the same text, shapes to the same bytes (prompt
caching). Compaction then cuts the turn to COMPACT_QUESTION_TOKENS like any long paste.

Every file the answer goes without gets one sentence, told privately once per request; the
question is answered all the same.
"""

from __future__ import annotations

import codecs
import http.client
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chatops import messages
from chatops.payloads import AnswerJob, FileRef
from chatops.settings import Settings
from gateway import keys
from gateway.redaction import redact
from workers import slack_refusals
from workers.runtime import Runtime

log = logging.getLogger(__name__)

# Slack's own file hosts (commercial and GovSlack); the configured API's host is added.
SLACK_FILE_HOSTS = frozenset({"files.slack.com", "files.slack-gov.com"})
# All of one question's downloads together, and the longest wait for one read.
DOWNLOAD_DEADLINE_S = 20.0
READ_TIMEOUT_S = 10.0
NOTED_TTL_S = 24 * 3600
# How the model sees a file under the question.
FILE_HEADER = 'Attached file "{name}":'
# Types that are never text: left out without a download.
_BINARY_MIMETYPES = (
    "image/",
    "audio/",
    "video/",
    "font/",
    "application/pdf",
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/x-tar",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-7z-compressed",
    "application/vnd.rar",
    "application/java-archive",
    "application/msword",
    "application/vnd.ms-",
    "application/vnd.openxmlformats",
    "application/x-msdownload",
    "application/x-executable",
    "application/x-sqlite3",
)
# Characters that do not occur in text (NUL, most C0 controls, DEL, U+FFFD from bytes that
# decode to nothing): tab, newlines, form feed and ESC (colour codes in logs) are text.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f\ufffd]")
_MAX_NOT_TEXT_SHARE = 0.01
# Characters sniffed at each end of a file.
_SNIFF_CHARS = 32_768
_CHUNK_BYTES = 65_536
_SLACK_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))


@dataclass(frozen=True)
class AttachedText:
    """A file read as text (its secrets already replaced)."""

    name: str
    text: str
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeftOut:
    """A file the answer goes without, and why (a reason from `chatops.messages`)."""

    name: str
    reason: str

    def sentence(self) -> str:
        return messages.FILE_LEFT_OUT.format(name=self.name, reason=self.reason)


def as_text(data: bytes) -> str | None:
    """The bytes as text, or None when they are not text (whatever the file was called)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    elif b"\x00" in data:
        return None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Windows tools still write cp1252; binary decodes to controls and U+FFFD.
            text = data.decode("cp1252", errors="replace")
    return text if _looks_like_text(text) else None


def _looks_like_text(text: str) -> bool:
    sample = text if len(text) <= 2 * _SNIFF_CHARS else text[:_SNIFF_CHARS] + text[-_SNIFF_CHARS:]
    return len(_NOT_TEXT.findall(sample)) <= len(sample) * _MAX_NOT_TEXT_SHARE


def escape_as_slack(text: str) -> str:
    """`text` as Slack would deliver it typed into a message: `&`, `<` and `>` escaped."""
    for plain, escaped in _SLACK_ESCAPES:
        text = text.replace(plain, escaped)
    return text


def question_with(question: str, files: Sequence[AttachedText]) -> str:
    """The question with each file's text pasted under it, Slack-escaped."""
    parts = [question] if question else []
    for attached in files:
        header = escape_as_slack(FILE_HEADER.format(name=attached.name))
        parts.append(f"{header}\n\n{escape_as_slack(attached.text)}")
    return "\n\n".join(parts)


def size_text(size: int) -> str:
    """`512 bytes`, `1,953 KB`, `12.5 MB` (1 KB = 1,024 bytes): kilobytes up to 10 MB, so
    that a file just over a 1 MB limit does not read as the limit itself."""
    if size < 1024:
        return f"{size:,} bytes"
    if size < 10 * 1024 * 1024:
        return f"{size / 1024:,.0f} KB"
    return f"{size / (1024 * 1024):,.1f} MB"


class FileReader:
    """Reads attached files through Slack: `files.info`, then the private URL."""

    def __init__(
        self,
        slack: WebClient,
        token: str,
        *,
        max_bytes: int,
        hosts: frozenset[str] = SLACK_FILE_HOSTS,
        deadline_s: float = DOWNLOAD_DEADLINE_S,
        redact_secrets: bool = True,
    ) -> None:
        self._slack = slack
        self._token = token
        self._max_bytes = max_bytes
        self._hosts = hosts
        self._deadline = time.monotonic() + deadline_s
        self._redact = redact_secrets
        self._opener = urllib.request.build_opener(_NoRedirect)

    def read(self, ref: FileRef) -> AttachedText | LeftOut:
        name = ref.name or ref.id
        try:
            info: dict[str, Any] = self._slack.files_info(file=ref.id)["file"]
        except SlackApiError as exc:
            error = slack_refusals.error_code(exc)
            return LeftOut(name, messages.FILE_NOT_AVAILABLE.format(error=error))
        name = str(info.get("name") or name)
        refused = self._refusal(info)
        if refused is not None:
            return LeftOut(name, refused)
        data = self._download(str(info.get("url_private") or ""), str(info.get("mimetype")))
        if isinstance(data, str):
            return LeftOut(name, data)
        text = as_text(data)
        if text is None:
            return LeftOut(name, messages.FILE_NOT_TEXT)
        if not self._redact:
            return AttachedText(name, text)
        redacted = redact(text)
        return AttachedText(name, redacted.text, tuple(f.label for f in redacted.findings))

    def _refusal(self, info: dict[str, Any]) -> str | None:
        """Why the file is left out before any download, if it is."""
        mimetype = str(info.get("mimetype") or "").lower()
        if mimetype.startswith(_BINARY_MIMETYPES):
            return messages.FILE_NOT_TEXT
        size = int(info.get("size") or 0)
        if size > self._max_bytes:
            return self._too_big(size)
        if not info.get("url_private"):
            return messages.FILE_NOT_AVAILABLE.format(error=info.get("mode") or "no_url")
        return None

    def _too_big(self, size: int) -> str:
        return messages.FILE_TOO_BIG.format(size=size_text(size), limit=size_text(self._max_bytes))

    def _download(self, url: str, mimetype: str) -> bytes | str:
        """The file's bytes, or the reason it could not be read."""
        parts = urlsplit(url)
        if parts.hostname not in self._hosts or parts.scheme not in ("https", "http"):
            log.warning("file_url_refused host=%s", parts.hostname)
            return messages.FILE_NOT_AVAILABLE.format(error="unknown_host")
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self._token}"})
        try:
            timeout = min(READ_TIMEOUT_S, max(0.1, self._deadline - time.monotonic()))
            with self._opener.open(request, timeout=timeout) as response:
                if _is_sign_in_page(response.headers.get_content_type(), mimetype):
                    return messages.FILE_NOT_AVAILABLE.format(error="not_authed")
                length = response.headers.get("Content-Length")
                expected = int(length) if length and length.isdigit() else None
                if expected is not None and expected > self._max_bytes:
                    return self._too_big(expected)
                return self._read_capped(response, expected)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # urllib's HTTPError, a refused or reset connection, a timeout, a cut body.
            if isinstance(exc, urllib.error.HTTPError):
                exc.close()
            log.warning("file_download_failed error=%s", type(exc).__name__)
            return messages.FILE_DOWNLOAD_FAILED

    def _read_capped(self, response: http.client.HTTPResponse, expected: int | None) -> bytes | str:
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read(_CHUNK_BYTES):
            size += len(chunk)
            if size > self._max_bytes:
                return self._too_big(size)
            if time.monotonic() > self._deadline:
                raise TimeoutError("attachments took longer than their deadline")
            chunks.append(chunk)
        data = b"".join(chunks)
        if expected is not None and size < expected:
            # http.client returns a body cut short by a dropped connection without a word.
            raise http.client.IncompleteRead(data, expected - size)
        return data


def _is_sign_in_page(served: str, mimetype: str) -> bool:
    """Slack answers a token it does not accept with its sign-in page, status 200."""
    return served == "text/html" and not mimetype.lower().startswith("text/html")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a place to send the bot token to."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def read_attachments(reader: FileReader, refs: Sequence[FileRef]) -> list[AttachedText | LeftOut]:
    return [reader.read(ref) for ref in refs]


def file_hosts(settings: Settings) -> frozenset[str]:
    """Where the bot token may be sent for a file: Slack's hosts and the configured API's."""
    configured = urlsplit(settings.slack_api_url or "").hostname
    return SLACK_FILE_HOSTS | ({configured} if configured else set())


def with_attachments(
    runtime: Runtime, job: AnswerJob, question: str, tell: Callable[[str], None]
) -> str:
    """`question` with the text of the job's attached files under it; the files left out,
    and any secrets removed from the others, told privately once through `tell`."""
    token = runtime.settings.slack_bot_token
    if not job.files or token is None:
        return question
    reader = FileReader(
        runtime.slack,
        token.get_secret_value(),
        max_bytes=runtime.settings.max_file_bytes,
        hosts=file_hosts(runtime.settings),
        redact_secrets=runtime.settings.redacts_secrets(job.team_id),
    )
    results = read_attachments(reader, job.files)
    read = [r for r in results if isinstance(r, AttachedText)]
    left_out = [r for r in results if isinstance(r, LeftOut)]
    log.info(
        "attachments request_id=%s read=%d left_out=%d chars=%d",
        job.request_id,
        len(read),
        len(left_out),
        sum(len(r.text) for r in read),
    )
    notes = [r.sentence() for r in left_out]
    secrets = [label for r in read for label in r.secrets]
    if secrets:
        notes.append(messages.secrets_removed(secrets))
    if notes and _first_telling(runtime, job):
        tell("\n".join(notes))
    return question_with(question, read)


def _first_telling(runtime: Runtime, job: AnswerJob) -> bool:
    return bool(
        runtime.queue_redis.set(keys.files_noted(job.request_id), 1, nx=True, ex=NOTED_TTL_S)
    )


__all__ = [
    "FILE_HEADER",
    "AttachedText",
    "FileReader",
    "LeftOut",
    "as_text",
    "escape_as_slack",
    "file_hosts",
    "question_with",
    "read_attachments",
    "size_text",
    "with_attachments",
]
