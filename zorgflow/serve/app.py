"""The HTTP side of ``zorgflow serve``: a ThreadingHTTPServer, one static page, a JSON API.

Routes: ``GET /`` (the page), ``GET /static/<file>``, ``GET /api/files``,
``GET /api/file?name=``, ``POST /api/check``, ``POST /api/examples``, ``POST /api/save``.
POSTs must be JSON from this page's own origin (a form on another web site cannot send
them), and requests must name this server in ``Host`` (no DNS rebinding).
"""

from __future__ import annotations

import json
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

from ..errors import SaveConflict, UsageError
from ..loader import workflow_files as files_in
from . import api

_STATIC = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
           "style.css": "text/css; charset=utf-8"}
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def served_files(path: Path) -> dict[str, Path]:
    """The files ``serve`` may read and save, by name: ``path`` itself, or the ``*.yaml`` and
    ``*.yml`` files directly in the folder ``path``."""
    if path.is_file():
        return {path.name: path.resolve()}
    if path.is_dir():
        files = files_in(path)
        if files:
            return {f.name: f.resolve() for f in files}
        raise UsageError(f"{path}: no *.yaml files in this folder")
    raise UsageError(f"{path}: no such file or folder")


class WorkflowServer(ThreadingHTTPServer):
    """The server, holding the fixed set of files it serves."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], files: dict[str, Path],
                 log: TextIO | None = None) -> None:
        self.files = files
        self.log = log
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        """``http://host:port/``."""
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A page closed mid-request is not an error worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def allowed_hosts(self) -> set[str]:
        """``Host`` header values this server answers to (empty: any)."""
        host, port = self.server_address[:2]
        if str(host) not in _LOOPBACK:
            return set()
        return {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")}


class _Handler(BaseHTTPRequestHandler):
    server: WorkflowServer
    server_version = "zorgflow-serve"
    sys_version = ""

    # -- plumbing ------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:
        # only the request line and status: never bodies (they may hold personal data)
        if self.server.log is not None:
            print(f"{self.address_string()} {format % args}", file=self.server.log)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json(status, {"error": message})

    def _host_ok(self) -> bool:
        allowed = self.server.allowed_hosts()
        if allowed and self.headers.get("Host", "") not in allowed:
            self._error(HTTPStatus.FORBIDDEN, "unknown Host")
            return False
        return True

    def _body(self) -> dict[str, Any] | None:
        origin = self.headers.get("Origin")
        allowed = self.server.allowed_hosts()
        if origin is not None and allowed and origin not in {f"http://{h}" for h in allowed}:
            self._error(HTTPStatus.FORBIDDEN, "requests from other sites are refused")
            return None
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON")
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > api.MAX_TEXT * 2:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "the text is too large")
            return None
        try:
            payload = json.loads(self.rfile.read(length).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self._error(HTTPStatus.BAD_REQUEST, "the request is not JSON")
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("text", ""), str) \
                or len(payload.get("text", "")) > api.MAX_TEXT:
            self._error(HTTPStatus.BAD_REQUEST, "expected {name, text}")
            return None
        return payload

    def _file(self, name: object) -> Path | None:
        file = self.server.files.get(name) if isinstance(name, str) else None
        if file is None:
            self._error(HTTPStatus.NOT_FOUND, "not a file served here")
        return file

    # -- routes --------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if not self._host_ok():
            return
        url = urlsplit(self.path)
        if url.path in ("/", "/index.html"):
            self._static("index.html")
        elif url.path.startswith("/static/"):
            self._static(url.path.removeprefix("/static/"))
        elif url.path == "/api/files":
            self._json(HTTPStatus.OK, {"files": list(self.server.files)})
        elif url.path == "/api/file":
            name = parse_qs(url.query).get("name", [""])[0]
            file = self._file(name)
            if file is not None:
                text = file.read_text(encoding="utf-8")
                self._json(HTTPStatus.OK, {"name": name, "text": text, "hash": api.digest(text)})
        else:
            self._error(HTTPStatus.NOT_FOUND, "no such page")

    def do_POST(self) -> None:
        if not self._host_ok():
            return
        route = urlsplit(self.path).path
        if route not in ("/api/check", "/api/examples", "/api/save"):
            self._error(HTTPStatus.NOT_FOUND, "no such page")
            return
        payload = self._body()
        if payload is None:
            return
        name = payload.get("name")
        file = self._file(name)
        if file is None:
            return
        text = str(payload.get("text", ""))
        if route == "/api/check":
            self._json(HTTPStatus.OK, api.check(text, file.name))
        elif route == "/api/examples":
            self._json(HTTPStatus.OK, api.run(text, file.name))
        else:
            base = payload.get("base")
            try:
                answer = api.save(file, text, base if isinstance(base, str) else None)
            except SaveConflict as exc:
                self._error(HTTPStatus.CONFLICT, str(exc))
                return
            except OSError as exc:
                self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"cannot save: {exc.strerror}")
                return
            self._json(HTTPStatus.OK, answer)

    def _static(self, name: str) -> None:
        content_type = _STATIC.get(name)
        if content_type is None:
            self._error(HTTPStatus.NOT_FOUND, "no such file")
            return
        body = resources.files("zorgflow.serve").joinpath("static", name).read_bytes()
        self._send(HTTPStatus.OK, body, content_type)


def make_server(path: str | Path, host: str = "127.0.0.1", port: int = 0,
                log: TextIO | None = None) -> WorkflowServer:
    """A server for the workflow file (or folder of files) ``path``; ``port=0`` picks a free
    port. Call ``serve_forever()`` on it (and ``shutdown()`` from another thread to stop).
    Raises `UsageError` for a path that cannot be served, `OSError` when the address is
    taken."""
    files = served_files(Path(path))
    return WorkflowServer((host, port), files, log)


def serve(path: str | Path, host: str = "127.0.0.1", port: int = 8765,
          out: TextIO | None = None) -> int:
    """Serve ``path`` until Ctrl+C; the ``zorgflow serve`` command. Returns the exit status."""
    out = out or sys.stdout
    try:
        server = make_server(path, host, port, log=sys.stderr)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror}); "
                         "try another --port (0 picks a free one)") from None
    if host not in _LOOPBACK:
        print(f"warning: listening on {host}: anyone who can reach this address can read "
              "and save the files served; there is no login", file=sys.stderr)
    names = ", ".join(server.files)
    print(f"zorgflow serve: {names} on {server.url} (Ctrl+C to stop)", file=out, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=out)
    finally:
        server.server_close()
    return 0
