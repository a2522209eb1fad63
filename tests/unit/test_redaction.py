"""Secrets people paste become typed placeholders; the words around them, and ordinary text
that only looks technical, stay as they were. Every secret here is a fake marked EXAMPLE."""

from __future__ import annotations

import base64
import json
import re

import pytest

from gateway.redaction import Finding, redact


def _b64url(value: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example pair
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SLACK_BOT = "xoxb-EXAMPLE-EXAMPLE-EXAMPLEexampleEXAMPLE"
SLACK_BOT_DIGITS = "xoxb-000000000000-0000000000000-EXAMPLEexampleEXAMPLEexampl"
SLACK_APP = "xapp-1-A0EXAMPLE-0000000000-EXAMPLEexampleEXAMPLEexample"
SLACK_HOOK = "https://hooks.slack.com/services/T00000000/B00000000/EXAMPLEexampleEXAMPLE00"
GITHUB = "ghp_EXAMPLEexampleEXAMPLEexample01234567"
GITHUB_FINE = "github_pat_11EXAMPLE0000000000000_EXAMPLEexampleEXAMPLEexampleEXAMPLEexample"
GITLAB = "glpat-EXAMPLEexample123456"
JWT = (
    f"{_b64url({'alg': 'HS256', 'typ': 'JWT'})}.{_b64url({'sub': 'EXAMPLE'})}"
    ".EXAMPLEsignatureEXAMPLEsignatureEXAMPLE0123"
)
VAULT = "hvs.CAESIEXAMPLEexampleEXAMPLEexample0123"
VAULT_LEGACY = "s.EXAMPLEexample1234567890"
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE\n"
    "EXAMPLEexampleEXAMPLEexampleEXAMPLEexampleEXAMPLEexample0\n"
    "-----END RSA PRIVATE KEY-----"
)
OPENSSH_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUEXAMPLEEXAMPLEEXAMPLEEXAMPLE\n"
    "-----END OPENSSH PRIVATE KEY-----"
)

