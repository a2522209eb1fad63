"""The EC2 API and the instances' model servers, as the instance controller uses them.

`Ec2Client` wraps boto3's EC2 client: DescribeInstances, StartInstances, StopInstances. Every
describe is filtered on the bot's tag (`EC2_INSTANCE_TAG`, `chatops-bot=llm` when the fleet is
named by id), so an instance without it is never seen, and start and stop refuse an id the
last describe did not return: the bot never touches an instance it was not given. Ids are
matched with a filter rather than `InstanceIds`, so one wrong id in `EC2_INSTANCE_IDS` leaves
the others working and is reported missing instead of failing the whole call.

botocore's errors are mapped here, once, to `Ec2ControlError` with a short `problem`
(`not found`, `access denied: ec2:StartInstances`, `EC2 API unreachable`, …) for the status.

`ModelServers.is_healthy(url)`: `GET /v1/models` on an instance's OpenAI-compatible URL through
the openai client, with a short timeout and no retries.
"""

from __future__ import annotations

import logging
import string
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import openai
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from gateway.aws import aws_client
from gateway.errors import Ec2ControlError

log = logging.getLogger(__name__)

DEFAULT_BOT_TAG = "chatops-bot=llm"
DEFAULT_URL_TEMPLATE = "http://{private_ip}:8000/v1"
HEALTH_TIMEOUT_S = 2.0
URL_FIELDS = ("instance_id", "private_ip", "public_ip", "private_dns", "public_dns")

_NOT_FOUND = {"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"}
_DENIED = {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"}
_BAD_CREDENTIALS = {
    "AuthFailure",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "ExpiredToken",
}
_THROTTLED = {"RequestLimitExceeded", "Throttling", "ThrottlingException"}


@dataclass(frozen=True)
class FleetSpec:
    """Which instances are the bot's: these ids (empty: every one carrying the tag), and the
    tag every one of them must carry."""

    instance_ids: tuple[str, ...]
    tag_key: str
    tag_value: str

    @classmethod
    def parse(cls, ids_text: str, tag_text: str) -> FleetSpec | None:
        """`EC2_INSTANCE_IDS` and `EC2_INSTANCE_TAG`; None when neither names any instance.
        A `ValueError` says what is wrong with the tag."""
        ids = tuple(part.strip() for part in ids_text.split(",") if part.strip())
        if not ids and not tag_text.strip():
            return None
        key, sep, value = (tag_text.strip() or DEFAULT_BOT_TAG).partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"expected Key=Value, e.g. {DEFAULT_BOT_TAG} (got {tag_text!r})")
        return cls(ids, key.strip(), value.strip())

    @property
    def tag(self) -> str:
        return f"{self.tag_key}={self.tag_value}"


@dataclass(frozen=True)
class Ec2Instance:
    """One tagged instance as DescribeInstances reports it."""

    instance_id: str
    state: str
    instance_type: str = ""
    private_ip: str = ""
    public_ip: str = ""
    private_dns: str = ""
    public_dns: str = ""


class InstanceUrls:
    """Each instance's OpenAI-compatible base URL: named outright (`EC2_LLM_URLS`), else the
    template (`EC2_LLM_URL_TEMPLATE`) filled from DescribeInstances."""

    def __init__(self, named: Mapping[str, str], template: str = DEFAULT_URL_TEMPLATE) -> None:
        self._named = dict(named)
        self._template = template

    @classmethod
    def parse(cls, named_text: str, template: str) -> InstanceUrls:
        """`i-0abc=http://10.0.0.5:8000/v1, i-0def=…`; a `ValueError` names the bad part."""
        named = {}
        for part in (p.strip() for p in named_text.split(",") if p.strip()):
            instance_id, sep, url = part.partition("=")
            if not sep or not instance_id.strip() or not url.strip():
                raise ValueError(f"expected instance-id=URL pairs (got {part!r})")
            named[instance_id.strip()] = url.strip()
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        if fields - set(URL_FIELDS):
            raise ValueError(
                f"unknown field(s) {', '.join(sorted(fields - set(URL_FIELDS)))}; "
                f"use {', '.join('{' + f + '}' for f in URL_FIELDS)}"
            )
        return cls(named, template)

    def url(self, instance: Ec2Instance) -> str:
        named = self._named.get(instance.instance_id)
        if named:
            return named
        return self._template.format(
            **{field: getattr(instance, field) for field in URL_FIELDS}
        ).rstrip("/")


