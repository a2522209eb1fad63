"""Files people attach, read through the real `slack_sdk.WebClient` and HTTP against the Slack
emulator: `files.info` (scope files:read), the private URL that answers only the bot token,
and every way a file is left out — each with the sentence the person is told."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from chatops import messages
from chatops.payloads import FileRef
from sandbox.server import Fault
from sandbox.slack import MANIFEST_SCOPES, SlackEmulator
from sandbox.slack_uploads import SIGN_IN_PAGE
from tests.hostile_inputs import SECRETS, leaked
from tests.long_inputs import binary_bytes, service_log
from workers.attachments import AttachedText, FileReader, LeftOut

TOKEN = "xoxb-sandbox"
LIMIT = 100_000


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        yield emulator


def _reader(slack: SlackEmulator, token: str = TOKEN, **options: object) -> FileReader:
    client = WebClient(token=TOKEN, base_url=f"{slack.url}/api/")
    hosts = frozenset({"127.0.0.1"})
    return FileReader(client, token, max_bytes=LIMIT, hosts=hosts, **options)  # type: ignore[arg-type]


def _read(reader: FileReader, attached: dict[str, object]) -> AttachedText | LeftOut:
    return reader.read(FileRef(id=str(attached["id"]), name=str(attached["name"])))


def test_files_info_describes_the_file_as_slack_does(slack: SlackEmulator) -> None:
    attached = slack.attach_file("U_ALICE", "Untitled", b"line one\nline two\n", snippet=True)
    client = WebClient(token=TOKEN, base_url=f"{slack.url}/api/")

    info = client.files_info(file=attached["id"])["file"]

    assert info == attached
    assert (info["mode"], info["filetype"], info["mimetype"], info["size"]) == (
        "snippet",
        "text",
        "text/plain",
        18,
    )
    assert info["url_private"].startswith(f"{slack.url}/files-pri/T_DEMO-{attached['id']}/")


def test_the_private_url_answers_only_the_bot_token(slack: SlackEmulator) -> None:
    attached = slack.attach_file("U_ALICE", "app.log", b"2026-11-30 ERROR boom\n")
    url = str(attached["url_private"])

    def get(headers: dict[str, str]) -> tuple[str, bytes]:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
            return response.headers.get_content_type(), response.read()

    assert get({"Authorization": f"Bearer {TOKEN}"}) == ("text/plain", b"2026-11-30 ERROR boom\n")
    # Slack's sign-in page, status 200, for no token or a token that is not the bot's.
    assert get({}) == ("text/html", SIGN_IN_PAGE)
    assert get({"Authorization": "Bearer xoxp-a-user-token"}) == ("text/html", SIGN_IN_PAGE)


def test_a_text_file_is_read_with_the_bot_token(slack: SlackEmulator) -> None:
    log = service_log(20_000)
    attached = slack.attach_file("U_ALICE", "checkout.log", log.encode())

    assert _read(_reader(slack), attached) == AttachedText("checkout.log", log)
    [download] = slack.requests_to("/files-pri/")
    assert download.headers["authorization"] == f"Bearer {TOKEN}"


def test_secrets_in_a_file_are_replaced_and_named(slack: SlackEmulator) -> None:
    text = f"deploy env:\nAWS_SECRET_ACCESS_KEY={SECRETS['AWS secret key']}\nregion=eu-west-1\n"
    attached = slack.attach_file("U_ALICE", "env.txt", text.encode())

    read = _read(_reader(slack), attached)

    assert isinstance(read, AttachedText)
    assert leaked(read.text) == []
    assert read.secrets == ("AWS secret key",)
    assert "region=eu-west-1" in read.text
    unredacted = _read(_reader(slack, redact_secrets=False), attached)
    assert unredacted == AttachedText("env.txt", text)


def test_a_binary_renamed_log_is_downloaded_sniffed_andLeftOut(slack: SlackEmulator) -> None:
    attached = slack.attach_file("U_ALICE", "core.log", binary_bytes(20_000))
    assert attached["mimetype"] == "text/plain"  # Slack goes by the name

    assert _read(_reader(slack), attached) == LeftOut("core.log", messages.FILE_NOT_TEXT)
    assert len(slack.requests_to("/files-pri/")) == 1


def test_plainly_binary_or_too_big_files_are_never_downloaded(slack: SlackEmulator) -> None:
    image = slack.attach_file("U_ALICE", "graph.png", b"\x89PNG\r\n\x1a\n" + binary_bytes(500))
    big = slack.attach_file("U_ALICE", "big.log", b"x" * (2 * LIMIT))
    reader = _reader(slack)

    assert _read(reader, image) == LeftOut("graph.png", messages.FILE_NOT_TEXT)
    too_big = messages.FILE_TOO_BIG.format(size="195 KB", limit="98 KB")
    assert _read(reader, big) == LeftOut("big.log", too_big)
    assert slack.requests_to("/files-pri/") == []


@pytest.mark.parametrize(
    "fault",
    [Fault(kind="reset"), Fault(kind="cut"), Fault(kind="error", status=503)],
    ids=["reset", "cut mid-body", "503"],
)
def test_a_failed_download_isLeftOut(slack: SlackEmulator, fault: Fault) -> None:
    attached = slack.attach_file("U_ALICE", "Untitled", service_log(5_000).encode(), snippet=True)
    fault.path = "/files-pri/"
    slack.inject(fault)

    assert _read(_reader(slack), attached) == LeftOut("Untitled", messages.FILE_DOWNLOAD_FAILED)


def test_slack_refusing_the_file_is_named(slack: SlackEmulator) -> None:
    attached = slack.attach_file("U_ALICE", "app.log", b"fine\n")
    not_authed = messages.FILE_NOT_AVAILABLE.format(error="not_authed")
    assert _read(_reader(slack, token="xoxp-user"), attached) == LeftOut("app.log", not_authed)

    gone = messages.FILE_NOT_AVAILABLE.format(error="file_not_found")
    assert _reader(slack).read(FileRef(id="F404", name="gone.log")) == LeftOut("gone.log", gone)

    slack.scopes = set(MANIFEST_SCOPES - {"files:read"})
    no_scope = messages.FILE_NOT_AVAILABLE.format(error="missing_scope")
    assert _read(_reader(slack), attached) == LeftOut("app.log", no_scope)


def test_the_bot_token_goes_to_no_other_host(slack: SlackEmulator) -> None:
    attached = slack.attach_file("U_ALICE", "app.log", b"fine\n")
    client = WebClient(token=TOKEN, base_url=f"{slack.url}/api/")
    reader = FileReader(client, TOKEN, max_bytes=LIMIT)  # Slack's own hosts only

    unknown = messages.FILE_NOT_AVAILABLE.format(error="unknown_host")
    assert _read(reader, attached) == LeftOut("app.log", unknown)
    assert slack.requests_to("/files-pri/") == []
