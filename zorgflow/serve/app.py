"""The HTTP side of ``zorgflow serve``: a ThreadingHTTPServer, one static page, a JSON API.

Routes: ``GET /`` (the page), ``GET /static/<file>``, ``GET /api/files``,
``GET /api/file?name=``, ``POST /api/check``, ``POST /api/examples``, ``POST /api/save``
(``HEAD`` as ``GET``; the other methods HTTP defines get 405). A check also verifies the text
(`zorgflow.serve.verifying`: small bounds, a few at a time, skipped when busy); a save of a
text with errors needs ``"confirm_errors": true`` (else 422).
Every request must name this server in ``Host`` (no DNS rebinding, whatever address it
listens on; see `zorgflow.serve.hosts`). POSTs must be JSON from this page's own origin (a
form on another web site cannot send them), of bounded size, and arrive within
`REQUEST_TIMEOUT` seconds. Files are read and saved through `zorgflow.serve.files`: never
through a symbolic link, and a save replaces the file whole, only if it still holds the text
the page loaded.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import time
from collections.abc import Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import SplitResult, parse_qs, urlsplit

from ..errors import SaveConflict, UsageError, ValueProblem
from . import api
from .files import Refused, read_text, served_files, why_refused
from .hosts import LOOPBACK, allowed_hosts, check_names, is_wildcard
from .verifying import Verification, VerifyLimits

__all__ = ["REQUEST_TIMEOUT", "VerifyLimits", "WorkflowServer", "make_server", "serve",
           "served_files"]

#: seconds a client has to send a request line, its headers, and its whole body
REQUEST_TIMEOUT = 10.0

_STATIC = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
           "style.css": "text/css; charset=utf-8"}
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'")
_POSTS = ("/api/check", "/api/examples", "/api/save")
_NOT_UNICODE = ("the workflow holds text that is not valid Unicode: a lone surrogate (half of "
                "a UTF-16 pair), such as a \\uD800 escape in a quoted YAML string; write the "
                "character itself instead")
#: a YAML escape that makes a lone surrogate (a pair is two such escapes, each one alone)
_SURROGATE_ESCAPE = re.compile(r"\\(?:u[dD][89a-fA-F][0-9a-fA-F]{2}|U0000[dD][89a-fA-F]"
                               r"[0-9a-fA-F]{2})")


class WorkflowServer(ThreadingHTTPServer):
    """The server, holding the fixed set of files it serves, the names it answers to, and
    the `Verification` its requests share."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], files: dict[str, Path],
                 log: TextIO | None = None, *, allow_hosts: Iterable[str] = (),
                 request_timeout: float = REQUEST_TIMEOUT,
                 verify_limits: VerifyLimits | None = None) -> None:
        self.files = files
        self.log = log
        self.request_timeout = request_timeout
        self.verification = Verification(verify_limits)
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)
        bound = (address[0], self.host)
        self.hosts = allowed_hosts(bound, self.port, check_names(allow_hosts))
        self.origins = frozenset(f"http://{h}" for h in self.hosts)

    @property
    def host(self) -> str:
        """The address listened on."""
        host = self.server_address[0]
        return host.decode() if isinstance(host, bytes) else str(host)

    @property
    def port(self) -> int:
        """The port listened on."""
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port/``; a loopback address when listening on every address."""
        name = self.host
        if is_wildcard(name):
            name = "::1" if ":" in name else "127.0.0.1"
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{self.port}/"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A page closed mid-request is not an error worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def allowed_hosts(self) -> set[str]:
        """``Host`` header values this server answers to (never empty)."""
        return set(self.hosts)


class _Handler(BaseHTTPRequestHandler):
    server: WorkflowServer
    server_version = "zorgflow-serve"
    sys_version = ""
    #: the version an answer is written in until the request line has been read: with the
    #: standard library's HTTP/0.9 a request line it cannot read (a bad or unsupported
    #: version) got its error page without a status line or headers
    default_request_version = "HTTP/1.0"

    # -- plumbing ------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.request_timeout)  # every read and write

    def log_message(self, format: str, *args: Any) -> None:
        # only the request line and status: never bodies (they may hold personal data)
        if self.server.log is not None:
            print(f"{self.address_string()} {format % args}", file=self.server.log)

    def _send(self, status: int, body: bytes, content_type: str,
              headers: Iterable[tuple[str, str]] = ()) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
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
        try:
            body = _encoded(payload)
        except UnicodeEncodeError:
            status = HTTPStatus.UNPROCESSABLE_ENTITY
            body = _encoded({"error": _NOT_UNICODE})
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json(status, {"error": message})

    def _refused(self, exc: Refused) -> None:
        """The answer to a refusal: ``{"error": ...}``, with the members and headers it
        adds (a problem-details body, ``Retry-After``). Members may quote the text sent: a
        lone surrogate in them is written as JSON's ``\\uD800`` escape."""
        if not exc.details and not exc.headers:
            self._error(exc.status, exc.message)
            return
        body = _encoded({"error": exc.message, **exc.details}, lenient=True)
        self._send(exc.status, body, "application/json; charset=utf-8", exc.headers)

    def _check_host(self) -> None:
        host = self.headers.get("Host", "").strip().lower()
        if host not in self.server.hosts:
            raise Refused(HTTPStatus.FORBIDDEN,
                          f"refused: this server answers only to the Host names "
                          f"{', '.join(sorted(self.server.hosts))}, not {host[:100]!r} (a web "
                          "page of another site may be trying to reach it); open "
                          f"{self.server.url}, or restart zorgflow serve with --allow-host "
                          "NAME to use another name")

    def _check_origin(self) -> None:
        origin = self.headers.get("Origin")
        if origin is not None and origin.strip().lower() not in self.server.origins:
            raise Refused(HTTPStatus.FORBIDDEN,
                          f"refused: a page from {origin[:100]!r} (another site) may not use "
                          f"this server; open the editor at {self.server.url}")

    def _length(self) -> int:
        if not self.headers.get("Content-Type", "").startswith("application/json"):
            raise Refused(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                          "send JSON (Content-Type: application/json)")
        given = self.headers.get("Content-Length")
        if given is None or "Transfer-Encoding" in self.headers:
            raise Refused(HTTPStatus.LENGTH_REQUIRED,
                          "send the body with a Content-Length header (not chunked)")
        try:
            length = int(given)
        except ValueError:
            length = -1
        if length < 0:
            raise Refused(HTTPStatus.BAD_REQUEST, f"Content-Length {given[:40]!r} is not a "
                          "number of bytes")
        if length > api.MAX_BODY:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                          f"the request body is {length:,} bytes; at most {api.MAX_BODY:,} "
                          "are accepted (a workflow file is a few dozen kB)")
        return length

    def _read(self, length: int) -> bytes:
        """``length`` bytes of body, all within the request timeout."""
        limit = self.server.request_timeout
        deadline = time.monotonic() + limit
        parts: list[bytes] = []
        got = 0
        try:
            while got < length:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                self.connection.settimeout(left)
                chunk = self.rfile.read1(min(length - got, 1 << 16))
                if not chunk:
                    raise Refused(HTTPStatus.BAD_REQUEST, f"the request body ended after "
                                  f"{got} of the {length} bytes its Content-Length announced")
                parts.append(chunk)
                got += len(chunk)
        except TimeoutError:
            self.close_connection = True
            raise Refused(HTTPStatus.REQUEST_TIMEOUT,
                          f"the request body did not arrive within {limit:g} s ({got} of the "
                          f"{length} bytes its Content-Length announced); send it whole"
                          ) from None
        finally:
            self.connection.settimeout(limit)
        return b"".join(parts)

    def _payload(self) -> dict[str, Any]:
        """The JSON object a POST from this page sent: ``{name, text}`` (and ``base``)."""
        self._check_origin()
        raw = self._read(self._length())
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Refused(HTTPStatus.BAD_REQUEST, "the request is not JSON (UTF-8)") from None
        problem = lone_surrogate(payload)
        if problem is not None:
            raise Refused(HTTPStatus.BAD_REQUEST, problem)
        if not isinstance(payload, dict) or not isinstance(payload.get("name"), str) \
                or not isinstance(payload.get("text"), str):
            raise Refused(HTTPStatus.BAD_REQUEST,
                          'expected a JSON object {"name": "<file>", "text": "<YAML>"}')
        if len(payload["text"]) > api.MAX_TEXT:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                          f"the text is {len(payload['text']):,} characters; at most "
                          f"{api.MAX_TEXT:,} are accepted")
        return payload

    def _file(self, name: str) -> Path:
        file = self.server.files.get(name)
        if file is None:
            raise Refused(HTTPStatus.NOT_FOUND, f"{name[:100]!r} is not a file served here; "
                          f"the files served are: {', '.join(self._names())}")
        return file

    def _names(self) -> list[str]:
        return [name for name, file in self.server.files.items() if why_refused(file) is None]

    # -- routes --------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        try:
            self._check_host()
            self._get(urlsplit(self.path))
        except Refused as exc:
            self._refused(exc)

    def do_POST(self) -> None:
        try:
            self._check_host()
            self._post(urlsplit(self.path).path)
        except Refused as exc:
            self._refused(exc)

    def _not_allowed(self) -> None:
        """Any other HTTP method: 405 (the standard library answered 501, a server error)."""
        try:
            self._check_host()
        except Refused as exc:
            self._error(exc.status, exc.message)
            return
        self.close_connection = True  # a body it may have sent is not read
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, _encoded({
            "error": f"method {self.command[:20]!r} is not allowed; use GET, HEAD or POST"}),
            "application/json; charset=utf-8", [("Allow", "GET, HEAD, POST")])

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    def _get(self, url: SplitResult) -> None:
        if url.path in ("/", "/index.html"):
            self._static("index.html")
        elif url.path.startswith("/static/"):
            self._static(url.path.removeprefix("/static/"))
        elif url.path == "/api/files":
            self._json(HTTPStatus.OK, {"files": self._names()})
        elif url.path == "/api/file":
            name = parse_qs(url.query).get("name", [""])[0]
            text = _read_served(self._file(name))
            self._json(HTTPStatus.OK, {"name": name, "text": text, "hash": api.digest(text)})
        else:
            self._error(HTTPStatus.NOT_FOUND, "no such page")

    def _post(self, route: str) -> None:
        if route not in _POSTS:
            self._error(HTTPStatus.NOT_FOUND, "no such page")
            return
        payload = self._payload()
        file = self._file(payload["name"])
        text = payload["text"]
        verification = self.server.verification
        try:
            if route == "/api/check":
                body = _encoded(api.check(text, file.name, verification))
            elif route == "/api/examples":
                body = _encoded(api.run(text, file.name))
            else:  # saved: the answer must say so, a lone surrogate written as \uD800
                body = _encoded(_save(file, text, payload, verification), lenient=True)
        except ValueProblem as exc:  # the diagram cannot be drawn from this text
            raise Refused(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc)) from None
        except UnicodeEncodeError:
            raise Refused(HTTPStatus.UNPROCESSABLE_ENTITY, _not_unicode(text)) from None
        self._send(HTTPStatus.OK, body, "application/json; charset=utf-8")

    def _static(self, name: str) -> None:
        content_type = _STATIC.get(name)
        if content_type is None:
            self._error(HTTPStatus.NOT_FOUND, "no such file")
            return
        body = resources.files("zorgflow.serve").joinpath("static", name).read_bytes()
        self._send(HTTPStatus.OK, body, content_type)


