"""Shared test helpers: tools some tests need (Graphviz, Chromium, PostgreSQL), the store back
ends the store tests run against, `zorgflow serve` instances and a headless browser, and a
tiny PNG reader."""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from zorgflow.serve import WorkflowServer, make_server

#: starts a `zorgflow serve` instance on a folder (fixture `start`)
Start = Callable[..., WorkflowServer]

POSTGRES_DSN_VARIABLE = "ZORGFLOW_TEST_POSTGRES_DSN"

# Properties are checked here, speed in bench/: no example fails for being slow, which it may
# be on a busy machine or beside another test worker (pytest-xdist). On top of the profile in
# force: Hypothesis loads its own "ci" profile (no deadline either) whenever CI is set at all
settings.register_profile("zorgflow", settings.default, deadline=None)
settings.load_profile("zorgflow")


def in_ci() -> bool:
    """CI must prove what a developer's machine may skip."""
    return os.environ.get("CI", "").lower() == "true"


def require_tool(name: str, install: str) -> str:
    """The path of the program ``name``; skip the test when it is missing, except under
    ``CI=true``, where a missing tool fails the test (CI must prove these tests)."""
    path = shutil.which(name)
    if path is None:
        reason = f"'{name}' is not installed ({install})"
        if in_ci():
            pytest.fail(f"{reason}; CI=true, so this test must run")
        pytest.skip(reason)
    return path


def postgres_dsn() -> str:
    """The DSN of the test PostgreSQL, or skip (fail under CI) saying how to get one."""
    dsn = os.environ.get(POSTGRES_DSN_VARIABLE)
    if dsn:
        return dsn
    why = (f"no PostgreSQL for the store tests: set {POSTGRES_DSN_VARIABLE} "
           "(`export ZORGFLOW_TEST_POSTGRES_DSN=$(.ci/postgres)` starts one)")
    if in_ci():
        pytest.fail(why)
    pytest.skip(why)


class Backend:
    """Opens stores of one back end on one fresh database (a file, or a PostgreSQL schema)."""

    def __init__(self, name: str, tmp_path: Path) -> None:
        self.name = name
        self.path = tmp_path / "cases.db"
        self.schema = "t_" + uuid.uuid4().hex[:12]
        self.dsn = postgres_dsn() if name == "postgres" else ""
        self.stores: list = []

    def open(self, engine, **options):
        from zorgflow.store import PostgresStore, SQLiteStore

        if self.name == "sqlite":
            store = SQLiteStore(self.path, engine, **options)
        else:
            store = PostgresStore(self.dsn, engine, schema=self.schema, **options)
        self.stores.append(store)
        return store

    def spec(self) -> tuple[str, str, str]:
        """What a worker process needs to open the same store."""
        return self.name, str(self.path) if self.name == "sqlite" else self.dsn, self.schema

    def cleanup(self) -> None:
        for store in self.stores:
            store.close()
        if self.name == "postgres":
            import psycopg

            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each store test runs against SQLite and against PostgreSQL."""
    chosen = Backend(request.param, tmp_path)
    yield chosen
    chosen.cleanup()


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows of pixels (RGB or RGBA, 8 bit, not interlaced) of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, "unexpected PNG kind"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def sha(text: str) -> str:
    """The SHA-256 of a text, as `zorgflow serve` names a file's version (``base``)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture
def start() -> Iterator[Start]:
    """Start servers the way ``zorgflow serve`` does (``make_server``); stop them after."""
    running: list[tuple[WorkflowServer, threading.Thread]] = []

    def starter(path: Path, **options: Any) -> WorkflowServer:
        server = make_server(path, port=0, **options)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((server, thread))
        return server

    yield starter
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A headless Chromium driven by Selenium (skipped without it, failed under CI), quit
    after use; for a fixture to ``yield from``."""
    binary = require_tool("chromium", "apt install chromium")
    driver_path = require_tool("chromedriver", "apt install chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # never let Selenium fetch a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'chromium-profiel'}", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        yield driver
    finally:
        driver.quit()


#: the environment variable naming the folder of the Dutch government standards (ZGW,
#: Selectielijst, LDV); default: ``shared/standards`` beside the repository
STANDARDS_VARIABLE = "ZORGFLOW_STANDARDS"


@pytest.fixture(scope="session")
def standards() -> Path:
    """The folder of the published standards the ZGW tests validate against (never copied
    into the repository); the test is skipped, saying where it looked, when it is absent."""
    raw = os.environ.get(STANDARDS_VARIABLE)
    folder = Path(raw) if raw else Path(__file__).resolve().parent.parent.parent / "shared" \
        / "standards"
    if not (folder / "zgw" / "catalogi-openapi.yaml").is_file():
        pytest.skip(f"the standards folder is absent ({folder} has no "
                    f"zgw/catalogi-openapi.yaml): set {STANDARDS_VARIABLE} to the folder that "
                    "holds zgw/, selectielijst/ and referentielijsten/")
    return folder
