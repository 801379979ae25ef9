"""The processes of a chaos run and the faults injected into them and into the servers."""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

from devstack import start_part, stop_part
from tests.e2e.processes import CDC, CONSUMER, TANDEM, Process

DIRECTIONS = ("legacy-to-revamp", "revamp-to-legacy")
KINDS = (
    "kill-capture",
    "kill-consumer",
    "kill-run",
    "add-remove-consumer",
    "pause-database",
    "kill-database",
    "pause-broker",
)
DATABASES = ("postgres", "mariadb")


def fault_plan(rng: random.Random, count: int) -> list[str]:
    """Every kind at least once (when `count` allows), the rest drawn at random, shuffled."""
    plan = list(KINDS[:count]) + [rng.choice(KINDS) for _ in range(count - len(KINDS))]
    rng.shuffle(plan)
    return plan


class Cluster:
    """Capture (`entrypoints.cdc`), `tandem run --no-capture` (both directions) and one more
    consumer per direction, so each group has two members; extras come and go."""

    def __init__(self, env_file: Path, stack_dir: Path, logs: Path, rng: random.Random) -> None:
        self.env, self.stack_dir, self.logs, self.rng = env_file, stack_dir, logs, rng
        self.started = time.monotonic()
        self.journal: list[str] = []
        settings = ["--env-file", str(env_file)]
        self.capture = self._process([*CDC, *settings], "cdc")
        self.run = self._process([*TANDEM, "run", "--no-capture", *settings], "run")
        self.consumers = [
            self._process([*CONSUMER, "--direction", d, *settings], f"consumer-{d}")
            for d in DIRECTIONS
        ]
        self.settings = settings
        self.extras = 0

    def _process(self, args: list[str], name: str) -> Process:
        return Process(args, self.logs / f"{name}.log")

    @property
    def standing(self) -> list[Process]:
        return [self.capture, self.run, *self.consumers]

    def start(self) -> None:
        for process in self.standing:
            process.start()

    def note(self, line: str) -> None:
        entry = f"t={time.monotonic() - self.started:6.1f}s {line}"
        self.journal.append(entry)
        print(entry, flush=True)

    def inject(self, kind: str) -> None:
        self.note(f"fault: {kind}")
        getattr(self, "_" + kind.replace("-", "_"))()

    def _restart_after_kill(self, process: Process) -> None:
        process.kill()
        time.sleep(self.rng.uniform(0, 2))
        process.start()

    def _kill_capture(self) -> None:
        self._restart_after_kill(self.capture)

    def _kill_consumer(self) -> None:
        self._restart_after_kill(self.rng.choice(self.consumers))

    def _kill_run(self) -> None:
        self._restart_after_kill(self.run)

    def _add_remove_consumer(self) -> None:
        self.extras += 1
        direction = self.rng.choice(DIRECTIONS)
        extra = self._process(
            [*CONSUMER, "--direction", direction, *self.settings], f"extra{self.extras}"
        ).start()
        time.sleep(self.rng.uniform(5, 12))
        if self.rng.random() < 0.5:
            extra.kill()
        else:
            extra.stop()

    def _pause_database(self) -> None:
        part = self.rng.choice(DATABASES)
        self.note(f"  SIGSTOP {part} for 10 s")
        stop_part(self.stack_dir, part, signal.SIGSTOP)
        try:
            time.sleep(10)
        finally:
            stop_part(self.stack_dir, part, signal.SIGCONT)

    def _kill_database(self) -> None:
        part = self.rng.choice(DATABASES)
        self.note(f"  SIGKILL {part}, then start it again")
        stop_part(self.stack_dir, part, signal.SIGKILL)
        time.sleep(self.rng.uniform(0, 2))
        start_part(self.stack_dir, part)

    def _pause_broker(self) -> None:
        seconds = self.rng.uniform(5, 10)
        self.note(f"  SIGSTOP broker for {seconds:.1f} s")
        stop_part(self.stack_dir, "broker", signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            stop_part(self.stack_dir, "broker", signal.SIGCONT)

    def exited_on_their_own(self) -> list[str]:
        """Standing processes that are not running although nobody stopped them."""
        return [p.log_path.name for p in self.standing if not p.running]

    def stop(self) -> None:
        for process in self.standing:
            process.stop()