def _encoded(payload: dict[str, Any], *, lenient: bool = False) -> bytes:
    """``payload`` as UTF-8 JSON. A lone surrogate raises `UnicodeEncodeError`, or with
    ``lenient`` is written as JSON's ``\\uD800`` escape."""
    return json.dumps(payload, ensure_ascii=False).encode(
        "utf-8", "backslashreplace" if lenient else "strict")


def _not_unicode(text: str) -> str:
    """What to say when the workflow in ``text`` holds a lone surrogate: `_NOT_UNICODE`, and
    where the first escape that makes one is."""
    found = _SURROGATE_ESCAPE.search(text)
    if found is None:
        return _NOT_UNICODE
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - text.rfind("\n", 0, found.start())
    return f"{_NOT_UNICODE} (see line {line}, column {column}: {found.group()})"


def _read_served(file: Path) -> str:
    try:
        return read_text(file)
    except OSError as exc:
        raise Refused(HTTPStatus.INTERNAL_SERVER_ERROR,
                      f"{file.name}: cannot be read ({exc.strerror})") from None


def _save(file: Path, text: str, payload: dict[str, Any],
          verification: Verification) -> dict[str, Any]:
    """Save through `api.save`: only with the ``base`` the page loaded (a save without one
    is refused, 428), a text with errors only with ``confirm_errors`` (else 422), and a
    conflict or a failure as an HTTP refusal."""
    base = payload.get("base")
    if base is None:
        raise Refused(HTTPStatus.PRECONDITION_REQUIRED,
                      f"{file.name}: a save needs \"base\", the hash /api/file gave when the "
                      "page loaded the file; load the file first, then save (without it a "
                      "save could overwrite changes made meanwhile)")
    if not isinstance(base, str):
        raise Refused(HTTPStatus.BAD_REQUEST, f"{file.name}: \"base\" must be the hash text "
                      "/api/file gave")
    confirmed = payload.get(api.CONFIRM, False)
    if not isinstance(confirmed, bool):
        raise Refused(HTTPStatus.BAD_REQUEST, f'{file.name}: "{api.CONFIRM}" must be true '
                      "(save a text with errors) or false")
    try:
        return api.save(file, text, base, verification, confirmed=confirmed)
    except SaveConflict as exc:
        raise Refused(HTTPStatus.CONFLICT, str(exc)) from None
    except OSError as exc:
        raise Refused(HTTPStatus.INTERNAL_SERVER_ERROR,
                      f"cannot save {file.name}: {exc.strerror}; the file on disk is "
                      "unchanged") from None


