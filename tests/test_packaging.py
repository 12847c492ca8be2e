"""Hospes installs as one import package, `hospes`, and nothing else at the top of site-packages."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _declared_packages() -> set[str]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return set(tomllib.load(file)["tool"]["setuptools"]["packages"])


def test_every_folder_with_code_is_a_declared_subpackage() -> None:
    on_disk = {
        "hospes." + ".".join(init.parent.relative_to(ROOT).parts)
        for init in ROOT.glob("*/**/__init__.py")
        if init.parent.relative_to(ROOT).parts[0] not in {"tests", ".venv", ".package", "build"}
    }
    assert _declared_packages() == {"hospes", *on_disk}


def test_the_wheel_holds_only_the_hospes_package(tmp_path: Path) -> None:
    subprocess.run(  # noqa: S603  (this interpreter, fixed arguments)
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            tmp_path,
            ROOT,
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("hospes-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")} == {
        "hospes"
    }
    assert "hospes/cli/__init__.py" in names and "hospes/schema/build.py" in names
    assert not any(name.startswith("hospes/tests/") for name in names)
    # Alembic reads the migration streams by path: they travel with the code.
    assert any(name.startswith("hospes/models/migrations/tenant/versions/t0001") for name in names)
    assert "hospes/models/migrations/tenant/script.py.mako" in names
    # Data read at run time: the default message copy, and the copy t0004 froze beside itself.
    assert "hospes/notifications/default_templates.toml" in names
    assert "hospes/models/migrations/tenant/versions/t0004_default_templates.toml" in names


def test_python_dash_m_hospes_is_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hospes", "--help"], capture_output=True, text=True, check=False, cwd="/"
    )
    assert done.returncode == 0, done.stderr
    assert "migrate" in done.stdout and "serve" in done.stdout
