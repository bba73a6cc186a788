"""Start ``consist ui`` (the installed console script) on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_ui(run_dir: Path, db_path: Path, timeout: float = 30.0) -> Iterator[str]:
    """Yield the base URL of a running ``consist ui``; stop it afterwards."""
    port = free_port()
    script = Path(sys.executable).parent / "consist"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "consist.cli"]
    command += ["--run-dir", str(run_dir), "--db-path", str(db_path), "ui", "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if k not in ("CONSIST_RUN_DIR", "CONSIST_DB_PATH")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"consist ui exited with {process.returncode}:\n{output}")
            try:
                with urllib.request.urlopen(base + "/runs", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
