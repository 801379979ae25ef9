"""The hexagon's rule, checked on the source: the core depends on nothing outside it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA_LIBRARIES = {"attrs", "cattrs"}  # plain data: no I/O


def imported_packages(package: str) -> dict[str, set[str]]:
    """Top-level package of every import, per module of `package`."""
    found = {}
    for path in sorted((ROOT / package).glob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[path.name] = names - {"__future__"}
    return found


@pytest.mark.parametrize(
    ("package", "allowed"),
    [("domain", {"domain"}), ("application", {"domain", "application"})],
)
def test_the_core_imports_only_the_standard_library_itself_and_plain_data(
    package: str, allowed: set[str]
) -> None:
    modules = imported_packages(package)
    assert modules, f"{package}/ has no modules"
    for module, names in modules.items():
        foreign = names - allowed - DATA_LIBRARIES - set(sys.stdlib_module_names)
        assert not foreign, f"{package}/{module} imports {sorted(foreign)}"


def test_the_standard_library_used_by_the_domain_does_no_io() -> None:
    io_modules = {"socket", "subprocess", "sqlite3", "http", "urllib", "asyncio", "os", "io"}
    for module, names in imported_packages("domain").items():
        assert not names & io_modules, f"domain/{module} imports {sorted(names & io_modules)}"
