"""KEY=VALUE files (`--env-file`, `stack.env`): one parser for every command."""

from __future__ import annotations

import re
from pathlib import Path

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


class EnvFileLineError(ValueError):
    """A line that is not KEY=VALUE; `number` counts from 1."""

    def __init__(self, path: Path, number: int) -> None:
        super().__init__(f"{path}:{number} is not KEY=VALUE")
        self.path, self.number = path, number


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines, `#` comments and an `export ` prefix are allowed, and a
    value wholly in matching quotes loses them. OSError when the file cannot be read."""
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise EnvFileLineError(path, number)
        value = match[2]
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[match[1]] = value
    return values
