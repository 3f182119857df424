"""scripts/consumer-check passes on this tree and fails when any of its conditions is broken.

One venv with the runtime dependencies is built for the module; each broken variant is a copy of
the project with one defect, built into its own wheel and reinstalled there with ``--no-deps``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ("pyproject.toml", "README.md", "willow_ext", "generated", "openapi", "examples")


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("consumer_check", ROOT / "scripts" / "consumer_check.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


consumer_check = _load_script()


def copy_project(target: Path) -> Path:
    target.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def good_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheel: Path = consumer_check.build_wheel(ROOT, tmp_path_factory.mktemp("good"))
    return wheel


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, good_wheel: Path) -> Path:
    path = tmp_path_factory.mktemp("consumer") / "venv"
    consumer_check.create_venv(path, good_wheel)
    return path


def test_the_project_as_it_is_passes(venv: Path, good_wheel: Path) -> None:
    consumer_check.install_wheel(venv, good_wheel)
    failures = consumer_check.run_checks(venv, ROOT / "examples" / "consumer.py")
    assert failures == [], "\n".join(map(str, failures))


def plugin_imports_the_testing_extra(project: Path) -> None:
    plugin = project / "willow_ext" / "testing" / "pytest_plugin.py"
    plugin.write_text("import openapi_core  # noqa: F401\n" + plugin.read_text())


def package_imports_the_cli_extra(project: Path) -> None:
    package = project / "willow_ext" / "__init__.py"
    package.write_text("import yaml  # noqa: F401\n" + package.read_text())


def no_py_typed(project: Path) -> None:
    (project / "willow_ext" / "py.typed").unlink()


def console_script_without_the_guard(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("willow_ext._cli_entry:main", "willow_ext.cli:main"))


def lost_return_type(project: Path) -> None:
    # A public function whose annotation disappears: the example's typed use must catch it.
    quirks = project / "willow_ext" / "_quirks.py"
    text = quirks.read_text()
    assert "def relationship_id(" in text
    quirks.write_text(text.replace(") -> str | None:", "):", 1))


CLI, PYTEST, MYPY = (
    "willow without the cli extra",
    "pytest in a downstream repository",
    "mypy --strict on the consumer example",
)


@pytest.mark.parametrize(
    ("break_it", "failed_checks"),
    [
        (plugin_imports_the_testing_extra, [PYTEST]),
        # `willow --version` and pytest start-up both trip over it.
        (package_imports_the_cli_extra, [CLI, PYTEST]),
        (no_py_typed, [MYPY]),
        (console_script_without_the_guard, [CLI]),
        (lost_return_type, [MYPY]),
    ],
)
def test_a_broken_project_fails(
    venv: Path, tmp_path: Path, break_it: Callable[[Path], None], failed_checks: list[str]
) -> None:
    project = copy_project(tmp_path / "project")
    break_it(project)
    consumer_check.install_wheel(venv, consumer_check.build_wheel(project, tmp_path / "dist"))
    failures = consumer_check.run_checks(venv, project / "examples" / "consumer.py")
    assert [failure.check for failure in failures] == failed_checks, "\n".join(map(str, failures))


def test_an_example_with_a_type_error_fails(venv: Path, good_wheel: Path, tmp_path: Path) -> None:
    consumer_check.install_wheel(venv, good_wheel)
    example = tmp_path / "consumer.py"
    example.write_text(
        (ROOT / "examples" / "consumer.py").read_text()
        + "\n\ndef wrong(client: WillowClient) -> int:\n    return client.twins.get('AHU-1')\n"
    )
    failures = consumer_check.run_checks(venv, example)
    assert [failure.check for failure in failures] == ["mypy --strict on the consumer example"]
    assert 'Incompatible return value type (got "Twin", expected "int")' in failures[0].detail