CASES = [
    # AWS
    (
        f"my keys are {AWS_KEY_ID} and {AWS_SECRET}, why does s3 say 403?",
        "my keys are [redacted AWS access key] and [redacted AWS secret key], why does s3 say 403?",
        ["aws_access_key", "aws_secret_key"],
    ),
    (
        f"[default]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n",
        "[default]\naws_access_key_id = [redacted AWS access key]\n"
        "aws_secret_access_key = [redacted AWS secret key]\n",
        ["aws_access_key", "aws_secret_key"],
    ),
    (
        f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}",
        "export AWS_SECRET_ACCESS_KEY=[redacted AWS secret key]",
        ["aws_secret_key"],
    ),
    (
        f'{{"aws_secret_access_key": "{AWS_SECRET}"}}',
        '{"aws_secret_access_key": "[redacted AWS secret key]"}',
        ["aws_secret_key"],
    ),
    # Slack
    (
        f"SLACK_BOT_TOKEN={SLACK_BOT} and auth.test says invalid_auth",
        "SLACK_BOT_TOKEN=[redacted Slack token] and auth.test says invalid_auth",
        ["slack_token"],
    ),
    (f"token {SLACK_BOT_DIGITS}", "token [redacted Slack token]", ["slack_token"]),
    (
        f"socket mode with {SLACK_APP} fails",
        "socket mode with [redacted Slack token] fails",
        ["slack_token"],
    ),
    (
        f"webhook {SLACK_HOOK} returns 404",
        "webhook [redacted Slack webhook] returns 404",
        ["slack_webhook"],
    ),
    # GitHub, GitLab
    (
        f"git clone https://{GITHUB}@github.com/org/repo",
        "git clone https://[redacted GitHub token]@github.com/org/repo",
        ["github_token"],
    ),
    (f"GH_TOKEN: {GITHUB_FINE}", "GH_TOKEN: [redacted GitHub token]", ["github_token"]),
    (
        f"the runner uses {GITLAB} to pull",
        "the runner uses [redacted GitLab token] to pull",
        ["gitlab_token"],
    ),
    # JWT
    (
        f"curl -H 'Authorization: Bearer {JWT}' https://api.example.com",
        "curl -H 'Authorization: Bearer [redacted JWT]' https://api.example.com",
        ["jwt"],
    ),
    (f"is this expired? {JWT}.", "is this expired? [redacted JWT].", ["jwt"]),
    # Private keys: the whole block is one placeholder.
    (
        f"ssh says invalid format:\n{PRIVATE_KEY}\nwhat now?",
        "ssh says invalid format:\n[redacted private key]\nwhat now?",
        ["private_key"],
    ),
    (f"```\n{OPENSSH_KEY}\n```", "```\n[redacted private key]\n```", ["private_key"]),
    (
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHzBJBgkqhkiG9w0BBQ0wPDAbEXAMPLE\n"
        "-----END ENCRYPTED PRIVATE KEY-----",
        "[redacted private key]",
        ["private_key"],
    ),
    (
        "it got cut off:\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIEXAMPLEexampleEXAMPLE0\n"
        "AwEHoUQDQgAEEXAMPLEexampleEXAMPLE1\n\nis that enough to use?",
        "it got cut off:\n[redacted private key]\n\nis that enough to use?",
        ["private_key"],
    ),
    # Passwords in URLs and connection strings keep the rest of the URL.
    (
        "postgres://app:EXAMPLEpass@db:5432/x refuses connections",
        "postgres://app:[redacted password]@db:5432/x refuses connections",
        ["password"],
    ),
    (
        "REDIS_URL=redis://:EXAMPLEpass@redis:6379/0",
        "REDIS_URL=redis://:[redacted password]@redis:6379/0",
        ["password"],
    ),
    (
        "mongodb+srv://admin:p@ss!EXAMPLE@cluster0.example.net/db",
        "mongodb+srv://admin:[redacted password]@cluster0.example.net/db",
        ["password"],
    ),
    (
        "Server=db;Database=x;User Id=app;Password=EXAMPLEpass;",
        "Server=db;Database=x;User Id=app;Password=[redacted password];",
        ["password"],
    ),
    (
        "psql 'host=db user=app password=EXAMPLE dbname=x'",
        "psql 'host=db user=app password=[redacted password] dbname=x'",
        ["password"],
    ),
    (
        "jdbc:mysql://db:3306/x?user=app&password=EXAMPLEpass&ssl=true",
        "jdbc:mysql://db:3306/x?user=app&password=[redacted password]&ssl=true",
        ["password"],
    ),
    # Vault
    (
        f"VAULT_TOKEN={VAULT} vault kv get secret/app",
        "VAULT_TOKEN=[redacted Vault token] vault kv get secret/app",
        ["vault_token"],
    ),
    (
        f"an old token {VAULT_LEGACY} still works",
        "an old token [redacted Vault token] still works",
        ["vault_token"],
    ),
    # Key/value pairs: YAML, JSON, env, CLI flags, XML, headers.
    (
        "db:\n  host: db\n  password: EXAMPLEhunter2\n  api_key: 'EXAMPLE-key'\n",
        "db:\n  host: db\n  password: [redacted password]\n  api_key: '[redacted API key]'\n",
        ["password", "api_key"],
    ),
    (
        '{"password": "EXAMPLE pass phrase", "token":"EXAMPLEtok", "max_tokens": 512}',
        '{"password": "[redacted password]", "token":"[redacted token]", "max_tokens": 512}',
        ["password", "token"],
    ),
    (
        "SLACK_SIGNING_SECRET=EXAMPLE0123\nDB_PASSWORD='EXAMPLE'\n",
        "SLACK_SIGNING_SECRET=[redacted secret]\nDB_PASSWORD='[redacted password]'\n",
        ["secret", "password"],
    ),
    (
        "./deploy --password EXAMPLEpw --api-key=EXAMPLEkey --verbose",
        "./deploy --password [redacted password] --api-key=[redacted API key] --verbose",
        ["password", "api_key"],
    ),
    (
        "mysql -u root -pEXAMPLEpw mydb",
        "mysql -u root -p[redacted password] mydb",
        ["password"],
    ),
    (
        "<password>EXAMPLE</password>",
        "<password>[redacted password]</password>",
        ["password"],
    ),
    (  # as Slack delivers it: `<` and `>` escaped
        "&lt;db.password&gt;EXAMPLE&lt;/db.password&gt;",
        "&lt;db.password&gt;[redacted password]&lt;/db.password&gt;",
        ["password"],
    ),
    (
        "env:\n  - name: LOG_LEVEL\n    value: debug\n  - name: DB_PASSWORD\n    value: EXAMPLE\n",
        "env:\n  - name: LOG_LEVEL\n    value: debug\n  - name: DB_PASSWORD\n"
        "    value: [redacted password]\n",
        ["password"],
    ),
    (
        '[{"name": "API_TOKEN", "value": "EXAMPLEtok"}, {"name": "REGION", "value": "eu-west-1"}]',
        '[{"name": "API_TOKEN", "value": "[redacted token]"}, '
        '{"name": "REGION", "value": "eu-west-1"}]',
        ["token"],
    ),
    (
        "curl -u admin:EXAMPLEpw https://jira.example.com/rest/api/2/myself",
        "curl -u admin:[redacted password] https://jira.example.com/rest/api/2/myself",
        ["password"],
    ),
    (
        "docker login -u deploy -p EXAMPLEpw registry.example.com",
        "docker login -u deploy -p [redacted password] registry.example.com",
        ["password"],
    ),
    (
        "X-Api-Key: EXAMPLEkey0123\nAuthorization: Basic RVhBTVBMRTpFWEFNUExF",
        "X-Api-Key: [redacted API key]\nAuthorization: Basic [redacted token]",
        ["api_key", "token"],
    ),
    (
        "My password: Summer2024EXAMPLE! is that strong enough?",
        "My password: [redacted password] is that strong enough?",
        ["password"],
    ),
    # High-entropy strings right after a secret word.
    (
        "my api key is sk_EXAMPLE0a8F3kQ9zX7mP2vL5tR, is it scoped?",
        "my api key is [redacted API key], is it scoped?",
        ["api_key"],
    ),
    (
        "the secret 8f3a9c2e7b1d4f6a0c5e9b2d7f1a3c8e is rejected",
        "the secret [redacted secret] is rejected",
        ["secret"],
    ),
]


