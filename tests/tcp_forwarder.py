"""A real TCP forwarder to put between the app and a server, to cut the network: `stop` closes its
listener and every live connection (the app sees refused and lost connections), `start` listens
again on the same port, and `hang` accepts connections but never forwards (a dead host). The
server may listen on TCP or on a unix socket (the embedded PostgreSQL does)."""

from __future__ import annotations

import contextlib
import socket
import threading


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class TcpForwarder:
    """Listens on 127.0.0.1:`port`; `target` is (host, port), or the path of a unix socket."""

    def __init__(self, target: tuple[str, int] | str) -> None:
        self._target = target
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._hanging = False
        self.port = free_port()

    def _connect_upstream(self) -> socket.socket:
        if isinstance(self._target, tuple):
            return socket.create_connection(self._target)
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(self._target)
        except OSError:
            upstream.close()
            raise
        return upstream

    def start(self, *, hang: bool = False) -> None:
        self._hanging = hang
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and cut every open one."""
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, []
        for each in [listener, *sockets]:
            if each is not None:
                _cut(each)
                each.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            with self._lock:
                self._sockets.append(client)
            if self._hanging:
                continue  # held open, never answered
            try:
                upstream = self._connect_upstream()
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.append(upstream)
            threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()


def _cut(each: socket.socket) -> None:
    with contextlib.suppress(OSError):  # not connected (a listener) or already gone
        each.shutdown(socket.SHUT_RDWR)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass  # cut by stop(), or the other side closed
    finally:
        for each in (source, sink):
            _cut(each)
