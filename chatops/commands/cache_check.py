"""`chatops cache-check PAIRS.jsonl`: the semantic cache's decisions on labelled pairs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from chatops.cache_check import check_pairs, load_pairs, report_json, report_text
from chatops.settings import load_settings


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cache-check",
        help="judge labelled question pairs with the semantic cache: precision, recall, false"
        " hits (exit status 1 if any)",
        description="Judge labelled pairs of questions the way the semantic cache would: would"
        " the second be answered from the first? Prints precision, recall and every false hit"
        " (two different questions sharing an answer); exit status 1 if there is any.",
        epilog="Examples:\n  chatops cache-check bench/cache_pairs.jsonl\n"
        "  chatops cache-check bench/cache_pairs.jsonl --threshold 0.9 --json",
    )
    parser.add_argument(
        "pairs", type=Path, help='JSONL of {"a": …, "b": …, "same_intent": true|false}'
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="similarity threshold (default: SEMANTIC_THRESHOLD)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Embedders import wordllama, boto3 and openai: only this command pays for that.
    from gateway.embeddings import build_embedder

    settings = load_settings()
    pairs = load_pairs(args.pairs)
    threshold = settings.semantic_threshold if args.threshold is None else args.threshold
    report = check_pairs(pairs, build_embedder(settings), threshold)
    print(json.dumps(report_json(report), indent=2) if args.json else report_text(report))
    return 1 if report.false_hits else 0
