"""Imports point one way (DESIGN.md §3): the cost engine knows nothing of Slack, Jira or RQ,
and the Slack edge never imports worker code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = {
    "gateway": {
        "slack_sdk",
        "slack_bolt",
        "jira",
        "rq",
        "bot",
        "workers",
        "integrations",
        "chatops",
        "sandbox",
        "matplotlib",
    },
    "bot": {"workers", "sandbox"},
    "api": {"bot", "workers", "sandbox"},
    "workers": {"bot", "sandbox"},
    "integrations": {"bot", "workers", "sandbox"},
    "prompts": {"bot", "workers", "slack_sdk", "slack_bolt", "rq"},
}


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_point_one_way(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_roots(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}
