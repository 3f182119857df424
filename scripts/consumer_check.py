"""Use the built wheel the way another team would, and fail if any of it breaks.

1. build the wheel (hatchling, no isolated build env) and install it with its runtime
   dependencies only into a fresh venv in a temporary directory, outside the repository;
2. ``willow --help`` and ``willow --version`` without the ``cli`` extra: an install hint or help, never a traceback;
3. pytest in a scratch repository: a trivial test passes with the plugin loaded, and a test that
   uses ``local_willow`` fails with the one-line "install willow-api[testing]" message;
4. ``mypy --strict`` on a consumer example using the sync and async clients (examples/consumer.py).

    scripts/consumer-check                       # the CI step
    scripts/consumer-check --venv DIR --reuse    # reinstall the wheel (--no-deps) into an existing venv
Exit 0 only if every check behaves; otherwise each failed check is printed with its output.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Failure", "build_wheel", "create_venv", "install_wheel", "main", "run_checks"]

ROOT = Path(__file__).resolve().parent.parent
EXIT_MISSING_EXTRA = 7  # willow_ext._exit_codes.EXIT_MISSING_EXTRA (the check must not import the package)
TESTING_HINT = "pip install 'willow-api[testing]'"
CLI_HINT = "pip install 'willow-api[cli]'"
# Modules only the extras bring: present in the consumer venv, the check would prove nothing.
EXTRA_MODULES = ("typer", "rich", "yaml", "openapi_core", "starlette", "uvicorn", "mkdocs")

TRIVIAL_TEST = "def test_downstream_code_still_runs() -> None:\n    assert 1 + 1 == 2\n"
FIXTURE_TEST = "def test_uses_the_local_server(local_willow) -> None:\n    assert local_willow.base_url\n"


@dataclass(frozen=True)
class Failure:
    check: str
    detail: str

    def __str__(self) -> str:
        return f"FAILED {self.check}\n{textwrap.indent(self.detail.strip()[-3000:], '    ')}"


def _run(args: list[str | Path], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def _checked(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        raise SystemExit(f"consumer-check: {what} failed:\n{result.stdout}{result.stderr}")


def build_wheel(source: Path, out_dir: Path) -> Path:
    """Build the wheel of ``source`` into ``out_dir`` with the hatchling of this interpreter."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _checked(_run([sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", out_dir], cwd=source), "build")
    wheels = sorted(out_dir.glob("willow_api-*.whl"), key=lambda path: path.stat().st_mtime)
    return wheels[-1]


def _tool_requirements() -> list[str]:
    # The consumer's own tools, at the versions this project tests with (the pip cache then has them).
    return [f"{name}=={importlib.metadata.version(name)}" for name in ("pytest", "mypy")]


def create_venv(venv: Path, wheel: Path) -> None:
    """A fresh venv with the wheel and its runtime dependencies (no extras), plus pytest and mypy."""
    _checked(_run([sys.executable, "-m", "venv", "--clear", venv], cwd=venv.parent), "venv")
    pip: list[str | Path] = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _checked(_run([*pip, wheel, *_tool_requirements()], cwd=venv.parent), "pip install (wheel + runtime deps)")


def install_wheel(venv: Path, wheel: Path) -> None:
    """Replace the package in an existing venv by ``wheel`` (dependencies already there)."""
    pip: list[str | Path] = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _checked(_run([*pip, "--no-deps", "--force-reinstall", wheel], cwd=venv.parent), "pip install --no-deps")


