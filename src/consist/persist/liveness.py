"""Who owns a running run, and how a later process tells that the owner is gone.

The failure this prevents: a process killed mid-step (kill -9, OOM killer, a lost node)
leaves its run ``running`` forever, and every query, dashboard and sweep report shows a
step that will never end. Rules:

* Every run records its owner when it begins: host, pid, the process's start time
  (so a reused pid is not mistaken for the owner) and the name of a heartbeat file.
* While a tracker has a run active, a daemon thread touches its heartbeat file,
  ``.consist/owners/<host>-<pid>-<random>.alive``, every HEARTBEAT_SECONDS.
* An owner on THIS host is gone when its pid is not alive, or alive with another start
  time. An owner on ANOTHER host (a shared filesystem) is gone when its heartbeat file
  is older than ABANDON_AFTER_SECONDS, or missing (removed when its tracker closed).
* A later process that syncs the store marks such runs ``failed`` with
  ``error = "abandoned: ..."`` and ``meta["abandoned"] = {...}`` (persist/sync.py).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
import weakref
from datetime import UTC, datetime
from typing import Any

from consist.fs.layout import RunLayout
from consist.model.run import ConsistRecord, RunStatus
from consist.settings import ABANDON_AFTER_SECONDS, HEARTBEAT_SECONDS

HOST = socket.gethostname() or "host"


def _proc_stat(pid: int) -> tuple[bytes, int | None] | None:
    """(state, start time in clock ticks since boot) of ``pid`` from Linux /proc, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: fields follow the last ")".
    fields = data[data.rfind(b")") + 2 :].split()
    try:
        return fields[0], int(fields[19])  # fields 3 and 22 of stat(5): state, starttime
    except (IndexError, ValueError):
        return (fields[0] if fields else b"?"), None


def process_start(pid: int) -> int | None:
    """Start time of a live ``pid`` in clock ticks since boot (Linux /proc), or None."""
    stat = _proc_stat(pid)
    return None if stat is None or stat[0] == b"Z" else stat[1]


def pid_gone(pid: int, started: int | None = None) -> str | None:
    """Why process ``pid`` of this host is gone (dead, a zombie, or a reused pid: one that
    started at another time than ``started``), or None while it may be alive."""
    stat = _proc_stat(pid)
    if stat is None:  # no such /proc entry, or no /proc at all: ask the kernel
        return None if _pid_alive(pid) else "is gone"
    state, start = stat
    if state == b"Z":
        return "is gone"  # dead, only not reaped yet
    if started is not None and start is not None and start != started:
        return "is gone (its pid was reused)"
    return None


class Liveness:
    """This process's owner record and heartbeat, and the test for other owners."""

    def __init__(self, layout: RunLayout) -> None:
        self._dir = os.path.join(layout.state_dir, "owners")
        self._owner: dict[str, Any] | None = None
        self._pid = -1
        self._beating: threading.Thread | None = None
        self._stop = threading.Event()
        # The owner record while it and its heartbeat are known good: every run's begin
        # reads it, so the checks below run only after a fork, a stop, or a dead heartbeat.
        self._ready: dict[str, Any] | None = None
        _instances.add(self)

    def owner(self) -> dict[str, Any]:
        """The owner record of runs begun now (built once per process), heartbeat started."""
        ready = self._ready
        if ready is not None:
            return ready
        if self._owner is None or self._pid != os.getpid():
            self._pid = os.getpid()
            name = f"{HOST}-{self._pid}-{uuid.uuid4().hex[:8]}.alive"
            self._owner = {
                "host": HOST,
                "pid": self._pid,
                "started": process_start(self._pid),
                "heartbeat": name,
            }
            self._beating = None
        if self._beating is None or not self._beating.is_alive():
            self._start_heartbeat()
        self._ready = self._owner
        return self._owner

    def _start_heartbeat(self) -> None:
        assert self._owner is not None
        path = os.path.join(self._dir, self._owner["heartbeat"])
        os.makedirs(self._dir, exist_ok=True)
        with open(path, "a"):
            pass
        self._stop = threading.Event()
        stop = self._stop

        def beat() -> None:
            try:
                while not stop.wait(HEARTBEAT_SECONDS):
                    os.utime(path)
            except OSError:
                pass
            finally:
                self._ready = None  # the next owner() starts a heartbeat again

        self._beating = threading.Thread(target=beat, name="consist-heartbeat", daemon=True)
        self._beating.start()

    def stop(self) -> None:
        """Stop the heartbeat and remove its file (the tracker closes)."""
        self._ready = None
        self._stop.set()
        if self._owner is not None and self._pid == os.getpid():
            try:
                os.unlink(os.path.join(self._dir, self._owner["heartbeat"]))
            except OSError:
                pass
        self._owner = None

    def gone(self, owner: Any) -> str | None:
        """Why ``owner`` (a run's owner record) is gone, or None while it may be alive."""
        if not isinstance(owner, dict):
            return None  # recorded before owners were: nothing to judge by
        host, pid = owner.get("host"), owner.get("pid")
        if host == HOST and isinstance(pid, int):
            if self._owner is not None and owner.get("heartbeat") == self._owner["heartbeat"]:
                return None  # this process
            started = owner.get("started")
            why = pid_gone(pid, started if isinstance(started, int) else None)
            return None if why is None else f"process {pid} on {host} {why}"
        beat = os.path.join(self._dir, str(owner.get("heartbeat")))
        try:
            age = time.time() - os.stat(beat).st_mtime
        except OSError:
            return f"process {pid} on {host} stopped its heartbeat"
        if age > ABANDON_AFTER_SECONDS:
            return f"process {pid} on {host} sent no heartbeat for {age:.0f} s"
        return None


_instances: weakref.WeakSet[Liveness] = weakref.WeakSet()


def _forget_after_fork() -> None:
    # A forked child is another owner (its own pid) and has no heartbeat thread.
    for liveness in list(_instances):
        liveness._ready = None


os.register_at_fork(after_in_child=_forget_after_fork)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_abandoned(record: ConsistRecord, why: str) -> ConsistRecord:
    """``record`` (a running run whose owner is gone) ended as failed: abandoned."""
    run = record.run
    run.status = RunStatus.FAILED.value
    run.error = f"abandoned: {why}"
    run.ended_at = datetime.now(UTC).isoformat()
    run.meta["abandoned"] = {"reason": why, "marked_by": {"host": HOST, "pid": os.getpid()}}
    run.meta["error"] = run.error
    return record
