"""Serve the web app with uvicorn on a loopback address unless told otherwise.

``consist ui`` binds 127.0.0.1 by default: the pages show paths, configs and errors
of a user's runs, so listening on every interface must be asked for (``--host``).
A browser is opened only with ``open_browser=True`` (``--open``), once the server
listens, so the first page never races the socket.
"""

from __future__ import annotations

import threading
import webbrowser
from pathlib import Path

import uvicorn

from consist.web.app import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def serve_ui(
    run_dir: str | Path,
    db_path: str | Path | None,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    open_browser: bool = False,
    log_level: str = "warning",
) -> None:
    """Serve the app until interrupted (Ctrl-C)."""
    app = create_app(run_dir, db_path)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level))
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/runs"
    print(f"Consist UI on {url} (read-only; Ctrl-C to stop)", flush=True)
    if open_browser:

        def open_when_listening() -> None:
            while not server.started and not server.should_exit:
                threading.Event().wait(0.05)
            if server.started:
                webbrowser.open(url)

        threading.Thread(target=open_when_listening, daemon=True).start()
    server.run()
