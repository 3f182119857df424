"""Spec fidelity from the ``x-willow-provenance`` grades, and the per-operation facts table.

Every operation of ``openapi/willow-api.yaml`` grades its evidence (``request``/``response``: F
published, P partly, S Willow source only, I inferred; audit 06 section 4). From those grades:

    python scripts/fidelity.py            print the fidelity table per tag (Markdown)
    python scripts/fidelity.py --write    rewrite the README table and willow_ext/_operations.py
    python scripts/fidelity.py --check    exit 1 if either is stale (CI)

Buckets follow the audit: fully evidenced = F/F; inferred = any I; partly = everything else.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "openapi" / "willow-api.yaml"
README = ROOT / "README.md"
OPERATIONS = ROOT / "willow_ext" / "_operations.py"
START, END = "<!-- fidelity:start -->", "<!-- fidelity:end -->"
METHODS = ("get", "put", "post", "patch", "delete")

#: POSTs that only read (queries with a body); every other POST, and every PUT/PATCH/DELETE, writes.
READ_ONLY_POSTS = frozenset(
    {
        "/twins",
        "/twins/ids",
        "/twins/graph",
        "/twins/count",
        "/time-series/ids",
        "/time-series/ids/latest",
        "/insights",
        "/events",
        "/tickets",
        "/tickets/categories",
        "/tickets/job-types",
        "/tickets/service-needed",
    }
)
ENVELOPE_KEYS = ("items", "content", "data")


def bucket(request: str, response: str) -> str:
    if request == response == "F":
        return "full"
    if "I" in (request, response):
        return "inferred"
    return "partly"


def operations(spec: Mapping[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def table(spec: Mapping[str, Any]) -> str:
    tags = [tag["name"] for tag in spec["tags"]]
    counts = {tag: {"full": 0, "partly": 0, "inferred": 0} for tag in tags}
    for _, _, op in operations(spec):
        mark = op["x-willow-provenance"]
        counts[op["tags"][0]][bucket(mark["request"], mark["response"])] += 1

    def row(name: str, c: Mapping[str, int]) -> str:
        total = sum(c.values())
        cells = [f"{c[b]} ({round(100 * c[b] / total)} %)" if c[b] else "0" for b in ("full", "partly", "inferred")]
        return f"| {name} | {total} | " + " | ".join(cells) + " |"

    all_ops = {b: sum(c[b] for c in counts.values()) for b in ("full", "partly", "inferred")}
    lines = [
        "| tag | operations | fully evidenced | partly | inferred |",
        "| --- | --- | --- | --- | --- |",
        *(row(tag, counts[tag]) for tag in tags),
        row("**All**", all_ops),
    ]
    return "\n".join(lines) + "\n"


def _schema(spec: Mapping[str, Any], node: Any) -> dict[str, Any]:
    while isinstance(node, Mapping) and "$ref" in node:
        node = spec["components"]["schemas"][str(node["$ref"]).rsplit("/", 1)[-1]]
    return dict(node) if isinstance(node, Mapping) else {}


def _required(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> tuple[str, ...]:
    """Required members that may not be null (a null there is as bad as a missing one)."""
    props = schema.get("properties") or {}
    return tuple(
        name for name in schema.get("required") or [] if not _schema(spec, props.get(name, {})).get("nullable")
    )


def facts(spec: Mapping[str, Any], method: str, path: str, op: Mapping[str, Any]) -> dict[str, Any]:
    mark = op["x-willow-provenance"]
    success = sorted(int(code) for code in op["responses"] if code.startswith("2"))
    body = "none"
    shape = "any"
    envelope_key = None
    required: tuple[str, ...] = ()
    item_required: tuple[str, ...] = ()
    for code in map(str, success):
        content = op["responses"][code].get("content") or {}
        if "application/json" in content:
            body = "json"
            schema = _schema(spec, content["application/json"].get("schema"))
            if schema.get("type") == "array":
                shape = "array"
                item_required = _required(spec, _schema(spec, schema.get("items")))
            elif schema.get("type") == "object" or "properties" in schema:
                shape = "object"
                required = _required(spec, schema)
                for key in ENVELOPE_KEYS:
                    member = _schema(spec, (schema.get("properties") or {}).get(key))
                    if member.get("type") == "array":
                        envelope_key = key
                        item_required = _required(spec, _schema(spec, member.get("items")))
                        break
            break
        if content:
            body = "binary"
    writes = method in ("PUT", "PATCH", "DELETE") or (
        method == "POST" and path not in READ_ONLY_POSTS and path != "/oauth2/token"
    )
    return {
        "method": method,
        "path": path,
        "operation_id": op.get("operationId"),
        "tag": op["tags"][0],
        "request_grade": mark["request"],
        "response_grade": mark["response"],
        "success": tuple(success),
        "no_body": tuple(c for c in success if not op["responses"][str(c)].get("content")),
        "body": body,
        "shape": shape,
        "envelope_key": envelope_key,
        "required": required,
        "item_required": item_required,
        "writes": writes,
    }


def operations_module(spec: Mapping[str, Any]) -> str:
    rows = "".join(
        "    OperationFacts(" + ", ".join(f"{k}={v!r}" for k, v in facts(spec, m, p, op).items()) + "),\n"
        for m, p, op in operations(spec)
    )
    return f'''"""Per-operation facts derived from the pinned spec (``x-willow-provenance`` grades, success
codes, top-level response shape; ``no_body``: the success codes declared without content).
GENERATED by ``python scripts/fidelity.py --write``: do not edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["OPERATIONS", "Grade", "OperationFacts"]

Grade = Literal["F", "P", "S", "I"]


@dataclass(frozen=True, slots=True)
class OperationFacts:
    """What the spec says (and how sure it is) about one operation's success response."""

    method: str
    path: str
    operation_id: str | None
    tag: str
    request_grade: Grade
    response_grade: Grade
    success: tuple[int, ...]
    no_body: tuple[int, ...]
    body: Literal["json", "binary", "none"]
    shape: Literal["array", "object", "any"]
    envelope_key: str | None
    required: tuple[str, ...]
    item_required: tuple[str, ...]
    writes: bool

    @property
    def inferred_response(self) -> bool:
        return self.response_grade == "I"


OPERATIONS: tuple[OperationFacts, ...] = (
{rows})
'''


def formatted(source: str) -> str:
    """``source`` as ``ruff format`` leaves it, so the committed module passes the format check."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(OPERATIONS), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return done.stdout


def readme_with(readme: str, rendered: str) -> str:
    head, start, rest = readme.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise SystemExit(f"README.md has no {START} ... {END} section")
    return f"{head}{START}\n{rendered}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail if README.md or _operations.py is stale")
    mode.add_argument("--write", action="store_true", help="rewrite README.md's table and _operations.py")
    args = parser.parse_args(argv)
    spec = yaml.safe_load(SPEC_PATH.read_text())
    rendered = table(spec)
    wanted = {README: readme_with(README.read_text(), rendered), OPERATIONS: formatted(operations_module(spec))}
    if args.write:
        for path, text in wanted.items():
            path.write_text(text)
        return 0
    if args.check:
        stale = [path.name for path, text in wanted.items() if path.read_text() != text]
        for name in stale:
            print(f"{name} is stale: run python scripts/fidelity.py --write", file=sys.stderr)
        return 1 if stale else 0
    sys.stdout.write(rendered)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
