"""Hostile and careless input for the privacy tests: every kind of secret people paste, each a
fake marked EXAMPLE, and the words the redaction note uses for them."""

from __future__ import annotations

import base64
import json


def _b64url(value: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


# kind → the value that must never be seen again once pasted.
SECRETS = {
    "AWS access key": "AKIAIOSFODNN7EXAMPLE",  # AWS's documented example pair
    "AWS secret key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "Slack token": "xoxb-000000000000-0000000000000-EXAMPLEexampleEXAMPLEexampl",
    "GitHub token": "ghp_EXAMPLEexampleEXAMPLEexample01234567",
    "GitLab token": "glpat-EXAMPLEexample123456",
    "JWT": (
        f"{_b64url({'alg': 'HS256', 'typ': 'JWT'})}.{_b64url({'sub': 'EXAMPLE-user'})}"
        ".EXAMPLEsignatureEXAMPLEsignatureEXAMPLE0123"
    ),
    "password in a connection string": "EXAMPLEpassw0rd4db",
    "Vault token": "hvs.CAESIEXAMPLEexampleEXAMPLEexample0123",
    "password= pair": "EXAMPLE-Hunter2-pw",
    "api_key: pair": "EXAMPLEapiKey0123456789",
    "high-entropy string after a secret word": "EXAMPLE9f8Kq2Lx7Vb3Nz5Wc1Qa",
    "private key block": "MIIEowIBAAKCAQEAEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE",
}

# The findings' labels, in the order the message below holds them (the note names each).
LABELS = [
    "AWS access key",
    "AWS secret key",
    "Slack token",
    "GitHub token",
    "GitLab token",
    "JWT",
    "password",
    "Vault token",
    "password",
    "API key",
    "token",
    "private key",
]


def secret_message(opening: str) -> str:
    """A question with every kind of secret pasted into it, as people do."""
    s = SECRETS
    return (
        f"{opening} What I have:\n"
        f"aws_access_key_id = {s['AWS access key']}\n"
        f"aws_secret_access_key = {s['AWS secret key']}\n"
        f"SLACK_BOT_TOKEN={s['Slack token']}\n"
        f"gh token {s['GitHub token']} and gitlab {s['GitLab token']}\n"
        f"session jwt {s['JWT']}\n"
        f"DATABASE_URL=postgres://app:{s['password in a connection string']}"
        "@db.internal:5432/app\n"
        f"vault login {s['Vault token']}\n"
        f"password={s['password= pair']} api_key: {s['api_key: pair']}\n"
        f"my token is {s['high-entropy string after a secret word']}\n"
        "-----BEGIN RSA PRIVATE KEY-----\n"
        f"{s['private key block']}\n"
        "-----END RSA PRIVATE KEY-----\n"
        "Why?"
    )


def leaked(text: str) -> list[str]:
    """The kinds of secret whose value (or any dot-separated part of a token) is in `text`."""
    return [
        kind
        for kind, value in SECRETS.items()
        if any(part in text for part in value.split(".") if len(part) >= 12)
    ]


__all__ = ["LABELS", "SECRETS", "leaked", "secret_message"]
