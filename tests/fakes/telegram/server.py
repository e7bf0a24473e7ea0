"""The fake's HTTP/1.1 server on loopback, and its going down and coming back up.

The server listens on ``127.0.0.1`` (port chosen by the OS, kept for the fake's
lifetime) and serves each connection in a daemon thread. Connections stay alive between
requests, as with api.telegram.org; a client that wrongly reuses a connection across
event loops fails here as it would in production. :meth:`Listener.down` really closes
the listening socket and every open connection, so clients see a connection error
(refused, or reset on a kept-alive connection); :meth:`Listener.listen` listens again
on the same port. Requests are answered by the ``dispatch`` callable the listener is
given; a :class:`~tests.fakes.telegram.wire.DroppedError` closes the connection without
an answer.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import urlsplit

from tests.fakes.telegram.wire import JSON, DroppedError

# (path, query string, Content-Type, body, connection) -> (HTTP status, JSON body)
Dispatch = Callable[[str, str, str, bytes, socket.socket | None], tuple[int, JSON]]


class Listener:
    """The server's lifecycle and the connections it has open; shares the fake's lock.

    ``generation`` counts the times the server went down, so a request in flight can
    tell it was cut off; ``stopping`` is set when the whole fake stops.
    """

    def __init__(self, cond: threading.Condition, dispatch: Dispatch) -> None:
        self._cond = cond
        self.dispatch = dispatch
        self.port = 0
        self.is_down = False
        self.generation = 0
        self.stopping = False
        self.connections_accepted = 0
        self._server: _Server | None = None
        self._server_thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    def listen(self) -> None:
        """Listen (again) on the port; the caller holds the lock."""
        if self._server is not None:
            return
        server = _Server(("127.0.0.1", self.port), self)
        self.port = server.server_address[1]
        self._server = server
        self.is_down = False
        # A short poll interval keeps down() and stop() quick.
        self._server_thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"fake-telegram-{self.port}",
            daemon=True,
        )
        self._server_thread.start()
        self._cond.notify_all()

    def down(self) -> None:
        """Close the listening socket and all open connections (without the lock held)."""
        with self._cond:
            server, thread = self._server, self._server_thread
            if server is None or thread is None:
                return
            self.is_down = True
            self.generation += 1
            self._server = self._server_thread = None
            self._cond.notify_all()
        server.shutdown()
        server.server_close()
        thread.join()
        with self._cond:
            for connection in self._connections:
                with contextlib.suppress(OSError):  # already closed by the peer
                    connection.shutdown(socket.SHUT_RDWR)

    def register(self, connection: socket.socket) -> bool:
        with self._cond:
            if self.is_down:
                return False
            self._connections.add(connection)
            self.connections_accepted += 1
            return True

    def unregister(self, connection: socket.socket) -> None:
        with self._cond:
            self._connections.discard(connection)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], listener: Listener) -> None:
        self.listener = listener
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (a DNS lookup); not needed here.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = self.server_address[1]

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # the client went away or down() cut the connection
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive between requests, as api.telegram.org does.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle's algorithm and
    # delayed ACKs hold every answer on a kept-alive connection back by about 40 ms.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self._registered = self._listener.register(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._listener.unregister(self.connection)

    @property
    def _listener(self) -> Listener:
        return cast(_Server, self.server).listener

    def handle_one_request(self) -> None:
        if not self._registered or self._listener.is_down:
            self.close_connection = True
            return
        super().handle_one_request()

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urlsplit(self.path)
        body = self._read_body()
        try:
            status, payload = self._listener.dispatch(
                url.path, url.query, self.headers.get("Content-Type", ""), body, self.connection
            )
        except DroppedError:
            self.close_connection = True
            return
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read tg.requests instead of a log on stderr
