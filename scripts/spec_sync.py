"""Pull the published spec, regenerate, gate breaking changes, and write a pull-request body.

The steps of .github/workflows/spec-sync.yml, runnable anywhere (scripts/spec-sync --help):

1. type-check the project's own code and tests against the *current* generated/ (the baseline);
2. ``scripts/regen.py --url URL``: download, validate, diff, regenerate, propose a version bump
   and draft the changelog entry (``--apply-version`` also writes them);
3. the breaking-change gate: type-check the same code again against the *new* generated/; every
   error that was not in the baseline is an incompatibility the spec diff alone may not show
   (as openai-python's scripts/detect-breaking-changes does with its tests);
4. write the pull-request body (change summary with breaking changes flagged, gate result,
   proposed bump, changelog draft) and, under GitHub Actions, the step outputs.

Exit 0 whether or not the change is breaking (the pull request is how people see it); 2 when a
step could not run (download, validation or generation failed: nothing was changed).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the gate type-checks: our hand-written layer, the tests, and any examples.
GATE_PATHS = ("willow_ext", "tests", "examples")
_MYPY_ERROR = re.compile(r"^[^:\s]+:\d+(?::\d+)?: error: .*$", re.MULTILINE)
MAX_GATE_LINES = 40


def mypy_errors(root: Path) -> set[str]:
    """mypy's error lines for the gate paths (the project's own mypy config applies)."""
    paths = [p for p in GATE_PATHS if (root / p).exists()]
    cmd = [sys.executable, "-m", "mypy", "--no-error-summary", "--hide-error-context", *paths]
    env = {**os.environ, "MYPYPATH": str(root / "generated")}  # the new generated/, not an installed copy
    result = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env)
    if result.returncode not in (0, 1):
        raise SystemExit(f"spec-sync: mypy could not run (exit {result.returncode}):\n{result.stderr[-2000:]}")
    return set(_MYPY_ERROR.findall(result.stdout))


def tree_changed(root: Path) -> bool:
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", "openapi", "generated"],
        cwd=root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return bool(status.stdout.strip())


def gate_section(new_errors: list[str]) -> str:
    if not new_errors:
        return (
            "## Breaking-change gate\n\n"
            "Type-check of `willow_ext`, `tests` and examples against the new generated code: **passed** "
            "(no error that was not there before).\n"
        )
    shown = new_errors[:MAX_GATE_LINES]
    more = f"\n... and {len(new_errors) - len(shown)} more" if len(new_errors) > len(shown) else ""
    return (
        "## Breaking-change gate\n\n"
        f":warning: **BREAKING**: type-checking `willow_ext`, `tests` and examples against the new generated "
        f"code finds {len(new_errors)} new error(s). Code written against the current client stops type-checking.\n\n"
        "```\n" + "\n".join(shown) + more + "\n```\n"
    )


def write_outputs(values: dict[str, str]) -> None:
    """GitHub Actions step outputs (https://docs.github.com/actions/reference/workflow-commands-for-github-actions#setting-an-output-parameter)."""
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a") as out:
            out.writelines(f"{key}={value}\n" for key, value in values.items())


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/spec-sync", description=__doc__)
    parser.add_argument("--url", help="spec to pull (default: $WILLOW_SPEC_URL or the published bundle)")
    parser.add_argument("--out", type=Path, default=ROOT / ".spec-sync", help="where to write pr-body.md")
    parser.add_argument("--apply-version", action="store_true", help="write the proposed version and changelog")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    summary, body_path = args.out / "summary.md", args.out / "pr-body.md"

    print("==> baseline: type-check against the current generated/", flush=True)
    baseline = mypy_errors(ROOT)
    print("==> regenerate from the published spec", flush=True)
    regen = [sys.executable, str(ROOT / "scripts" / "regen.py"), "--summary-out", str(summary)]
    regen += ["--url", args.url] if args.url else []
    regen += ["--apply-version"] if args.apply_version else []
    if subprocess.run(regen, cwd=ROOT).returncode != 0:
        print("spec-sync: regeneration failed; nothing was changed.", file=sys.stderr)
        return 2
    if not tree_changed(ROOT):
        body_path.write_text("The published spec is identical to the pinned one: nothing to do.\n")
        write_outputs({"changed": "false", "breaking": "false", "body-path": str(body_path)})
        print("No change in openapi/ or generated/.")
        return 0
    print("==> breaking-change gate: type-check against the new generated/", flush=True)
    new_errors = sorted(mypy_errors(ROOT) - baseline)
    report = summary.read_text()
    spec_breaking = "**BREAKING**" in report
    breaking = spec_breaking or bool(new_errors)
    title = "Sync with the published Willow API spec" + (" (BREAKING)" if breaking else "")
    changes, version_and_changelog = report.split("\n## Version", 1)
    body = f"# {title}\n\n{changes.rstrip()}\n\n{gate_section(new_errors)}\n## Version{version_and_changelog}"
    body_path.write_text(body)
    write_outputs({"changed": "true", "breaking": str(breaking).lower(), "body-path": str(body_path), "title": title})
    print(body)
    return 0


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
