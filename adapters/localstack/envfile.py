"""The `stack.env` file, env-file parsing and servers given through SYNC_* settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from adapters.localstack.layout import StackError, write_atomic
from adapters.localstack.ports import HOST

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
    write_atomic(path, "".join(f"{key}={value}\n" for key, value in values.items()), 0o600)


def read(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines, `#` comments and an `export ` prefix are allowed."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise StackError(f"cannot read env file {path}: {exc.strerror}") from None
    values: dict[str, str] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise StackError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


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


def redact(value: str) -> str:
    """`value` with the password of a URL replaced by ***, for printing."""
    try:
        url = urlsplit(value)
        password = url.password
    except ValueError:
        return value
    if not password:
        return value
    user, _, host = url.netloc.rpartition("@")
    netloc = f"{user.split(':', 1)[0]}:***@{host}"
    return urlunsplit(url._replace(netloc=netloc))
