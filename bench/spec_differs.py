"""Run spec differs over the mutation corpus (tests/spec_mutations.py) and score their verdicts.

    python -m bench.spec_differs                        our differ only
    python -m bench.spec_differs --optic PATH/optic [--raw-dir DIR]
                                                        also @useoptic/optic (`optic diff A B --check`)

A verdict is (breaking?, the sides that decide it), scored exactly as tests/test_spec_diff_corpus.py
scores ours. Optic is not a project dependency (see README "Choices"); install it into a scratch
directory to compare. Writes nothing; prints a Markdown table.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from tests.spec_mutations import CASES, Case, documents
from willow_ext._spec_diff import diff_specs

Verdict = tuple[bool, frozenset[str]]

_SECTION = re.compile(r"^\s*- (request|response \S+|(?:query|path|header|cookie) parameter \S+):")
_OPERATION = re.compile(r"^[x✔] (GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|TRACE) ")
_BREAKING = re.compile(r"^\s*x \[")


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def expected(case: Case) -> Verdict:
    return case.breaking, frozenset({case.side} if case.side else set())


def ours(case: Case, _: Path) -> Verdict:
    changes = diff_specs(*documents(case), open_enums=case.open_enums)
    breaking = [c for c in changes if c.breaking]
    return bool(breaking), frozenset(c.side for c in (breaking or changes))


def optic_verdict(output: str) -> Verdict:
    """Optic's text report: `x [rule]` lines are breaking, nested under `- request:`, `- response N:`
    or `- query parameter P:` (request side), or under a whole operation added or removed."""
    side = "operation"
    whole_operation = False
    breaking: set[str] = set()
    changed: set[str] = set()
    for line in output.splitlines():
        if _OPERATION.match(line):
            side = "operation"
            whole_operation = line.rstrip().endswith(("removed", "added"))
            if whole_operation:
                changed.add("operation")
        elif whole_operation:
            if _BREAKING.match(line):
                breaking.add("operation")
        elif section := _SECTION.match(line):
            side = (
                "request"
                if section.group(1).startswith(("request", "query", "path", "header", "cookie"))
                else "response"
            )
            changed.add(side)
        elif _BREAKING.match(line):
            breaking.add(side)
        elif line.strip().startswith("- ") and ":" in line:
            changed.add(side)
    return bool(breaking), frozenset(breaking or changed)


def optic(binary: Path, raw_dir: Path) -> Callable[[Case, Path], Verdict]:
    """Runs optic once per case; its raw report is kept in ``raw_dir`` and reused on later runs."""
    raw_dir.mkdir(parents=True, exist_ok=True)

    def run(case: Case, work: Path) -> Verdict:
        raw = raw_dir / f"{CASES.index(case):02d}.txt"
        if not raw.exists():
            old, new = documents(case)
            for name, doc in (("old.yaml", old), ("new.yaml", new)):
                (work / name).write_text(yaml.dump(doc, Dumper=_NoAliases, sort_keys=False))
            result = subprocess.run(
                [str(binary), "diff", "old.yaml", "new.yaml", "--check"],
                cwd=work, capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            raw.write_text(result.stdout + result.stderr)
        return optic_verdict(raw.read_text())

    return run


def score(name: str, differ: Callable[[Case, Path], Verdict], jobs: int) -> list[str]:
    def one(case: Case) -> tuple[Case, Verdict]:
        with tempfile.TemporaryDirectory(prefix="spec-differ-") as tmp:
            return case, differ(case, Path(tmp))

    with ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(one, CASES))
    right = [case for case, got in results if got == expected(case)]
    verdicts = [case for case, got in results if got[0] == case.breaking]
    lines = [
        f"### {name}: {len(right)}/{len(CASES)} correct (verdict and side); "
        f"breaking-or-not right in {len(verdicts)}/{len(CASES)}",
        "",
    ]
    for case, got in results:
        if got != expected(case):
            want = expected(case)
            lines.append(
                f"- {case.name}: expected {_show(want)}, got {_show(got)}",
            )
    return lines


def _show(verdict: Verdict) -> str:
    breaking, sides = verdict
    return f"{'breaking' if breaking else 'non-breaking'} on {'/'.join(sorted(sides)) or 'nothing'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--optic", type=Path, help="path to an installed optic binary (npm @useoptic/optic)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--raw-dir", type=Path, help="keep optic's reports here and reuse them on later runs")
    args = parser.parse_args()
    report = score("willow_ext._spec_diff", ours, 1)
    if args.optic:
        with tempfile.TemporaryDirectory(prefix="optic-reports-") as scratch:
            raw_dir = args.raw_dir or Path(scratch)
            report += ["", *score("@useoptic/optic", optic(args.optic, raw_dir), args.jobs)]
    print("\n".join(report))
    sys.exit(0)


if __name__ == "__main__":
    main()
