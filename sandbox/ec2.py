"""The EC2 API for the sandbox and the tests: moto in server mode, seeded with tagged instances.

moto's `ThreadedMotoServer` answers the real boto3 EC2 client over HTTP on a free loopback
port — DescribeInstances, StartInstances, StopInstances — with EC2's states (a start is
`pending` and a stop `stopping` until the next describe moves them on). Each seeded instance
has its own OpenAI-compatible emulator as its model server, and a watcher powers it from the
instance's state, read through boto3: a started instance's server refuses connections, then
answers 503 while its model loads, then serves (`Boot`); a stopped one refuses connections.

`restrict(actions)` gives the bot credentials that may do only those EC2 actions, with moto
enforcing IAM, to exercise a missing permission.

moto keeps its accounts in the process, not per server: starting a sandbox resets them, so one
sandbox runs at a time in a process.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any, Self

import boto3
from moto.server import ThreadedMotoServer

from sandbox.openai_compat import Boot, OpenAICompatEmulator

BOT_TAG = ("chatops-bot", "llm")
REGION = "us-east-1"
INSTANCE_TYPE = "g5.xlarge"
# Any keys do while moto does not enforce IAM (`restrict` switches that on).
ANY_KEYS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}
_UP = ("pending", "running")
_WATCH_INTERVAL_S = 0.05


class Ec2Sandbox:
    """moto's EC2 with `instances` tagged instances (stopped unless `running`), each powering
    its own model server emulator (`emulators`, else new ones serving `models`)."""

    def __init__(
        self,
        instances: int = 1,
        *,
        running: bool = False,
        boot: Boot | None = None,
        models: tuple[str, ...] | None = None,
        emulators: Sequence[OpenAICompatEmulator] = (),
        tag: tuple[str, str] = BOT_TAG,
        untagged: int = 0,
    ) -> None:
        self._count = instances
        self._running = running
        self._boot = boot or Boot()
        self._models = models
        self._given = list(emulators)
        self.tag = tag
        self._untagged = untagged
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="ec2-watcher", daemon=True)
        # The sandbox's own keys (the watcher's, the tests'): allowed everything.
        self._watch_keys: Mapping[str, str] = ANY_KEYS
        self._watch_lock = threading.Lock()
        self.url = ""
        self.instance_ids: tuple[str, ...] = ()
        self.untagged_ids: tuple[str, ...] = ()
        self.emulators: dict[str, OpenAICompatEmulator] = {}
        self._up: dict[str, bool] = {}
        self._clients: dict[tuple[tuple[str, str], ...], Any] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        # werkzeug logs every request moto serves at INFO; the sandbox's own log is enough.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self._moto_api("reset", "")
        self._auth("inf")
        self.instance_ids = self._seed(self._count, tagged=True)
        self.untagged_ids = self._seed(self._untagged, tagged=False)
        for n, instance_id in enumerate(self.instance_ids):
            emulator = self._given[n] if n < len(self._given) else self._new_emulator()
            emulator.boot = self._boot
            self.emulators[instance_id] = emulator
        self._power_from_states()
        self._watcher.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._watcher.is_alive():
            self._watcher.join(timeout=2)
        for emulator in self.emulators.values():
            if emulator not in self._given:
                emulator.stop()
        with self._watch_lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
        self._server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what the bot is given ---------------------------------------------------------------

    def client(self, **keys: str) -> Any:
        """A new boto3 EC2 client on this API: with `keys`, or the sandbox's own (allowed all).
        The caller closes it."""
        if not keys:
            with self._watch_lock:
                keys = dict(self._watch_keys)
        return boto3.client("ec2", region_name=REGION, endpoint_url=self.url, **keys)

    def _own_client(self) -> Any:
        """The sandbox's own client, kept: the watcher asks many times a second."""
        with self._watch_lock:
            keys = dict(self._watch_keys)
            cache_key = tuple(sorted(keys.items()))
            client = self._clients.get(cache_key)
            if client is None:
                client = boto3.client("ec2", region_name=REGION, endpoint_url=self.url, **keys)
                self._clients[cache_key] = client
            return client

    @property
    def llm_urls(self) -> str:
        """`EC2_LLM_URLS`: each instance's model server."""
        return ",".join(f"{iid}={self.emulators[iid].url}/v1" for iid in self.instance_ids)

    def env(self) -> dict[str, str]:
        """Settings that point the bot's instance controller here."""
        return {
            "EC2_ENDPOINT_URL": self.url,
            "EC2_INSTANCE_TAG": "=".join(self.tag),
            "EC2_LLM_URLS": self.llm_urls,
            "AWS_REGION": REGION,
        }

    def state(self, instance_id: str) -> str:
        reply = self._own_client().describe_instances(InstanceIds=[instance_id])
        return str(reply["Reservations"][0]["Instances"][0]["State"]["Name"])

    def set_state(self, instance_id: str, running: bool) -> None:
        """Start or stop an instance behind the bot's back (an operator in the console)."""
        client = self._own_client()
        if running:
            client.start_instances(InstanceIds=[instance_id])
        else:
            client.stop_instances(InstanceIds=[instance_id])
        self.state(instance_id)

    # -- IAM -------------------------------------------------------------------------------

    def restrict(self, allowed: Sequence[str], user: str = "chatops-bot") -> dict[str, str]:
        """Keys for a user who may do only the `allowed` EC2 actions (e.g.
        `["ec2:DescribeInstances"]`), and moto enforcing IAM from now on until `unrestrict`."""
        iam = boto3.client("iam", region_name=REGION, endpoint_url=self.url, **ANY_KEYS)
        keys = {}
        try:
            for name, actions in ((f"{user}-watcher", ["ec2:*"]), (user, list(allowed))):
                iam.create_user(UserName=name)
                statement = {"Effect": "Allow", "Action": actions, "Resource": "*"}
                policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
                iam.put_user_policy(UserName=name, PolicyName="ec2", PolicyDocument=policy)
                key = iam.create_access_key(UserName=name)["AccessKey"]
                keys[name] = {
                    "aws_access_key_id": key["AccessKeyId"],
                    "aws_secret_access_key": key["SecretAccessKey"],
                }
        finally:
            iam.close()
        with self._watch_lock:
            self._watch_keys = keys[f"{user}-watcher"]
        self._auth("0")
        return keys[user]

    def unrestrict(self) -> None:
        self._auth("inf")
        with self._watch_lock:
            self._watch_keys = ANY_KEYS

    def _auth(self, after_actions: str) -> None:
        """moto checks IAM once this many more actions have run (`inf`: never)."""
        self._moto_api("reset-auth", after_actions)

    def _moto_api(self, action: str, body: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/moto-api/{action}",
            data=body.encode(),
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()

    # -- seeding and watching --------------------------------------------------------------

    def _seed(self, count: int, *, tagged: bool) -> tuple[str, ...]:
        if count == 0:
            return ()
        client = self._own_client()
        image = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        tags = [{"Key": self.tag[0], "Value": self.tag[1] if tagged else "someone-else"}]
        reply = client.run_instances(
            ImageId=image,
            MinCount=count,
            MaxCount=count,
            InstanceType=INSTANCE_TYPE,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
        ids = tuple(sorted(i["InstanceId"] for i in reply["Instances"]))
        if not self._running:
            client.stop_instances(InstanceIds=list(ids))
        client.describe_instances(InstanceIds=list(ids))  # pending/stopping settle
        return ids

    def _new_emulator(self) -> OpenAICompatEmulator:
        if self._models is None:
            return OpenAICompatEmulator().start()
        return OpenAICompatEmulator(models=self._models).start()

    def _power_from_states(self) -> None:
        if not self.instance_ids:
            return
        reply = self._own_client().describe_instances(InstanceIds=list(self.instance_ids))
        for reservation in reply["Reservations"]:
            for raw in reservation["Instances"]:
                self._power(raw["InstanceId"], raw["State"]["Name"] in _UP)

    def _power(self, instance_id: str, up: bool) -> None:
        """On a change of state; a server seeded running is up already, not booting."""
        was_up = self._up.get(instance_id)
        self._up[instance_id] = up
        if was_up == up or (was_up is None and up):
            return
        emulator = self.emulators[instance_id]
        if up:
            emulator.power_on()
        else:
            emulator.power_off()

    def _watch(self) -> None:
        while not self._stop.wait(_WATCH_INTERVAL_S):
            try:
                self._power_from_states()
            except Exception as exc:  # the sandbox keeps watching through a moto hiccup
                logging.getLogger(__name__).debug("ec2_watch_failed: %s", exc)


__all__ = ["ANY_KEYS", "BOT_TAG", "INSTANCE_TYPE", "REGION", "Ec2Sandbox"]
