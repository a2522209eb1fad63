"""A Slack Web API emulator that the real `slack_sdk.WebClient` talks to unchanged.

Point a client at it with `WebClient(token="xoxb-…", base_url=emulator.url + "/api/")`.
URL layout:

    POST|GET /api/<method>          the Web API (form-encoded or JSON bodies, Bearer xoxb- token)
    POST     /upload/v1/<file_id>   the raw upload URL that files.getUploadURLExternal hands out
    GET      /files-pri/<team>-<file_id>/<name>   a file's `url_private` (see `attach_file`)
    POST     /response/<id>         a slash command's response_url (see `response_url_for`)
    GET      /oauth/v2/authorize    the page a person approves an install on (`slack_installs`)

Several workspaces and Enterprise Grid orgs can be added (`add_workspace`, `add_org`); a token
from the OAuth flow acts as its workspace's (or org's) bot and reaches only its channels
(`channel_not_found` elsewhere, as on Slack). The App Home and modals live in
`sandbox.slack_views`.

Errors come back as Slack sends them — HTTP 200 with `{"ok": false, "error": …}` — except a
`ratelimited` fault, which is HTTP 429 with `Retry-After`, and a `reset` fault, which drops the
connection without an answer. Any other fault kind is returned as the Slack error of that name
(with `Fault.status` as the HTTP status when set).

Slack's own refusals follow from state, as they do on Slack: the app's granted `scopes` (a
method whose scope is missing answers `missing_scope` with `needed`), and the bot's channel
membership — posting in a public channel it has not joined needs `chat:write.public`
(else `not_in_channel`); a private channel it is not in does not exist for it
(`channel_not_found`). State and its rules live in `sandbox.slack_store`; this module maps HTTP
calls onto them.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable
from typing import Any

from sandbox.server import EmulatorServer, Exchange, Fault
from sandbox.slack_args import (
    Args,
    decode_cursor,
    encode_cursor,
    int_arg,
    json_arg,
    message_content,
    required,
    stream_text,
)
from sandbox.slack_installs import Caller, Org, SlackInstalls, Workspace
from sandbox.slack_store import (
    ChangeHook,
    SlackChannel,
    SlackMethodError,
    SlackStore,
    SlackUser,
)
from sandbox.slack_uploads import SlackFile, UploadStore
from sandbox.slack_views import SlackViews

DEFAULT_REPLIES_LIMIT = 1000
# What slack-manifest.yml grants (a test keeps them equal); an emulator can be given fewer.
MANIFEST_SCOPES = frozenset(
    {
        "app_mentions:read",
        "channels:history",
        "channels:read",
        "chat:write",
        "chat:write.public",
        "commands",
        "files:read",
        "files:write",
        "groups:history",
        "groups:read",
        "im:history",
        "im:read",
        "im:write",
        "mpim:history",
        "mpim:read",
        "reactions:write",
        "usergroups:read",
        "users:read",
    }
)
# The scope each method needs (history and info are checked per kind of channel below).
_METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.startStream": "chat:write",
    "chat.appendStream": "chat:write",
    "chat.stopStream": "chat:write",
    "users.info": "users:read",
    "usergroups.users.list": "usergroups:read",
    "conversations.open": "im:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.info": "files:read",
    "reactions.add": "reactions:write",
    "views.publish": "chat:write",
}
# Methods that post into a channel: membership (or chat:write.public) applies.
_POSTING = frozenset({"chat.postMessage", "chat.startStream", "chat.postEphemeral"})

Method = Callable[[Args], Args]


class _RawForm(dict[str, Any]):
    """A form body that keeps its bytes: the upload URL receives a file as the raw POST body,
    which urllib labels form-urlencoded, so parsing it as a form alone would lose the file."""

    raw: bytes = b""


class SlackEmulator(EmulatorServer):
    """One workspace (T_DEMO) with people U_ALICE (its owner), U_BOB, U_CAROL, their DMs with
    the bot (D_ALICE, …), channels C_GENERAL and C_OPS, and the bot user `bot_user_id`; more
    workspaces and orgs with `add_workspace` and `add_org`.

    `stream_lifetime_s` is how long a stream takes appends (Slack: about 5 minutes); tests
    shorten it to reach `message_not_in_streaming_state` without waiting.
    """

    name = "slack"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        stream_lifetime_s: float = 300.0,
        scopes: frozenset[str] = MANIFEST_SCOPES,
        team_id: str = "T_DEMO",
        team: str = "ChatOps Demo",
        bot_user_id: str = "U_CHATOPS",
        bot_id: str = "B_CHATOPS",
        app_id: str = "A_CHATOPS",
    ) -> None:
        super().__init__(host, port)
        self.scopes = set(scopes)
        self.team_id, self.team = team_id, team
        self.bot_user_id, self.bot_id, self.app_id = bot_user_id, bot_id, app_id
        self.store = SlackStore(stream_lifetime_s=stream_lifetime_s, team_id=team_id)
        self.installs = SlackInstalls(Workspace(team_id, team, bot_user_id, bot_id))
        self.views = SlackViews()
        self._local = threading.local()
        self._seed()
        self.uploads = UploadStore()
        self._responses: dict[str, tuple[str, str, list[Args]]] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._ids = itertools.count(1)
        self._state_lock = threading.Lock()
        self._methods: dict[str, Method] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.startStream": self._start_stream,
            "chat.appendStream": self._append_stream,
            "chat.stopStream": self._stop_stream,
            "conversations.replies": self._replies,
            "conversations.info": self._conversation_info,
            "conversations.open": self._conversation_open,
            "usergroups.users.list": self._usergroup_users,
            "reactions.add": self._add_reaction,
            "users.info": self._users_info,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "files.info": self._files_info,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.update": self._views_update,
        }
        for verb in ("GET", "POST"):
            self.route(verb, r"/api/(?P<method>[\w.]+)", self._api)
        self.route("POST", r"/upload/v1/(?P<file_id>\w+)", self._upload)
        self.route(
            "GET", r"/files-pri/(?:download/)?[A-Za-z0-9_]+-(?P<file_id>F\w+)/[^/]+", self._download
        )
        self.route("POST", r"/response/(?P<response_id>\w+)", self._response)
        self.route("GET", r"/oauth/v2/authorize", self._authorize)

    def _seed(self) -> None:
        for user in (
            # Alice owns the workspace (and installed the app): a workspace admin.
            SlackUser("U_ALICE", "alice", "Alice Adams", is_admin=True, is_owner=True),
            SlackUser("U_BOB", "bob", "Bob Byrne"),
            SlackUser("U_CAROL", "carol", "Carol Chen"),
            SlackUser(self.bot_user_id, "chatops", "ChatOps", is_bot=True, bot_id=self.bot_id),
        ):
            self.store.add_user(user)
            if not user.is_bot:
                self.store.dm_channel(user.id)
        self.store.add_channel("C_GENERAL", "general")
        self.store.add_channel("C_OPS", "ops")

    # -- what tests, the driver and the terminal view call ---------------------------------

    @property
    def on_change(self) -> list[ChangeHook]:
        """Callables `(event_name, channel, message_dict)` run on each post, edit, stream step."""
        return self.store.on_change

    def messages(self, channel: str) -> list[dict[str, Any]]:
        return self.store.messages(channel)

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        return self.store.thread(channel, thread_ts)

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        return self.store.message(channel, ts)

    def ephemerals(self, channel: str | None = None) -> list[dict[str, Any]]:
        return self.store.ephemerals(channel)

    def post_as_user(
        self,
        channel: str,
        user: str,
        text: str,
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> str:
        """Put a person's message in the store (before a driver sends its event); its ts.
        `files` are file objects from `attach_file`, shown with the message."""
        self.store.add_channel(channel)
        user_id = self.store.user(user).id
        return str(self.store.post(channel, user_id, text, thread_ts=thread_ts, files=files)["ts"])

    def attach_file(
        self,
        user: str,
        name: str,
        data: bytes,
        *,
        mimetype: str | None = None,
        filetype: str | None = None,
        snippet: bool = False,
    ) -> dict[str, Any]:
        """A file `user` attaches to a message (a `snippet`: text Slack made from a long
        paste): its file object, as a message event's `files` carries it."""
        attached = self.uploads.attach(
            name,
            data,
            self.store.user(user).id,
            mimetype=mimetype or ("text/plain" if snippet else None),
            filetype=filetype or ("text" if snippet else None),
            mode="snippet" if snippet else "hosted",
        )
        return attached.to_info(self.url, self.team_id)

    def add_user(self, user_id: str, name: str, real_name: str = "") -> None:
        self.store.add_user(SlackUser(user_id, name, real_name or name.title()))

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        private: bool = False,
        bot_is_member: bool = True,
    ) -> None:
        self.store.add_channel(channel_id, name, private=private, bot_is_member=bot_is_member)

    def set_bot_membership(self, channel_id: str, *, member: bool) -> None:
        """The bot is invited to (or removed from) a channel."""
        self.store.channel(channel_id).bot_is_member = member

    def dm_channel(self, user_id: str) -> str:
        return self.store.dm_channel(user_id)

    def set_admin(self, user_id: str, *, admin: bool = True, owner: bool = False) -> None:
        """Make a person a workspace admin (or owner), or not, as `users.info` reports it."""
        user = self.store.user(user_id)
        user.is_admin, user.is_owner = admin, owner

    def add_workspace(
        self,
        team_id: str,
        name: str,
        *,
        channels: dict[str, str] | None = None,
        enterprise_id: str | None = None,
        token_lifetime_s: float | None = None,
    ) -> Workspace:
        """Another workspace (in an org when `enterprise_id` is given), with its own bot user
        and its channels (id → name). `token_lifetime_s`: its app has token rotation on."""
        suffix = team_id.removeprefix("T_")
        workspace = Workspace(
            team_id,
            name,
            bot_user_id=f"U_CHATOPS_{suffix}",
            bot_id=f"B_CHATOPS_{suffix}",
            enterprise_id=enterprise_id,
            token_lifetime_s=token_lifetime_s,
        )
        self.installs.add_workspace(workspace)
        self.store.add_user(
            SlackUser(workspace.bot_user_id, "chatops", "ChatOps", True, workspace.bot_id)
        )
        for channel_id, channel_name in (channels or {}).items():
            self.store.add_channel(channel_id, channel_name, team_id=team_id)
        return workspace

    def add_org(self, enterprise_id: str, name: str) -> Org:
        """An Enterprise Grid org; its workspaces are added with `enterprise_id`."""
        suffix = enterprise_id.removeprefix("E_")
        org = Org(enterprise_id, name, f"W_CHATOPS_{suffix}", f"B_CHATOPS_{suffix}")
        self.installs.add_org(org)
        self.store.add_user(SlackUser(org.bot_user_id, "chatops", "ChatOps", True, org.bot_id))
        return org

    def bot_user_for(self, team_id: str) -> str:
        """The bot user that acts in a workspace (its org's, for an org-wide install)."""
        return self.installs.bot_for_team(team_id)[0]

    @property
    def oauth_redirect_uri(self) -> str:
        return self.installs.redirect_uri

    @oauth_redirect_uri.setter
    def oauth_redirect_uri(self, url: str) -> None:
        """The redirect URL configured in the app (OAuth & Permissions)."""
        self.installs.redirect_uri = url

    def add_usergroup(self, group_id: str, members: list[str]) -> None:
        """A user group (`S…`) and its members, as usergroups.users.list reports them."""
        with self._state_lock:
            self._usergroups[group_id] = list(members)

    def user(self, user_id: str) -> SlackUser:
        return self.store.user(user_id)

    def channel_name(self, channel_id: str) -> str:
        return self.store.channel(channel_id).name

    def files(self) -> list[SlackFile]:
        """Files shared with files.completeUploadExternal, in upload order."""
        return self.uploads.shared()

    def response_url_for(self, channel: str, user: str) -> str:
        """A fresh response_url for a slash command run by `user` in `channel`."""
        with self._state_lock:
            response_id = f"R{next(self._ids):06d}"
            self._responses[response_id] = (channel, user, [])
        return f"{self.url}/response/{response_id}"

    def responses(self, response_url: str) -> list[Args]:
        """The JSON bodies posted to a response_url, oldest first."""
        with self._state_lock:
            return [dict(p) for p in self._responses[response_url.rsplit("/", 1)[-1]][2]]

    # -- HTTP plumbing ---------------------------------------------------------------------

    def parse_body(self, raw: bytes, content_type: str) -> Any:
        if "json" in content_type:
            return super().parse_body(raw, content_type)
        body = _RawForm()
        with contextlib.suppress(UnicodeDecodeError):
            body.update(super().parse_body(raw, "application/x-www-form-urlencoded"))
        body.raw = raw
        return body

    def _api(self, ex: Exchange) -> None:
        fault = self.take_fault(ex.path)
        if fault is not None:
            self._send_fault(ex, fault)
            return
        auth = ex.headers.get("authorization", "")
        args: Args = {k: v[-1] for k, v in ex.query.items()}
        args.update(ex.body if isinstance(ex.body, dict) else {})
        if ex.param("method") == "oauth.v2.access":
            try:
                ex.send_json({"ok": True, **self.installs.access(args, auth)})
            except SlackMethodError as exc:
                ex.send_json({"ok": False, "error": exc.code})
            return
        if not auth.startswith("Bearer "):
            ex.send_json({"ok": False, "error": "not_authed"})
            return
        method = self._methods.get(ex.param("method"))
        try:
            self._local.caller = self.installs.caller(auth.removeprefix("Bearer "))
            if method is None:
                raise SlackMethodError("unknown_method")
            self._check_allowed(ex.param("method"), args)
            ex.send_json({"ok": True, **method(args)})
        except SlackMethodError as exc:
            ex.send_json({"ok": False, "error": exc.code, **exc.extra})

    def _check_allowed(self, name: str, args: Args) -> None:
        """Slack's refusals that follow from the app's scopes and the bot's membership."""
        needed = _METHOD_SCOPES.get(name)
        channel = self._channel_of(args)
        if name in ("conversations.replies", "conversations.info") and channel is not None:
            needed = _history_scope(name, channel)
        if needed and needed not in self.scopes:
            raise SlackMethodError("missing_scope", needed=needed, provided=",".join(self.scopes))
        team = None if channel is None or channel.is_im else channel.team_id or self.team_id
        if team is not None and team not in self._caller().teams:
            raise SlackMethodError("channel_not_found")  # another workspace's channel
        if channel is None or channel.is_im or channel.bot_is_member:
            return
        if channel.is_private:
            raise SlackMethodError("channel_not_found")
        if name in _POSTING and "chat:write.public" not in self.scopes:
            raise SlackMethodError("not_in_channel")

    def _channel_of(self, args: Args) -> SlackChannel | None:
        channel_id = args.get("channel")
        if not channel_id:
            return None
        try:
            return self.store.channel(str(channel_id))
        except SlackMethodError:
            return None

    def _send_fault(self, ex: Exchange, fault: Fault) -> None:
        if fault.kind == "reset":
            ex.cut()
            return
        if fault.kind == "ratelimited":
            ex.send_json(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(fault.retry_after)},
            )
        else:
            ex.send_json({"ok": False, "error": fault.kind}, status=fault.status or 200)

    def _authorize(self, ex: Exchange) -> None:
        location = self.installs.authorize({k: v[-1] for k, v in ex.query.items()})
        ex.handler.send_response(302)
        ex.handler.send_header("Location", location)
        ex.handler.send_header("Content-Length", "0")
        ex.handler.end_headers()

    def _caller(self) -> Caller:
        """Whose bot the Web API call being answered acts as."""
        caller = getattr(self._local, "caller", None)
        if caller is None:
            return self.installs.caller("xoxb-default")
        assert isinstance(caller, Caller)
        return caller

    def _posting_team(self, channel: str) -> str:
        """The `team` of a message the caller posts: its workspace, or for an org-wide token
        the channel's; "" in the default workspace (whose messages carry none, as before)."""
        team = self.store.channel(channel).team_id if self._caller().enterprise_id else ""
        caller_team = self._caller().team_id
        return team or ("" if caller_team == self.team_id else caller_team)

    def _upload(self, ex: Exchange) -> None:
        data = ex.body.raw if isinstance(ex.body, _RawForm) else b""
        if not self.uploads.receive(ex.param("file_id"), data):
            ex.send_json({"ok": False, "error": "file_not_found"}, status=404)
            return
        reply = f"OK - {len(data)}".encode()
        ex.handler.send_response(200)
        ex.handler.send_header("Content-Type", "text/plain; charset=utf-8")
        ex.handler.send_header("Content-Length", str(len(reply)))
        ex.handler.end_headers()
        ex.handler.wfile.write(reply)

    def _download(self, ex: Exchange) -> None:
        """A file's private URL. Faults: `reset` (no answer), `cut` (half the bytes, then the
        connection drops), any other kind an HTTP error (`Fault.status`, default 500)."""
        fault = self.take_fault(ex.path)
        status, content_type, body = self.uploads.download(
            ex.param("file_id"), ex.headers.get("authorization", "")
        )
        if fault is not None and fault.kind == "reset":
            ex.cut()
            return
        if fault is not None and fault.kind != "cut":
            status, content_type, body = fault.status or 500, "text/plain", b"server error"
        ex.handler.send_response(status)
        ex.handler.send_header("Content-Type", content_type)
        ex.handler.send_header("Content-Length", str(len(body)))
        ex.handler.end_headers()
        if fault is not None and fault.kind == "cut":
            ex.handler.wfile.write(body[: len(body) // 2])
            ex.cut()
            return
        ex.handler.wfile.write(body)

    def _response(self, ex: Exchange) -> None:
        body: Args = dict(ex.body) if isinstance(ex.body, dict) else {}
        with self._state_lock:
            target = self._responses.get(ex.param("response_id"))
            if target is not None:
                target[2].append(body)
        if target is None:
            ex.send_json({"ok": False, "error": "expired_url"}, status=404)
            return
        channel, user, _ = target
        if body.get("response_type") == "in_channel":
            bot_user_id, bot_id = self.installs.bot_for_team(
                self.store.channel(channel).team_id or self.team_id
            )
            self.store.post(
                channel,
                bot_user_id,
                str(body.get("text", "")),
                bot_id=bot_id,
                blocks=body.get("blocks"),
                thread_ts=body.get("thread_ts"),
            )
        else:
            self.store.post_ephemeral(
                channel,
                user,
                {
                    "text": body.get("text", ""),
                    "blocks": body.get("blocks", []),
                    "via": "response_url",
                },
            )
        ex.send_json({"ok": True})

    # -- Web API methods -------------------------------------------------------------------

    def _auth_test(self, args: Args) -> Args:
        me = self._caller()
        org_wide = me.team_id == me.enterprise_id
        return {
            "url": "https://chatops-demo.slack.com/",
            "team": self.team if me.team_id == self.team_id else me.team_id,
            "user": "chatops",
            "team_id": me.team_id,
            "user_id": me.bot_user_id,
            "bot_id": me.bot_id,
            "is_enterprise_install": org_wide,
            **({"enterprise_id": me.enterprise_id} if me.enterprise_id else {}),
        }

    def _post_message(self, args: Args) -> Args:
        text, blocks = message_content(args)
        if text is None and blocks is None and not args.get("attachments"):
            raise SlackMethodError("no_text")
        msg = self.store.post(
            required(args, "channel"),
            self._caller().bot_user_id,
            text or "",
            bot_id=self._caller().bot_id,
            team=self._posting_team(required(args, "channel")),
            thread_ts=args.get("thread_ts") or None,
            blocks=blocks,
        )
        return {"channel": msg["channel"], "ts": msg["ts"], "message": _api_view(msg)}

    def _update(self, args: Args) -> Args:
        text, blocks = message_content(args)
        msg = self.store.update(
            required(args, "channel"),
            required(args, "ts"),
            self._caller().bot_user_id,
            text,
            blocks,
        )
        return {
            "channel": msg["channel"],
            "ts": msg["ts"],
            "text": msg["text"],
            "message": _api_view(msg),
        }

    def _post_ephemeral(self, args: Args) -> Args:
        text, blocks = message_content(args)
        user = self.store.find_user(required(args, "user")).id
        record = {
            "text": text or "",
            "blocks": blocks or [],
            "thread_ts": args.get("thread_ts"),
            "via": "chat.postEphemeral",
        }
        return {
            "message_ts": self.store.post_ephemeral(required(args, "channel"), user, record)["ts"]
        }

    def _start_stream(self, args: Args) -> Args:
        channel = self.store.channel(required(args, "channel"))
        thread_ts = required(args, "thread_ts")
        if not channel.is_im:
            for name in ("recipient_team_id", "recipient_user_id"):
                if not args.get(name):
                    raise SlackMethodError(f"missing_{name}")
        msg = self.store.post(
            channel.id,
            self._caller().bot_user_id,
            stream_text(args),
            bot_id=self._caller().bot_id,
            team=self._posting_team(required(args, "channel")),
            thread_ts=thread_ts,
            streaming=True,
        )
        return {"channel": msg["channel"], "ts": msg["ts"]}

    def _append_stream(self, args: Args) -> Args:
        msg = self.store.append_stream(
            required(args, "channel"), required(args, "ts"), stream_text(args)
        )
        return {"channel": msg["channel"], "ts": msg["ts"]}

    def _stop_stream(self, args: Args) -> Args:
        msg = self.store.stop_stream(
            required(args, "channel"),
            required(args, "ts"),
            stream_text(args),
            json_arg(args, "blocks"),
        )
        return {"channel": msg["channel"], "ts": msg["ts"], "message": _api_view(msg)}

    def _replies(self, args: Args) -> Args:
        thread = self.store.thread_messages(required(args, "channel"), required(args, "ts"))
        start = 0
        if args.get("cursor"):
            start = next(
                (i for i, m in enumerate(thread) if m.ts == decode_cursor(args["cursor"])),
                len(thread),
            )
        limit = int_arg(args, "limit", DEFAULT_REPLIES_LIMIT)
        page = thread[start : start + limit]
        more = start + limit < len(thread)
        cursor = encode_cursor(thread[start + limit].ts) if more else ""
        return {
            "messages": [m.to_api() for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": cursor},
        }

    def _add_reaction(self, args: Args) -> Args:
        self.store.add_reaction(
            required(args, "channel"),
            required(args, "timestamp"),
            self._caller().bot_user_id,
            required(args, "name"),
        )
        return {}

    def _conversation_info(self, args: Args) -> Args:
        return {"channel": self.store.channel(required(args, "channel")).to_api()}

    def _conversation_open(self, args: Args) -> Args:
        """The bot's DM with one person (`users`); group DMs are not emulated."""
        user = self.store.find_user(required(args, "users")).id
        return {"channel": {"id": self.store.dm_channel(user)}}

    def _usergroup_users(self, args: Args) -> Args:
        with self._state_lock:
            members = self._usergroups.get(required(args, "usergroup"))
        if members is None:
            raise SlackMethodError("no_such_subteam")
        return {"users": members}

    def _users_info(self, args: Args) -> Args:
        return {"user": self.store.find_user(required(args, "user")).to_api(self._caller().team_id)}

    def _get_upload_url(self, args: Args) -> Args:
        required(args, "length")
        file_id = self.uploads.reserve(required(args, "filename"))
        return {"upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_info(self, args: Args) -> Args:
        found = self.uploads.get(required(args, "file"))
        return {"file": found.to_info(self.url, self.team_id), "comments": []}

    def _complete_upload(self, args: Args) -> Args:
        channel = args.get("channel_id") or str(args.get("channels") or "").split(",")[0] or None
        if channel:
            self.store.channel(channel)
        thread_ts = args.get("thread_ts") or None
        comment = args.get("initial_comment") or ""
        shared = self.uploads.share(json_arg(args, "files") or [], channel, thread_ts, comment)
        files = [f.to_api(self._caller().bot_user_id) for f in shared]
        if channel:
            self.store.post(
                channel,
                self._caller().bot_user_id,
                comment,
                bot_id=self._caller().bot_id,
                team=self._posting_team(channel),
                thread_ts=thread_ts,
                files=files,
            )
        return {"files": files}

    def _views_publish(self, args: Args) -> Args:
        user = self.store.find_user(required(args, "user_id")).id
        return {"view": self.views.publish(self._caller().team_id, user, json_arg(args, "view"))}

    def _views_open(self, args: Args) -> Args:
        view = json_arg(args, "view")
        return {"view": self.views.open(self._caller().team_id, required(args, "trigger_id"), view)}

    def _views_update(self, args: Args) -> Args:
        return {"view": self.views.update(required(args, "view_id"), json_arg(args, "view"))}


def _api_view(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k not in ("channel", "streaming", "edits")}


def _history_scope(method: str, channel: SlackChannel) -> str:
    kind = "im" if channel.is_im else "groups" if channel.is_private else "channels"
    return f"{kind}:history" if method == "conversations.replies" else f"{kind}:read"


__all__ = ["MANIFEST_SCOPES", "SlackEmulator", "SlackFile"]
