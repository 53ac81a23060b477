"""The package build compiles the message catalogues: .mo files are built, not committed.

Metadata stays in setup.cfg; this only adds the compile step to build_py, so every install path
(`pip install .`, `pip install -e .` as `make install` does, a wheel) ships the Chinese interface.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def catalogues_module() -> ModuleType:
    """permits/catalogues.py by path: importing the package would need Flask in the build env."""
    path = HERE / "permits" / "catalogues.py"
    spec = importlib.util.spec_from_file_location("permits_catalogues", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildWithCatalogues(build_py):
    """Compile translations/*/LC_MESSAGES/*.po before the package data is collected."""

    def run(self) -> None:
        for mo in catalogues_module().compile_all(HERE / "permits" / "translations"):
            self.announce(f"compiled {mo.relative_to(HERE)}", level=2)
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogues})