def _consumer_env(venv: Path) -> dict[str, str]:
    # Only the venv and the system tools: nothing from this repository leaks in.
    return {"PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}  # noqa: S108


def _check_no_extras(venv: Path, scratch: Path, env: dict[str, str]) -> str | None:
    probe = f"import importlib.util as u; print(' '.join(m for m in {EXTRA_MODULES!r} if u.find_spec(m)))"
    result = _run([venv / "bin" / "python", "-c", probe], scratch, env)
    if result.returncode != 0 or result.stdout.strip():
        return f"the venv is not a base install; extra modules present: {result.stdout}{result.stderr}"
    return None


def _check_cli(venv: Path, scratch: Path, env: dict[str, str]) -> str | None:
    helped = _run([venv / "bin" / "willow", "--help"], scratch, env)
    text = helped.stdout + helped.stderr
    if "Traceback" in text or helped.returncode not in (0, EXIT_MISSING_EXTRA):
        return f"willow --help exited {helped.returncode}:\n{text}"
    if helped.returncode == EXIT_MISSING_EXTRA and CLI_HINT not in text:
        return f"willow --help does not say how to install the cli extra:\n{text}"
    version = _run([venv / "bin" / "willow", "--version"], scratch, env)
    if version.returncode != 0 or not version.stdout.startswith("willow "):
        return f"willow --version exited {version.returncode}:\n{version.stdout}{version.stderr}"
    return None


def _check_pytest(venv: Path, scratch: Path, env: dict[str, str]) -> str | None:
    (scratch / "test_downstream.py").write_text(TRIVIAL_TEST)
    (scratch / "test_fixture_use.py").write_text(FIXTURE_TEST)
    pytest: list[str | Path] = [venv / "bin" / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    plain = _run([*pytest, "test_downstream.py"], scratch, env)
    if plain.returncode != 0 or "1 passed" not in plain.stdout:
        return f"a trivial downstream test run exited {plain.returncode}:\n{plain.stdout}{plain.stderr}"
    used = _run([*pytest, "test_fixture_use.py"], scratch, env)
    text = used.stdout + used.stderr
    if used.returncode != 1 or TESTING_HINT not in text or "Traceback" in text or "During handling" in text:
        return f"using local_willow without the testing extra did not fail with the install hint:\n{text}"
    return None


def _check_mypy(venv: Path, scratch: Path, env: dict[str, str], example: Path) -> str | None:
    target = scratch / "consumer.py"
    shutil.copyfile(example, target)
    cache = venv / ".mypy_cache"  # per venv: reruns after --reuse only recheck what changed
    result = _run([venv / "bin" / "python", "-m", "mypy", "--strict", "--cache-dir", cache, target.name], scratch, env)
    if result.returncode != 0:
        return f"mypy --strict on {example.name} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    return None


def run_checks(venv: Path, example: Path, *, fail_fast: bool = False) -> list[Failure]:
    """Every check against the package installed in ``venv``, in a scratch repository of its own."""
    env = _consumer_env(venv)
    failures: list[Failure] = []
    with tempfile.TemporaryDirectory(prefix="willow-consumer-") as tmp:
        scratch = Path(tmp)
        checks: list[tuple[str, Callable[[], str | None]]] = [
            ("base install only", lambda: _check_no_extras(venv, scratch, env)),
            ("willow without the cli extra", lambda: _check_cli(venv, scratch, env)),
            ("pytest in a downstream repository", lambda: _check_pytest(venv, scratch, env)),
            ("mypy --strict on the consumer example", lambda: _check_mypy(venv, scratch, env, example)),
        ]
        for name, check in checks:
            detail = check()
            print(f"{'ok  ' if detail is None else 'FAIL'} {name}", flush=True)
            if detail is not None:
                failures.append(Failure(name, detail))
                if fail_fast:
                    break
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=ROOT, help="project tree to build (default: this one)")
    parser.add_argument("--example", type=Path, default=ROOT / "examples" / "consumer.py")
    parser.add_argument("--venv", type=Path, help="venv to use (default: a fresh one in a temporary directory)")
    parser.add_argument("--reuse", action="store_true", help="reinstall only the wheel into an existing --venv")
    parser.add_argument("--fail-fast", action="store_true", help="stop at the first failed check")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="willow-wheel-") as tmp:
        wheel = build_wheel(args.source.resolve(), Path(tmp))
        print(f"built {wheel.name}", flush=True)
        venv = args.venv.resolve() if args.venv else Path(tmp) / "venv"
        if args.reuse and (venv / "bin" / "python").exists():
            install_wheel(venv, wheel)
        else:
            create_venv(venv, wheel)
        failures = run_checks(venv, args.example.resolve(), fail_fast=args.fail_fast)
    for failure in failures:
        print(failure, file=sys.stderr)
    print("consumer check: " + ("passed" if not failures else f"{len(failures)} check(s) failed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
