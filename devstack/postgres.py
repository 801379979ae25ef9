"""PostgreSQL as a private server: initdb, logical-decoding settings, the `legacy` database."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import psycopg

from devstack.layout import Layout, PartSpec, StackError
from devstack.ports import HOST, tcp_open
from devstack.users import ServiceUser

DATABASE = "legacy"
_CONF = "tandem.conf"


def bin_dir() -> Path:
    """The PostgreSQL server binaries: $TANDEM_PG_BINDIR, then version 15, then any other."""
    candidates = [os.environ.get("TANDEM_PG_BINDIR", ""), "/usr/lib/postgresql/15/bin"]
    others = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True)
    candidates += [str(path) for path in others]
    on_path = shutil.which("postgres")
    candidates.append(str(Path(on_path).parent) if on_path else "")
    for candidate in filter(None, candidates):
        found = Path(candidate)
        if (found / "postgres").is_file() and (found / "initdb").is_file():
            return found
    raise StackError(
        "PostgreSQL server binaries (postgres, initdb) not found in /usr/lib/postgresql/15/bin: "
        "install the Debian package postgresql-15 (infra/install-servers.sh does it)"
    )


def _version(path: Path) -> float:
    try:
        return float(path.parent.name)
    except ValueError:
        return 0.0


def settings(layout: Layout, port: int) -> str:
    """The configuration Tandem needs; included at the end of postgresql.conf."""
    return (
        f"listen_addresses = '{HOST}'\n"
        f"port = {port}\n"
        f"unix_socket_directories = '{layout.sock_dir}'\n"
        "wal_level = logical\n"
        "max_replication_slots = 10\n"
        "max_wal_senders = 10\n"
        "fsync = on\n"
        "timezone = 'UTC'\n"
        "log_timezone = 'UTC'\n"
        "logging_collector = off\n"
    )


def prepare(layout: Layout, user: ServiceUser, port: int) -> list[str]:
    """Initialise the cluster once, (re)write the settings, return the server command."""
    bindir = bin_dir()
    data = layout.data_dir("postgres")
    user.own(layout.sock_dir, 0o755)
    if not layout.marker("postgres").exists():
        shutil.rmtree(data, ignore_errors=True)  # leftovers of an interrupted initdb
        user.own(data, 0o700)
        argv = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8"]
        argv += ["--locale=C", "--auth-local=trust", "--auth-host=trust"]
        user.run(argv, layout.log_file("postgres"), server_env(layout), layout.data_root)
        with open(data / "postgresql.conf", "a") as main_conf:
            main_conf.write(f"\ninclude_if_exists = '{_CONF}'\n")
        layout.marker("postgres").write_text("initdb done\n")
    conf = data / _CONF
    conf.write_text(settings(layout, port))
    if user.switches:
        os.chown(conf, user.uid, user.gid)
    return [str(bindir / "postgres"), "-D", str(data)]


def server_env(layout: Layout) -> dict[str, str]:
    path = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    return {"PATH": path, "LC_ALL": "C", "TZ": "UTC", "HOME": str(layout.data_root)}


def _connect(port: int, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host=HOST, port=port, user="postgres", dbname=dbname, connect_timeout=2, autocommit=True
    )


def ready(port: int) -> bool:
    if not tcp_open(HOST, port):
        return False
    try:
        with _connect(port) as conn:
            return conn.execute("SELECT 1").fetchone() == (1,)
    except psycopg.Error:
        return False


def finish(port: int) -> None:
    """Create the `legacy` database unless it exists."""
    with _connect(port) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if found.fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')


# SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client: SIGINT is "fast".
SPEC = PartSpec(
    name="postgres",
    exe="postgres",
    stop_signal=signal.SIGINT,
    as_service_user=True,
    prepare=prepare,
    ready=ready,
    finish=finish,
)
