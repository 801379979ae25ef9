"""SIGINT and SIGTERM: a graceful stop, and an exit within 10 s whatever is blocked."""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
import time

STOP_DEADLINE_S = 9.5


def stop_on_signals() -> threading.Event:
    """The event SIGINT and SIGTERM set; installed first thing, before the slow imports, so a
    signal at start stops the command as cleanly as one later. They finish the batch in
    flight, commit, and exit 0; whatever the process is blocked on (a stopped broker or
    database, a connect), it is gone within 10 s: past the deadline it exits as a crash
    would, which commits nothing that was not applied."""
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=_exit_after_deadline, name="stop-deadline", daemon=True).start()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # where is it stuck? kill -USR1
    return stop


def _exit_after_deadline() -> None:
    time.sleep(STOP_DEADLINE_S)
    sys.stderr.write("stop: still blocked after the deadline, exiting now\n")
    sys.stderr.flush()
    os._exit(0)
