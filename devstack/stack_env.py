"""The `stack.env` file, env-file parsing and servers given through SYNC_* settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from adapters.atomic_file import write_atomically
from adapters.env_file import EnvFileLineError, read_env_file
from devstack.layout import StackError
from devstack.ports import HOST

KEYS = ("SYNC_LEGACY_DSN", "SYNC_REVAMP_DSN", "SYNC_KAFKA_BOOTSTRAP")
_DEFAULT_PORTS = {"postgres": 5432, "mariadb": 3306, "broker": 9092}


def local_values(stack_dir: Path, ports: Mapping[str, int]) -> dict[str, str]:
    """The settings pointing at the private servers of a stack."""
    return {
        "SYNC_LEGACY_DSN": f"postgresql+psycopg://postgres@{HOST}:{ports['postgres']}/legacy",
        "SYNC_REVAMP_DSN": f"mysql+pymysql://root@{HOST}:{ports['mariadb']}/revamp",
        "SYNC_KAFKA_BOOTSTRAP": f"{HOST}:{ports['broker']}",
        "SYNC_STATE_DIR": str(state_dir(stack_dir)),
        "TANDEM_STACK_DIR": str(stack_dir),
    }


def state_dir(stack_dir: Path) -> Path:
    """Capture checkpoints and snapshot progress live with the stack whose servers they
    describe: another stack never picks them up, and `down --purge` removes them."""
    return stack_dir / "state"


def external_values(stack_dir: Path, environ: Mapping[str, str]) -> dict[str, str] | None:
    """The settings of servers the caller already runs, when all three are given."""
    if not all(environ.get(key, "").strip() for key in KEYS):
        return None
    values = {key: environ[key].strip() for key in KEYS}
    values["SYNC_STATE_DIR"] = environ.get("SYNC_STATE_DIR") or str(state_dir(stack_dir))
    values["TANDEM_STACK_DIR"] = str(stack_dir)
    return values


def write(path: Path, values: Mapping[str, str]) -> None:
    """Write KEY=VALUE lines; private (0600) since given DSNs may carry passwords."""
    lines = "".join(f"{key}={value}\n" for key, value in values.items())
    write_atomically(path, lines.encode(), 0o600)


def read(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, as every command reads an env file."""
    try:
        return read_env_file(path)
    except OSError as exc:
        raise StackError(f"cannot read env file {path}: {exc.strerror}") from None
    except EnvFileLineError as exc:
        raise StackError(f"{path}:{exc.number}: expected KEY=VALUE") from None


def addresses(values: Mapping[str, str]) -> dict[str, tuple[str, int]]:
    """host and port of each part named by the SYNC_* settings (no credentials)."""
    found: dict[str, tuple[str, int]] = {}
    for part, key in zip(("postgres", "mariadb", "broker"), KEYS, strict=True):
        raw = values[key]
        if part == "broker":
            raw = "kafka://" + raw.split(",")[0].strip()
        try:
            url = urlsplit(raw)
            port = url.port
        except ValueError:
            raise StackError(f"{key} does not name a valid host:port") from None
        found[part] = (url.hostname or HOST, port or _DEFAULT_PORTS[part])
    return found