def lone_surrogate(value: object, where: str = "the request") -> str | None:
    """What is wrong where parsed JSON ``value`` holds a lone surrogate (text that is not
    valid Unicode and cannot be written as UTF-8), or None when it holds none."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            line = value.count("\n", 0, exc.start) + 1
            column = exc.start - value.rfind("\n", 0, exc.start)
            return (f"the request is not valid Unicode: {where} holds U+"
                    f"{ord(value[exc.start]):04X} at line {line}, column {column}, half of a "
                    "surrogate pair on its own; remove it (in JSON a \\uD800-\\uDBFF escape "
                    "must be followed by a \\uDC00-\\uDFFF one)")
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            inside = repr(key) if where == "the request" else f"{where}[{key!r}]"
            found = lone_surrogate(key, f"a key in {where}") or lone_surrogate(item, inside)
            if found:
                return found
    if isinstance(value, list):
        return next((p for p in (lone_surrogate(v, where) for v in value) if p), None)
    return None


def make_server(path: str | Path, host: str = "127.0.0.1", port: int = 0,
                log: TextIO | None = None, *, allow_hosts: Iterable[str] = (),
                request_timeout: float = REQUEST_TIMEOUT,
                verify_limits: VerifyLimits | None = None) -> WorkflowServer:
    """A server for the workflow file (or folder of files) ``path``; ``port=0`` picks a free
    port. It answers to the loopback names, ``host`` when that is one address (not
    ``0.0.0.0`` or ``::``), and the ``allow_hosts`` names; a client gets ``request_timeout``
    seconds to send a request; ``verify_limits`` bounds the verification of each text checked
    or saved (default `VerifyLimits()`). Call ``serve_forever()`` on it (and ``shutdown()``
    from another thread to stop). Raises `UsageError` for a path that cannot be served or a
    bad name, `OSError` when the address is taken."""
    files = served_files(Path(path))
    names = check_names(allow_hosts)
    return WorkflowServer((host, port), files, log, allow_hosts=names,
                          request_timeout=request_timeout, verify_limits=verify_limits)


def serve(path: str | Path, host: str = "127.0.0.1", port: int = 8765,
          out: TextIO | None = None, *, allow_hosts: Iterable[str] = ()) -> int:
    """Serve ``path`` until Ctrl+C; the ``zorgflow serve`` command. Returns the exit status."""
    out = out or sys.stdout
    try:
        server = make_server(path, host, port, log=sys.stderr, allow_hosts=allow_hosts)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port} ({exc.strerror}); "
                         "try another --port (0 picks a free one)") from None
    if host not in LOOPBACK:
        print(f"warning: listening on {host}: anyone who can reach this address can read "
              "and save the files served; there is no login. Requests must name this server "
              f"as one of: {', '.join(sorted(server.hosts))} (add names with --allow-host)",
              file=sys.stderr)
    names = ", ".join(server.files)
    print(f"zorgflow serve: {names} on {server.url} (Ctrl+C to stop)", file=out, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=out)
    finally:
        server.server_close()
    return 0