@pytest.mark.parametrize(("text", "expected", "kinds"), CASES)
def test_secrets_become_typed_placeholders(text: str, expected: str, kinds: list[str]) -> None:
    result = redact(text)
    assert result.text == expected
    assert [finding.kind for finding in result.findings] == kinds


@pytest.mark.parametrize(
    "secret",
    [AWS_KEY_ID, SLACK_BOT, SLACK_APP, GITHUB, GITHUB_FINE, GITLAB, JWT, VAULT, VAULT_LEGACY],
)
def test_no_part_of_a_secret_survives_in_a_code_fence(secret: str) -> None:
    text = f"this fails:\n```\n  client = connect(\n      {secret!r},\n  )\n```\nwhy?"
    result = redact(text)
    assert secret not in result.text
    assert not any(piece in result.text for piece in secret.split("EXAMPLE") if len(piece) > 8)
    # The code block keeps its own spacing around the placeholder.
    fence = r"this fails:\n```\n  client = connect\(\n      '\[redacted [^]]+\]',\n  \)\n```\nwhy\?"
    assert re.fullmatch(fence, result.text)


def test_an_aws_secret_key_next_to_its_key_id_is_found_without_a_keyword() -> None:
    text = f"```\nAccess key ID,Secret access key\n{AWS_KEY_ID},{AWS_SECRET}\n```"
    assert redact(text).text == (
        "```\nAccess key ID,Secret access key\n"
        "[redacted AWS access key],[redacted AWS secret key]\n```"
    )


