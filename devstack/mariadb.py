"""MariaDB as a private server: install-db, full row binlog, root over TCP, `revamp` database."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
from pathlib import Path

import pymysql

from devstack.layout import Layout, PartSpec, StackError
from devstack.ports import HOST, tcp_open
from devstack.postgres import server_env
from devstack.users import ServiceUser

DATABASE = "revamp"

ACCESS_DENIED = 1045


def _find(names: tuple[str, ...], dirs: tuple[str, ...]) -> Path | None:
    for name in names:
        found = shutil.which(name) or next(
            (f"{d}/{name}" for d in dirs if Path(d, name).is_file()), None
        )
        if found:
            return Path(found)
    return None


def binaries() -> tuple[Path, Path]:
    """The server and the data-directory initialiser."""
    dirs = ("/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin")
    server = _find(("mariadbd", "mysqld"), dirs)
    install = _find(("mariadb-install-db", "mysql_install_db"), dirs)
    if server is None or install is None:
        raise StackError(
            "MariaDB server binaries (mariadbd, mariadb-install-db) not found: "
            "install the Debian package mariadb-server (infra/install-servers.sh does it)"
        )
    return server, install


def reported_version(server: Path) -> str | None:
    """The `version` MariaDB should report: `5.5.5-10.11.19-MariaDB…`, as its handshake already
    does. Debezium 3.x's MySQL connector reads VERSION(); a bare `10.11` reads as MySQL 8.4 or
    later, whose `SHOW BINARY LOG STATUS` MariaDB lacks. MySQL itself: None (left as it is)."""
    try:
        said = subprocess.run(
            [str(server), "--no-defaults", "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"Ver\s+(\S+)", said)
    if found is None or "MariaDB" not in found[1]:
        return None
    return found[1] if found[1].startswith("5.5.5-") else f"5.5.5-{found[1]}"


def settings(layout: Layout, port: int, version: str | None = None) -> str:
    data = layout.data_dir("mariadb")
    return (
        "[mariadbd]\n"
        f"datadir = {data}\n"
        f"port = {port}\n"
        f"bind-address = {HOST}\n"
        f"socket = {layout.sock_dir / 'mariadbd.sock'}\n"
        f"pid-file = {layout.sock_dir / 'mariadbd.pid'}\n"
        f"log-bin = {data / 'binlog'}\n"
        "binlog_format = ROW\n"
        "binlog_row_image = FULL\n"
        "binlog_row_metadata = FULL\n"
        "server-id = 1\n"
        "default-time-zone = '+00:00'\n"
        "skip-name-resolve\n"
        "character-set-server = utf8mb4\n"
        "collation-server = utf8mb4_general_ci\n"
        "innodb_buffer_pool_size = 32M\n"
        "innodb_log_file_size = 16M\n"
        "innodb_flush_log_at_trx_commit = 1\n"
        "sync_binlog = 1\n"
        "max_connections = 200\n" + (f"version = {version}\n" if version else "")
    )


def prepare(layout: Layout, user: ServiceUser, port: int) -> list[str]:
    """Initialise the data directory once, (re)write my.cnf, return the server command."""
    server, install = binaries()
    data = layout.data_dir("mariadb")
    user.own(layout.sock_dir, 0o755)
    cnf = layout.data_root / "mariadb.cnf"
    cnf.write_text(settings(layout, port, reported_version(server)))
    cnf.chmod(0o644)  # mariadbd ignores world-writable option files
    if not layout.marker("mariadb").exists():
        shutil.rmtree(data, ignore_errors=True)  # leftovers of an interrupted install
        user.own(data, 0o750)
        # "normal" creates root@localhost, root@127.0.0.1 and root@::1 without password
        # (Debian's default would be unix_socket authentication only).
        argv = [str(install), f"--defaults-file={cnf}", "--auth-root-authentication-method=normal"]
        argv += ["--skip-test-db", "--skip-name-resolve"]
        user.run(argv, layout.log_file("mariadb"), server_env(layout), layout.data_root)
        layout.marker("mariadb").write_text("mariadb-install-db done\n")
    return [str(server.resolve()), f"--defaults-file={cnf}"]


def _connect(port: int) -> pymysql.connections.Connection:
    return pymysql.connect(host=HOST, port=port, user="root", password="", connect_timeout=2)


def ready(port: int) -> bool:
    if not tcp_open(HOST, port):
        return False
    try:
        conn = _connect(port)
    except pymysql.MySQLError as exc:
        if exc.args and exc.args[0] == ACCESS_DENIED:
            raise StackError(
                f"MariaDB on port {port} refuses root without password: {exc}"
            ) from None
        return False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            return bool(cur.fetchone() == (1,))
    except pymysql.MySQLError:
        return False
    finally:
        conn.close()


def finish(port: int) -> None:
    """Create the `revamp` database unless it exists."""
    conn = _connect(port)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS `{DATABASE}`")
    finally:
        conn.close()


SPEC = PartSpec(
    name="mariadb",
    exe="mariadbd",
    stop_signal=signal.SIGTERM,
    as_service_user=True,
    prepare=prepare,
    ready=ready,
    finish=finish,
)