class Ec2Client:
    def __init__(self, client: Any, spec: FleetSpec) -> None:
        self._client = client
        self.spec = spec
        self._lock = threading.Lock()
        self._tagged: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Any, spec: FleetSpec) -> Ec2Client:
        """boto3's EC2 client in `AWS_REGION` (`EC2_ENDPOINT_URL` points it elsewhere), two
        attempts per call: the controller's own back-off handles the rest."""
        config = Config(
            region_name=settings.aws_region,
            connect_timeout=3,
            read_timeout=10,
            retries={"total_max_attempts": 2, "mode": "standard"},
        )
        client = aws_client(
            settings,
            "ec2",
            endpoint_url=settings.ec2_endpoint_url,
            endpoint_setting="EC2_ENDPOINT_URL",
            config=config,
        )
        return cls(client, spec)

    def close(self) -> None:
        self._client.close()

    def describe(self) -> tuple[Ec2Instance, ...]:
        """The bot's instances, in `EC2_INSTANCE_IDS` order (else by id); terminated ones left
        out. Ids that are not there, or lack the tag, are simply absent."""
        filters = [{"Name": f"tag:{self.spec.tag_key}", "Values": [self.spec.tag_value]}]
        if self.spec.instance_ids:
            filters.append({"Name": "instance-id", "Values": list(self.spec.instance_ids)})
        found: dict[str, Ec2Instance] = {}
        with _mapped("DescribeInstances"):
            for page in self._client.get_paginator("describe_instances").paginate(Filters=filters):
                for reservation in page["Reservations"]:
                    for raw in reservation["Instances"]:
                        instance = _instance(raw)
                        if instance.state not in ("terminated", "shutting-down"):
                            found[instance.instance_id] = instance
        order = {iid: n for n, iid in enumerate(self.spec.instance_ids)}
        instances = tuple(
            sorted(found.values(), key=lambda i: (order.get(i.instance_id, 0), i.instance_id))
        )
        with self._lock:
            self._tagged = frozenset(found)
        return instances

    def start(self, instance_id: str) -> str:
        """StartInstances on one tagged instance; its new state (`pending`)."""
        self._check_tagged(instance_id)
        with _mapped("StartInstances"):
            reply = self._client.start_instances(InstanceIds=[instance_id])
        return str(reply["StartingInstances"][0]["CurrentState"]["Name"])

    def stop(self, instance_id: str) -> str:
        """StopInstances on one tagged instance; its new state (`stopping`)."""
        self._check_tagged(instance_id)
        with _mapped("StopInstances"):
            reply = self._client.stop_instances(InstanceIds=[instance_id])
        return str(reply["StoppingInstances"][0]["CurrentState"]["Name"])

    def _check_tagged(self, instance_id: str) -> None:
        with self._lock:
            tagged = instance_id in self._tagged
        if not tagged:
            raise Ec2ControlError(
                f"{instance_id} was not among the instances tagged {self.spec.tag}",
                problem=f"not found with the tag {self.spec.tag}",
            )


@contextmanager
def _mapped(operation: str) -> Iterator[None]:
    """botocore's errors for one operation, as `Ec2ControlError`."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise _mapped_error(operation, exc) from exc


def _mapped_error(operation: str, exc: ClientError | BotoCoreError) -> Ec2ControlError:
    if isinstance(exc, NoCredentialsError):
        return Ec2ControlError(f"{operation}: {exc}", problem="no AWS credentials")
    if not isinstance(exc, ClientError):
        return Ec2ControlError(f"{operation}: {exc}", problem="EC2 API unreachable")
    code = str(exc.response.get("Error", {}).get("Code", ""))
    detail = f"{operation}: {code}"
    problems = (
        (_NOT_FOUND, "not found"),
        (_DENIED, f"access denied: ec2:{operation}"),
        (_BAD_CREDENTIALS, "AWS credentials refused"),
        (_THROTTLED, "EC2 API throttled"),
        ({"IncorrectInstanceState"}, f"{operation} refused in its current state"),
        ({"InsufficientInstanceCapacity"}, "no capacity for the instance type in its zone"),
    )
    for codes, problem in problems:
        if code in codes:
            return Ec2ControlError(detail, problem=problem)
    return Ec2ControlError(detail, problem=f"EC2 error {code or 'unknown'}")


def _instance(raw: Mapping[str, Any]) -> Ec2Instance:
    return Ec2Instance(
        instance_id=str(raw["InstanceId"]),
        state=str(raw["State"]["Name"]),
        instance_type=str(raw.get("InstanceType", "")),
        private_ip=str(raw.get("PrivateIpAddress") or ""),
        public_ip=str(raw.get("PublicIpAddress") or ""),
        private_dns=str(raw.get("PrivateDnsName") or ""),
        public_dns=str(raw.get("PublicDnsName") or ""),
    )


class ModelServers:
    """Asks each instance's model server whether it answers, through the openai client."""

    def __init__(self, api_key: str = "not-needed", timeout_s: float = HEALTH_TIMEOUT_S) -> None:
        self._api_key = api_key
        self._timeout_s = timeout_s
        self._clients: dict[str, openai.OpenAI] = {}
        self._lock = threading.Lock()

    def is_healthy(self, url: str) -> bool:
        """`GET {url}/models` answered 200 with a model list. Refused, 5xx, timeout: False."""
        try:
            self._client(url).models.list()
        except openai.OpenAIError as exc:
            log.debug("model_server_not_ready url=%s error=%s", url, type(exc).__name__)
            return False
        return True

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def _client(self, url: str) -> openai.OpenAI:
        with self._lock:
            client = self._clients.get(url)
            if client is None:
                client = openai.OpenAI(
                    base_url=url,
                    api_key=self._api_key,
                    timeout=openai.Timeout(self._timeout_s, connect=self._timeout_s),
                    max_retries=0,
                )
                self._clients[url] = client
            return client


__all__ = [
    "DEFAULT_BOT_TAG",
    "DEFAULT_URL_TEMPLATE",
    "Ec2Client",
    "Ec2Instance",
    "FleetSpec",
    "InstanceUrls",
    "ModelServers",
]