def test_a_truncated_key_ends_where_the_next_block_begins() -> None:
    certificate = (
        "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUF\n"
        "-----END CERTIFICATE-----"
    )
    text = f"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAEXAMPLEEXAMPLE\n{certificate}"
    assert redact(text).text == f"[redacted private key]\n{certificate}"


def test_two_keys_are_two_placeholders() -> None:
    text = f"{PRIVATE_KEY}\nand the other one:\n{OPENSSH_KEY}"
    result = redact(text)
    assert result.text == "[redacted private key]\nand the other one:\n[redacted private key]"
    assert len(result.findings) == 2


def test_findings_name_what_was_removed_for_people_and_for_counting() -> None:
    result = redact(f"{AWS_KEY_ID} {AWS_SECRET} and another {AWS_KEY_ID[:-1]}Z")
    assert result.findings == (
        Finding("aws_access_key", "AWS access key"),
        Finding("aws_secret_key", "AWS secret key"),
        Finding("aws_access_key", "AWS access key"),
    )
    assert result.labels == ("AWS access key", "AWS secret key")
    assert [f.placeholder for f in result.findings[:2]] == [
        "[redacted AWS access key]",
        "[redacted AWS secret key]",
    ]


def test_a_secret_in_a_key_value_pair_is_one_placeholder_named_by_the_specific_kind() -> None:
    result = redact(f"token={SLACK_BOT_DIGITS};password={AWS_KEY_ID}")
    assert result.text == "token=[redacted Slack token];password=[redacted AWS access key]"
    assert [f.kind for f in result.findings] == ["slack_token", "aws_access_key"]


@pytest.mark.parametrize(("text", "_expected", "_kinds"), CASES)
def test_redacting_twice_changes_nothing_more(text: str, _expected: str, _kinds: object) -> None:
    once = redact(text).text
    again = redact(once)
    assert again.text == once
    assert again.findings == ()


UNCHANGED = [
    "fixed in commit 3f9a8c7e1b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a yesterday, see a1b2c3d",
    "request 123e4567-e89b-12d3-a456-426614174000 failed with a 502",
    "pod api-7d9f8b6c4-x2x9q and token-refresher-7d9f8b6c4-x2x9q: CrashLoopBackOff",
    "image registry.example.com/app@sha256:"
    "9b2f8c1e5d3a7f6b4c2e0d8a9f1b3c5e7d9a2b4c6e8f0a1b3c5d7e9f2a4b6c8d",
    "2024-05-01 INFO payload=SGVsbG8gd29ybGQhIFRoaXMgaXMgYSBsb2cgbGluZQ== done",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf and "
    "arn:aws:iam::123456789012:role/deploy",
    "How do I do a password reset? The password: it expired yesterday.",
    "secretary: Alice",
    "input_tokens: 1234, output_tokens=20, tokens: 40,000, max_tokens=512, token_count=7",
    "password: ${DB_PASSWORD}\ntoken: {{ .Values.token }}\nsecret: <your-secret>",
    "password = os.environ['DB_PASSWORD']\npassword = settings.db_password",
    "secretName: tls-cert\nsecretKeyRef:\n  name: db\nPASSWORD_FILE=/run/secrets/db",
    "the token expired, the key rotation ran, keys are fine, tokenizer: cl100k_base",
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n"
    "-----END PUBLIC KEY-----",
    "def login(password: str) -> bool:\n    token_url = 'https://auth.example.com/token'",
    "https://user@example.com/path, http://[::1]:8080/x and ssh://git@github.com:22/org/x",
    "PWD=/home/app OLDPWD=/tmp",
    'kind: Secret\ntype: Opaque\ndata:\n  password: !vault |\n"token_type": "Bearer"',
    "Our API key rotation policy says keys last 90 days; the secret to speed is caching.",
    "alice@here.example.com, s.example.com and hvs. are fine",
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_ordinary_text_is_left_alone(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert result.findings == ()


def test_an_empty_or_plain_question_comes_back_as_is() -> None:
    assert redact("") == redact("")
    assert redact("").text == ""
    question = "how do I rotate the staging DB password?"
    assert redact(question).text == question
