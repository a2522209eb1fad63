"""Files in the Slack emulator: those the bot uploads, and those people attach to messages.

The bot uploads through `WebClient.files_upload_v2`, in the three steps Slack splits it into:

1. `files.getUploadURLExternal` reserves a file id and an upload URL (on the emulator);
2. the client POSTs the raw bytes to that URL;
3. `files.completeUploadExternal` shares the files into a channel or thread.

A file counts as uploaded only after step 3, which is what a person would see; tests read the
bytes back from `SlackEmulator.files()`.

A person's file (`SlackEmulator.attach_file`: a log, a snippet, an image) is described by
`files.info` and downloaded from its `url_private`, as Slack serves it: only with the bot's
token (`Authorization: Bearer xoxb-…`); without it Slack answers with its sign-in page
(HTML, status 200), not with an error. Type and mimetype follow the name's extension as
Slack guesses them — a binary renamed `.log` is `text/plain` — unless a test says otherwise.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from typing import Any

from sandbox.slack_store import SlackMethodError

# Slack's guess by extension: (filetype, mimetype, pretty_type).
_BY_EXTENSION = {
    "txt": ("text", "text/plain", "Plain Text"),
    "log": ("text", "text/plain", "Plain Text"),
    "json": ("json", "application/json", "JSON"),
    "yaml": ("yaml", "text/plain", "YAML"),
    "yml": ("yaml", "text/plain", "YAML"),
    "py": ("python", "text/plain", "Python"),
    "sh": ("shell", "text/plain", "Shell"),
    "tf": ("terraform", "text/plain", "Terraform"),
    "csv": ("csv", "text/csv", "CSV"),
    "png": ("png", "image/png", "PNG"),
    "jpg": ("jpg", "image/jpeg", "JPEG"),
    "pdf": ("pdf", "application/pdf", "PDF"),
    "gz": ("gzip", "application/gzip", "GZip"),
    "zip": ("zip", "application/zip", "Zip"),
}
_UNKNOWN = ("binary", "application/octet-stream", "Binary")
# What Slack serves for a file URL fetched without a token that can read it.
SIGN_IN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Slack</title></head>"
    b"<body><h1>Sign in to your workspace</h1></body></html>"
)


def guess_type(name: str) -> tuple[str, str, str]:
    """(filetype, mimetype, pretty_type) for a file name, as Slack guesses them."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _BY_EXTENSION.get(extension, _UNKNOWN)


@dataclasses.dataclass
class SlackFile:
    """A file as a test reads it back."""

    id: str
    name: str
    title: str = ""
    data: bytes = b""
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str = ""
    mimetype: str = "application/octet-stream"
    filetype: str = "binary"
    pretty_type: str = "Binary"
    # `hosted` (an upload) or `snippet` (text Slack made from a long paste or /snippet).
    mode: str = "hosted"
    user: str = ""
    created: int = dataclasses.field(default_factory=lambda: int(time.time()))

    def to_api(self, user: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "size": len(self.data),
            "user": user,
            "mimetype": self.mimetype,
        }

    def to_info(self, base_url: str, team_id: str) -> dict[str, Any]:
        """The file object of `files.info` (and of a message event's `files`)."""
        private = f"{base_url}/files-pri/{team_id}-{self.id}/{self.name}"
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title or self.name,
            "mimetype": self.mimetype,
            "filetype": self.filetype,
            "pretty_type": self.pretty_type,
            "user": self.user,
            "user_team": team_id,
            "mode": self.mode,
            "editable": self.mode == "snippet",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "size": len(self.data),
            "url_private": private,
            "url_private_download": private.replace("/files-pri/", "/files-pri/download/", 1),
            "permalink": f"{base_url}/files/{self.user}/{self.id}/{self.name}",
        }


class UploadStore:
    """Reserved, shared and attached files, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._files: dict[str, SlackFile] = {}
        self._shared: list[str] = []

    def reserve(self, filename: str) -> str:
        with self._lock:
            file_id = f"F{next(self._ids):010d}"
            self._files[file_id] = SlackFile(file_id, filename)
            return file_id

    def attach(
        self,
        name: str,
        data: bytes,
        user: str,
        *,
        mimetype: str | None = None,
        filetype: str | None = None,
        mode: str = "hosted",
    ) -> SlackFile:
        """A person's file, stored whole at once; type and mimetype as Slack guesses them
        from the name unless given."""
        guessed_type, guessed_mimetype, pretty_type = guess_type(name)
        with self._lock:
            file_id = f"F{next(self._ids):010d}"
            attached = SlackFile(
                file_id,
                name,
                title=name,
                data=data,
                user=user,
                mimetype=mimetype or guessed_mimetype,
                filetype=filetype or guessed_type,
                pretty_type=pretty_type,
                mode=mode,
            )
            self._files[file_id] = attached
            return dataclasses.replace(attached)

    def get(self, file_id: str) -> SlackFile:
        with self._lock:
            if file_id not in self._files:
                raise SlackMethodError("file_not_found")
            return dataclasses.replace(self._files[file_id])

    def receive(self, file_id: str, data: bytes) -> bool:
        """Store the bytes posted to a file's upload URL; False for an id never reserved."""
        with self._lock:
            if file_id not in self._files:
                return False
            self._files[file_id].data = data
            return True

    def share(
        self,
        entries: list[dict[str, Any]],
        channel: str | None,
        thread_ts: str | None,
        initial_comment: str,
    ) -> list[SlackFile]:
        with self._lock:
            if any(e.get("id") not in self._files for e in entries):
                raise SlackMethodError("file_not_found")
            shared = [self._files[e["id"]] for e in entries]
            for entry, upload in zip(entries, shared, strict=True):
                upload.title = entry.get("title") or upload.name
                upload.channel, upload.thread_ts = channel, thread_ts
                upload.initial_comment = initial_comment
                self._shared.append(upload.id)
            return [dataclasses.replace(f) for f in shared]

    def shared(self) -> list[SlackFile]:
        with self._lock:
            return [dataclasses.replace(self._files[i]) for i in self._shared]

    def download(self, file_id: str, authorization: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for a GET of a file's private URL."""
        token = authorization.removeprefix("Bearer ").strip()
        if not authorization.startswith("Bearer ") or not token.startswith("xoxb-"):
            return 200, "text/html; charset=utf-8", SIGN_IN_PAGE
        with self._lock:
            found = self._files.get(file_id)
        if found is None:
            return 404, "text/plain; charset=utf-8", b"file not found"
        return 200, found.mimetype, found.data


__all__ = ["SIGN_IN_PAGE", "SlackFile", "UploadStore", "guess_type"]
