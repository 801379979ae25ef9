"""Fifty table pairs, as a user runs them: scaffold, migrate, check, snapshot, then `tandem run`
working through a backlog of changes on all tables, then traffic both ways, then reconcile.

Every step is the real command in its own process, on two fresh databases of the stack.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from adapters.sql.engines import open_engine
from benchmarks.report import Result, Target
from benchmarks.stack import server_versions
from benchmarks.wide_schema import WideTable, WideTraffic, create_wide_schema

NAME = "wide_schema"
TABLES = 50
SIZES = {"full": (200, 10_000, 300), "quick": (20, 1_000, 60)}  # rows/table, backlog, traffic
ROOT = Path(__file__).resolve().parents[1]
TARGETS = [
    Target("check_problems", "==", 0, "problems", "mapping check after scaffold"),
    Target("snapshot.rows_per_s", ">=", 200, "rows/s", "snapshot of 50 tables"),
    Target("apply.changes_per_s", ">=", 200, "changes/s", "backlog applied by tandem run"),
    Target("differences", "==", 0, "rows", "reconcile after traffic both ways"),
]


def run(stack: dict[str, str], mode: str) -> Result:
    rows_per_table, backlog, traffic_steps = SIZES[mode]
    name = f"wide_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="tandem-wide-") as work, _databases(stack, name) as dbs:
        env_file = _env_file(stack, name, Path(work))
        metrics = _measure(env_file, dbs, rows_per_table, backlog, traffic_steps, Path(work))
    return Result(
        name=NAME,
        title="Fifty scaffolded table pairs: snapshot, backlog apply and traffic both ways",
        parameters={
            "table_pairs": TABLES,
            "rows_per_table_per_side": rows_per_table,
            "backlog_changes": backlog,
            "traffic_writes_per_side": traffic_steps,
        },
        metrics=metrics,
        targets=TARGETS,
        notes=[
            "snapshot: `tandem snapshot --from both` wall time, process start included",
            "apply: `tandem run` started on a backlog of legacy inserts across all tables; from"
            " its start until every revamp table has as many rows as its legacy twin (process"
            " start and capture included)",
        ],
        servers=server_versions(stack),
    )


def _measure(
    env_file: Path, dbs: dict[str, Engine], rows: int, backlog: int, steps: int, work: Path
) -> dict[str, Any]:
    tables = create_wide_schema(dbs["legacy"], dbs["revamp"], TABLES)
    legacy = WideTraffic(dbs["legacy"], tables, legacy=True, seed=1)
    revamp = WideTraffic(dbs["revamp"], tables, legacy=False, seed=2)
    legacy.fill(rows)
    revamp.fill(rows)
    metrics: dict[str, Any] = {}
    started = time.monotonic()
    _tandem(env_file, "mapping", "scaffold", "--out", str(work / "mapping.yaml"))
    metrics["scaffold_s"] = round(time.monotonic() - started, 2)
    _tandem(env_file, "migrate")
    checked = _tandem(env_file, "mapping", "check", ok=False)
    metrics["check_problems"] = 0 if checked.returncode == 0 else len(checked.stdout.splitlines())
    started = time.monotonic()
    copied = _tandem(env_file, "snapshot", "--from", "both").stdout
    seconds = time.monotonic() - started
    total = sum(int(n) for n in re.findall(r"copied (\d+)", copied))
    metrics["snapshot"] = {"rows": total, "seconds": round(seconds, 2),
                           "rows_per_s": round(total / seconds, 1)}  # fmt: skip
    for i in range(backlog):
        legacy.insert(tables[i % TABLES])
    log = work / "run.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(_command(env_file, "run"), cwd=ROOT, env=_environ(),
                                   stdout=out, stderr=out)  # fmt: skip
        try:
            started = time.monotonic()
            _wait(
                lambda: (
                    _counts(dbs["legacy"], tables, True) == _counts(dbs["revamp"], tables, False)
                ),
                600,
            )
            seconds = time.monotonic() - started
            metrics["apply"] = {"changes": backlog, "seconds": round(seconds, 2),
                                "changes_per_s": round(backlog / seconds, 1)}  # fmt: skip
            for _ in range(steps):
                legacy.step()
                revamp.step()
            _wait(lambda: _tandem(env_file, "reconcile", ok=False).returncode == 0, 300)
        finally:
            process.terminate()
            process.wait(60)
    reconciled = _tandem(env_file, "reconcile", ok=False)
    metrics["differences"] = (
        0 if reconciled.returncode == 0 else len(reconciled.stdout.splitlines())
    )
    return metrics


def _counts(engine: Engine, tables: list[WideTable], legacy: bool) -> list[int]:
    with engine.connect() as conn:
        return [
            int(
                conn.execute(
                    text(f"SELECT count(*) FROM {t.legacy if legacy else t.revamp}")
                ).scalar()
            )
            for t in tables
        ]


def _wait(done: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the wide schema did not converge")
        time.sleep(0.5)


def _environ() -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SYNC_")}
    return environ | {"PYTHONPATH": str(ROOT)}


def _command(env_file: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "entrypoints.cli", *args, "--env-file", str(env_file)]


def _tandem(env_file: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(_command(env_file, *args), cwd=ROOT, env=_environ(),
                          capture_output=True, text=True, timeout=1800)  # fmt: skip
    if ok and done.returncode != 0:
        raise RuntimeError(f"tandem {' '.join(args)}: {done.stderr[-2000:]}")
    return done


def _env_file(stack: dict[str, str], name: str, work: Path) -> Path:
    values = {
        "SYNC_LEGACY_DSN": _on(stack["SYNC_LEGACY_DSN"], name),
        "SYNC_REVAMP_DSN": _on(stack["SYNC_REVAMP_DSN"], name),
        "SYNC_KAFKA_BOOTSTRAP": stack["SYNC_KAFKA_BOOTSTRAP"],
        "SYNC_LEGACY_TOPIC_PREFIX": f"{name}l",
        "SYNC_REVAMP_TOPIC_PREFIX": f"{name}r",
        "SYNC_DLQ_TOPIC": f"{name}.dlq",
        "SYNC_LEGACY_SLOT": name,
        "SYNC_STATE_DIR": str(work / "state"),
        "SYNC_MAPPING": str(work / "mapping.yaml"),
        "SYNC_HTTP_PORT": "0",
        "SYNC_LOG_LEVEL": "WARNING",
    }
    path = work / "wide.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def _on(dsn: str, database: str) -> str:
    return make_url(dsn).set(database=database).render_as_string(hide_password=False)


class _databases:
    """Fresh databases `name` on both servers, dropped afterwards (the slot with them)."""

    def __init__(self, stack: dict[str, str], name: str) -> None:
        self.stack, self.name = stack, name
        self.admin = open_engine(_on(stack["SYNC_LEGACY_DSN"], "postgres")).execution_options(
            isolation_level="AUTOCOMMIT"
        )
        self.mysql = open_engine(stack["SYNC_REVAMP_DSN"])

    def __enter__(self) -> dict[str, Engine]:
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {self.name}"))
        with self.mysql.begin() as conn:
            conn.execute(text(f"CREATE DATABASE {self.name}"))
        self.engines = {
            "legacy": open_engine(_on(self.stack["SYNC_LEGACY_DSN"], self.name)),
            "revamp": open_engine(_on(self.stack["SYNC_REVAMP_DSN"], self.name)),
        }
        return self.engines

    def __exit__(self, *_: object) -> None:
        for engine in self.engines.values():
            engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(
                text("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                     "WHERE slot_name = :n AND NOT active"), {"n": self.name},
            )  # fmt: skip
            conn.execute(text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))
        with self.mysql.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {self.name}"))
        self.admin.engine.dispose()
        self.mysql.dispose()
