"""Files sent through `WebClient.files_upload_v2`: the three steps Slack splits an upload into.

1. `files.getUploadURLExternal` reserves a file id and an upload URL (on the emulator);
2. the client POSTs the raw bytes to that URL;
3. `files.completeUploadExternal` shares the files into a channel or thread.

A file counts as uploaded only after step 3, which is what a person would see; tests read the
bytes back from `SlackEmulator.files()`.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from typing import Any

from sandbox.slack_store import SlackMethodError


@dataclasses.dataclass
class SlackFile:
    """A shared file as a test reads it back."""

    id: str
    name: str
    title: str = ""
    data: bytes = b""
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str = ""

    def to_api(self, user: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title,
            "size": len(self.data),
            "user": user,
            "mimetype": "application/octet-stream",
        }


class UploadStore:
    """Reserved and shared files, thread-safe."""

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


__all__ = ["SlackFile", "UploadStore"]
