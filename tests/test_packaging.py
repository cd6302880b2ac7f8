"""The package as users install it: wheel and sdist built, the wheel installed in clean venvs.

Each venv gets the wheel with one extra, installed with ``--no-index`` from the
wheelhouse ``make test`` fills (``.venv/wheelhouse``: the dependencies'
wheels, downloaded once per pyproject change), so the test itself never
leaves the machine. Run from outside the source tree, it catches what only the
installed copy lacks: the Lua script, an adapter or its entry point, the
bundled quickstart, the ``guardrail`` command.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = ROOT / ".venv" / "wheelhouse"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DIST = PROJECT["name"]
EXTRAS = [e for e in PROJECT["optional-dependencies"] if e not in ("all", "bench", "dev")]

# What each extra must make work in the installed copy: (module to import, adapter entry point).
ADAPTER_OF = {
    "langchain": ("guardrail_langchain", "langchain"),
    "mcp": ("guardrail_mcp", "mcp"),
    "fastmcp": ("guardrail_fastmcp", "fastmcp"),
    "openai-agents": ("guardrail_openai_agents", "openai-agents"),
    "pydantic-ai": ("guardrail_pydantic_ai", "pydantic-ai"),
    "adk": ("guardrail_adk", "adk"),
    "crewai": ("guardrail_crewai", "crewai"),
    "redis": ("guardrail.budgets.redis_ledger", None),
    "otel": ("opentelemetry.sdk.trace", None),
}

pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path, timeout: float = 300) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(wheel, sdist) built from this checkout, without network (no build isolation)."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT, cwd=out)
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return wheel, sdist


def test_the_distribution_name_is_not_the_taken_one() -> None:
    """``guardrail`` (2015 Django package) and ``guardrail-mcp`` are other projects on PyPI."""
    assert DIST == "guardrail-sdk"
    assert set(ADAPTER_OF) == set(EXTRAS)


def test_wheel_and_sdist_carry_the_package_data(built: tuple[Path, Path]) -> None:
    wheel, sdist = built
    assert wheel.name.startswith("guardrail_sdk-") and sdist.name.startswith("guardrail_sdk-")
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "guardrail/resources/redis/ledger.lua",
        "guardrail/_examples/quickstart.py",
        "guardrail/py.typed",
        *(f"{module}/__init__.py" for module, ep in ADAPTER_OF.values() if ep),
        *(f"{module}/py.typed" for module, ep in ADAPTER_OF.values() if ep),
    ):
        assert needed in in_wheel, needed
    entry_points = next(n for n in in_wheel if n.endswith(".dist-info/entry_points.txt"))
    listed = zipfile.ZipFile(wheel).read(entry_points).decode()
    for _, ep in ADAPTER_OF.values():
        if ep:
            assert f"{ep} = " in listed, ep
    with tarfile.open(sdist) as archive:
        in_sdist = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    for source in (
        "pyproject.toml",
        "README.md",
        "examples/quickstart.py",
        "guardrail/__init__.py",
    ):
        assert source in in_sdist, source
    adapters = {module for module, ep in ADAPTER_OF.values() if ep}
    assert {f"adapters/{m}/__init__.py" for m in adapters} <= in_sdist


def clean_venv(where: Path) -> Path:
    """A venv without this project's packages; pip is this interpreter's (``--python``)."""
    venv.EnvBuilder(with_pip=False).create(where)
    return where / "bin" / "python"


def install(python: Path, requirement: str, cwd: Path) -> None:
    assert WHEELHOUSE.is_dir(), f"{WHEELHOUSE} is missing: `make test` fills it (make wheelhouse)"
    pip = (sys.executable, "-m", "pip", "--python", python, "install", "--quiet")
    run(*pip, "--no-compile", "--no-index", "--find-links", WHEELHOUSE, requirement, cwd=cwd)


def test_the_bare_wheel_runs_the_quickstart_and_the_command(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    python = clean_venv(tmp_path / "venv")
    install(python, str(built[0]), tmp_path)
    assert "usage: guardrail" in run(
        tmp_path / "venv" / "bin" / "guardrail", "--help", cwd=tmp_path
    )
    out = run(tmp_path / "venv" / "bin" / "guardrail", "demo", cwd=tmp_path)
    assert "denied by role" in out and "rejected token" in out
    # The import package is guardrail; no framework came along with it.
    code = "import guardrail, importlib.util as u; print(guardrail.__file__, u.find_spec('mcp'))"
    where, mcp = run(python, "-c", code, cwd=tmp_path).split()
    assert "site-packages" in where and mcp == "None"


@pytest.mark.parametrize("extra", EXTRAS)
def test_each_extra_installs_and_its_adapter_loads(
    built: tuple[Path, Path], extra: str, tmp_path: Path
) -> None:
    python = clean_venv(tmp_path / "venv")
    install(python, f"{built[0]}[{extra}]", tmp_path)
    module, entry_point = ADAPTER_OF[extra]
    code = (
        f"import importlib; importlib.import_module({module!r})\n"
        "from guardrail.adapters import registry\n"
        "print(sorted(a.name for a in registry.adapters()))\n"
    )
    loaded = run(python, "-W", "error", "-c", code, cwd=tmp_path)
    if entry_point is not None:
        assert repr(entry_point) in loaded, loaded
