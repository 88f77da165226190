"""The layer contracts of pyproject's [tool.importlinter] hold, and they can fail.

``make lint`` runs ``lint-imports`` on the checkout; here it runs on a copy of the sources into
which one forbidden import is written, so a contract that silently matched nothing (a renamed
package, a typo in a layer) would show up as a copy that passes when it must not.
"""

from __future__ import annotations

import os
import pkgutil
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import wiredesk

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("wiredesk", "services", "tools")


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _copy_sources(dest: Path) -> None:
    """The Python files of the three root packages and the config (no caches, no data)."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            dest / package,
            ignore=lambda _dir, names: (
                [n for n in names if not n.endswith(".py") and not (Path(_dir) / n).is_dir()]
                + [n for n in names if n == "__pycache__"]
            ),
        )
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first: the copy, not the editable install's checkout, is what grimp reads
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "pyproject.toml", "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_core_layer_names_every_core_module() -> None:
    """A new module under wiredesk/ must be placed in a layer; else the layers contract would
    not check it (the forbidden contract still would, for direct imports of services only)."""
    layers = next(c for c in _contracts() if c["id"] == "layers")["layers"]
    assert isinstance(layers, list)
    core = {name.strip() for name in layers[-1].split(":")}
    on_disk = {
        f"wiredesk.{m.name}"
        for m in pkgutil.iter_modules(wiredesk.__path__)
        if m.name not in ("app", "__main__")
    }
    assert core == on_disk
    assert layers[:-1] == ["tools", "wiredesk.__main__", "wiredesk.app", "services"]


# A core module that reaches up is reached by the services too (they import the core), so the
# services' contract breaks as well, through the indirect chain; lint-imports reports both.
SERVICES_VIA_CORE = "services-import-no-application"


@pytest.mark.parametrize(
    ("module", "added", "broken"),
    [
        (None, "", set()),
        (
            "wiredesk/keys.py",
            "import services.store.settings",
            {"layers", "core-imports-no-service"},
        ),
        ("wiredesk/retention.py", "import wiredesk.app.files", {"layers", SERVICES_VIA_CORE}),
        (
            "wiredesk/streaming.py",
            "import tools.bench.stats",
            {"layers", "core-imports-no-service", SERVICES_VIA_CORE},
        ),
        (
            "services/store/settings.py",
            "import wiredesk.app.launcher",
            {"layers", "services-import-no-application"},
        ),
    ],
    ids=["copy-as-is", "core->service", "core->app", "core->tooling", "service->app"],
)
def test_a_forbidden_import_breaks_the_contract(
    tmp_path: Path, module: str | None, added: str, broken: set[str]
) -> None:
    _copy_sources(tmp_path)
    if module is not None:
        path = tmp_path / module
        path.write_text(path.read_text() + f"\n{added}  # injected by the test\n")
    result = _lint(tmp_path)
    output = result.stdout + result.stderr
    names = {str(c["id"]): str(c["name"]) for c in _contracts()}
    found = {cid for cid, name in names.items() if f"{name} BROKEN" in output}
    assert found == broken, output
    assert result.returncode == (1 if broken else 0), output
    if module is not None:
        assert added.split()[1] in output  # the report names the offending import
