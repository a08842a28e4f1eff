"""The HTTPS transport: a threaded ``http.server`` whose connections are wrapped in TLS in their own thread
(so a slow handshake never blocks ``accept``), answering through :meth:`Emulator.handle`.

Owning the socket is what makes dropped connections possible: a dropped request gets no status line at all.
"""

from __future__ import annotations

import socket
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import __version__
from .httputil import Drop, Headers, Request

if TYPE_CHECKING:
    from .app import Emulator


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], ssl_context: ssl.SSLContext) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, RequestHandler)
        self.ssl_context = ssl_context
        self.app: Emulator | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(15)  # bound the handshake
        # Headers and body leave in separate writes: without this, Nagle + delayed ACK add ~40 ms per answer.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # e.g. a client that does not trust our CA hangs up during the handshake
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, ConnectionError, TimeoutError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"DataverseEmulator/{__version__}"
    sys_version = ""
    timeout = 120  # idle keep-alive connections give their thread back after this
    server: EmulatorServer

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._handle()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET  # noqa: N815

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._read_body()
        path, _, query = self.path.partition("?")
        if path.startswith("https://") or path.startswith("http://"):  # absolute-form request target
            path = "/" + path.split("/", 3)[-1]
        request = Request(self.command, unquote(path), query, Headers(self.headers.items()), body,
                          self.client_address[0])
        assert self.server.app is not None
        result = self.server.app.handle(request)
        if isinstance(result, Drop):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(result.status, result.reason)
        for name, value in result.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(result.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(result.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        pass  # the request log (/_emulator/requests) replaces the access log
