"""``zorgflow serve`` under attack (issue 17, finding 5), over real HTTP.

A foreign ``Host`` is refused whatever address the server listens on; no file outside the
folder served is read or written, through a symbolic link or otherwise; saves are whole,
conditional and one at a time; a slow client cannot pin a thread; text that is not valid
Unicode is refused before it reaches a file or Graphviz, and Graphviz is stopped when it takes
too long.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import socket
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Start, sha
from zorgflow.serve import WorkflowServer, make_server

REPO = Path(__file__).resolve().parent.parent
LZN = (REPO / "workflows" / "lzn.yaml").read_text(encoding="utf-8")
SECRET = "geheim: dit bestand ligt buiten de map\n"

Answer = tuple[int, dict[str, Any]]



@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder to serve holding lzn.yaml, beside a file that must never be touched."""
    served = tmp_path / "werkwijzen"
    served.mkdir()
    (served / "lzn.yaml").write_text(LZN, encoding="utf-8")
    (tmp_path / "buiten.yaml").write_text(SECRET, encoding="utf-8")
    return served


def port_of(server: WorkflowServer) -> int:
    return int(server.server_address[1])


def call(server: WorkflowServer, path: str, body: Any = None, *, host: str | None = None,
         headers: dict[str, str] | None = None, address: str = "127.0.0.1",
         raw: bytes | None = None) -> Answer:
    """One request to ``server`` at ``address``, naming it ``host`` (default: as the browser
    would for ``server.url``)."""
    connection = http.client.HTTPConnection(address, port_of(server), timeout=60)
    sent = {"Host": host or f"127.0.0.1:{port_of(server)}", **(headers or {})}
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    if data is not None:
        sent.setdefault("Content-Type", "application/json")
    try:
        connection.request("POST" if data is not None else "GET", path, body=data,
                           headers=sent)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def opened(server: WorkflowServer, name: str = "lzn.yaml") -> dict[str, Any]:
    status, answer = call(server, f"/api/file?name={name}")
    assert status == 200, answer
    return answer


def raw_exchange(server: WorkflowServer, request: bytes) -> bytes:
    """Send ``request`` bytes as they are, then everything the server answers until it closes
    (a 30 s guard against a server that never does)."""
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=30) as sock:
        if request:
            sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


# -- 1. Host and Origin, whatever the address listened on ----------------------------------


def test_every_address_refuses_a_foreign_host(folder: Path, start: Start) -> None:
    server = start(folder, host="0.0.0.0")
    port = port_of(server)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert call(server, "/api/files", host=host) == (200, {"files": ["lzn.yaml"]})
    # DNS rebinding: the attacker's name now points at this computer
    for host in (f"rebind.evil.example:{port}", "rebind.evil.example", f"0.0.0.0.evil:{port}"):
        status, answer = call(server, "/api/files", host=host)
        assert status == 403, (host, answer)
        assert "--allow-host" in answer["error"] and repr(host.lower()) in answer["error"]
        assert call(server, "/", host=host)[0] == 403
    evil = f"rebind.evil.example:{port}"
    body = {"name": "lzn.yaml", "text": "gewist", "base": sha(LZN)}
    assert call(server, "/api/save", body, host=evil,
                headers={"Origin": f"http://{evil}"})[0] == 403
    status, answer = call(server, "/api/save", body, headers={"Origin": "http://evil.example"})
    assert status == 403 and "another site" in answer["error"]
    assert (folder / "lzn.yaml").read_text(encoding="utf-8") == LZN
    assert server.url == f"http://127.0.0.1:{port}/"  # the address to open, not 0.0.0.0


def test_a_specific_address_and_allow_host_names_are_answered(folder: Path,
                                                              start: Start) -> None:
    server = start(folder, host="127.0.0.2")
    port = port_of(server)
    assert call(server, "/api/files", host=f"127.0.0.2:{port}", address="127.0.0.2")[0] == 200
    assert call(server, "/api/files", host=f"evil.example:{port}", address="127.0.0.2")[0] \
        == 403

    server = start(folder, host="0.0.0.0", allow_hosts=["Werkplek.example"])
    port = port_of(server)
    name = f"werkplek.example:{port}"
    assert call(server, "/api/files", host=name)[0] == 200
    body = {"name": "lzn.yaml", "text": LZN + "# bewerkt\n", "base": sha(LZN)}
    assert call(server, "/api/save", body, host=name,
                headers={"Origin": f"http://{name}"})[0] == 200
    assert call(server, "/api/files", host=f"evil.example:{port}")[0] == 403


def test_allow_host_takes_host_names_only(folder: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from zorgflow.cli import main

    assert main(["serve", str(folder), "--port", "0", "--allow-host", "http://x.example/"]) == 2
    err = capsys.readouterr().err
    assert "--allow-host 'http://x.example/'" in err and "without http://" in err
    assert "Traceback" not in err


# -- 2. symbolic links and the folder's bounds ---------------------------------------------


def test_links_in_the_folder_are_not_listed_read_or_saved(folder: Path, start: Start) -> None:
    outside = folder.parent / "buiten.yaml"
    (folder / "link.yml").symlink_to(outside)
    (folder / "map.yaml").mkdir()
    server = start(folder)
    assert call(server, "/api/files") == (200, {"files": ["lzn.yaml"]})
    status, answer = call(server, "/api/file?name=link.yml")
    assert status == 404 and SECRET not in json.dumps(answer)
    body = {"name": "link.yml", "text": "overschreven", "base": sha(SECRET)}
    assert call(server, "/api/save", body)[0] == 404
    assert call(server, "/api/file?name=map.yaml")[0] == 404
    assert outside.read_text(encoding="utf-8") == SECRET


def test_a_file_replaced_by_a_link_after_start_is_refused(folder: Path, start: Start) -> None:
    outside = folder.parent / "buiten.yaml"
    server = start(folder)
    base = opened(server)["hash"]
    file = folder / "lzn.yaml"
    file.unlink()
    file.symlink_to(outside)
    status, answer = call(server, "/api/file?name=lzn.yaml")
    assert status == 403 and "symbolic link" in answer["error"]
    assert SECRET not in json.dumps(answer)
    for base_given in (base, sha(SECRET)):
        body = {"name": "lzn.yaml", "text": "overschreven", "base": base_given}
        status, answer = call(server, "/api/save", body)
        assert status == 403 and "symbolic link" in answer["error"]
    assert call(server, "/api/files") == (200, {"files": []})
    assert outside.read_text(encoding="utf-8") == SECRET
    assert file.is_symlink()


def test_a_folder_moved_away_and_linked_elsewhere_is_refused(folder: Path,
                                                             start: Start) -> None:
    elsewhere = folder.parent / "elders"
    elsewhere.mkdir()
    (elsewhere / "lzn.yaml").write_text(SECRET, encoding="utf-8")
    server = start(folder)
    folder.rename(folder.parent / "oud")
    folder.symlink_to(elsewhere)
    status, answer = call(server, "/api/file?name=lzn.yaml")
    assert status == 403 and "resolves elsewhere" in answer["error"]
    body = {"name": "lzn.yaml", "text": "overschreven", "base": sha(SECRET)}
    assert call(server, "/api/save", body)[0] == 403
    assert (elsewhere / "lzn.yaml").read_text(encoding="utf-8") == SECRET


def test_serving_a_link_is_a_usage_error(folder: Path) -> None:
    from zorgflow.errors import UsageError

    link = folder / "link.yaml"
    link.symlink_to(folder.parent / "buiten.yaml")
    with pytest.raises(UsageError, match="symbolic link"):
        make_server(link, port=0)
    only_links = folder.parent / "alleen-links"
    only_links.mkdir()
    (only_links / "a.yaml").symlink_to(folder / "lzn.yaml")
    with pytest.raises(UsageError, match="symbolic links"):
        make_server(only_links, port=0)


# -- 3. saves: conditional, whole, one at a time -------------------------------------------


def test_a_save_needs_the_base_it_was_loaded_from(folder: Path, start: Start) -> None:
    server = start(folder)
    status, answer = call(server, "/api/save", {"name": "lzn.yaml", "text": "gewist"})
    assert status == 428 and '"base"' in answer["error"] and "/api/file" in answer["error"]
    status, answer = call(server, "/api/save", {"name": "lzn.yaml", "text": "gewist",
                                                "base": 12})
    assert status == 400
    assert (folder / "lzn.yaml").read_text(encoding="utf-8") == LZN


def test_saves_from_one_base_exclusive_and_whole(folder: Path, start: Start) -> None:
    file = folder / "lzn.yaml"
    file.chmod(0o640)
    server = start(folder)
    written = {LZN}
    stop = threading.Event()
    seen: list[str] = []

    def read_along() -> None:
        while not stop.is_set():
            text = file.read_text(encoding="utf-8")
            if text not in written:
                seen.append(text)

    for round_ in range(20):
        base = opened(server)["hash"]
        texts = [f"{LZN}# ronde {round_}, schrijver {w}\n" for w in range(4)]
        written.update(texts)
        if round_ == 0:
            reader = threading.Thread(target=read_along, daemon=True)
            reader.start()
        gate = threading.Barrier(len(texts))
        answers: dict[str, int] = {}

        def save(text: str, gate: threading.Barrier = gate,
                 answers: dict[str, int] = answers, base: str = base) -> None:
            gate.wait(timeout=30)
            answers[text] = call(server, "/api/save", {"name": "lzn.yaml", "text": text,
                                                       "base": base})[0]

        savers = [threading.Thread(target=save, args=(t,)) for t in texts]
        for saver in savers:
            saver.start()
        for saver in savers:
            saver.join(timeout=60)
        winners = [t for t, status in answers.items() if status == 200]
        assert len(winners) == 1 and sorted(answers.values()) == [200, 409, 409, 409], answers
        assert file.read_text(encoding="utf-8") == winners[0]
    stop.set()
    reader.join(timeout=30)
    assert seen == [], f"a reader saw {len(seen)} texts never saved (half-written)"
    assert stat.S_IMODE(file.stat().st_mode) == 0o640
    assert sorted(p.name for p in folder.iterdir()) == ["lzn.yaml"]


def test_a_save_that_fails_leaves_the_file_whole(folder: Path, start: Start,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    server = start(folder)
    base = opened(server)["hash"]

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    status, answer = call(server, "/api/save", {"name": "lzn.yaml", "text": "half",
                                                "base": base, "confirm_errors": True})
    assert status == 500 and "unchanged" in answer["error"], answer
    assert (folder / "lzn.yaml").read_text(encoding="utf-8") == LZN
    assert sorted(p.name for p in folder.iterdir()) == ["lzn.yaml"]


# -- 4. slow clients and large bodies --------------------------------------------------------


def test_a_short_body_does_not_pin_a_thread(folder: Path, start: Start) -> None:
    server = start(folder, request_timeout=0.5)
    head = (f"POST /api/check HTTP/1.1\r\nHost: 127.0.0.1:{port_of(server)}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n").encode()
    answer = raw_exchange(server, head + b'{"name": "')
    assert answer.startswith(b"HTTP/1.0 408 "), answer[:200]
    assert b"did not arrive within 0.5 s" in answer
    assert raw_exchange(server, b"") == b""  # silent: closed, not kept
    assert call(server, "/api/files")[0] == 200


def test_large_or_unmeasured_bodies_are_refused(folder: Path, start: Start) -> None:
    server = start(folder)
    head = (f"POST /api/check HTTP/1.1\r\nHost: 127.0.0.1:{port_of(server)}\r\n"
            "Content-Type: application/json\r\n")
    answer = raw_exchange(server, (head + "Content-Length: 1000000000\r\n\r\n").encode())
    assert answer.startswith(b"HTTP/1.0 413 ") and b"at most 4,000,000" in answer, answer
    answer = raw_exchange(server, (head + "\r\n").encode())
    assert answer.startswith(b"HTTP/1.0 411 ") and b"Content-Length" in answer, answer
    big = {"name": "lzn.yaml", "text": "#" * 1_000_001}
    status, answer = call(server, "/api/check", big)
    assert status == 413 and "at most 1,000,000 are accepted" in answer["error"]


# -- 5. text that is not Unicode; Graphviz bounded -------------------------------------------


@pytest.fixture
def fake_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``dot`` first on PATH that writes its process id to the returned file, then hangs."""
    pytest.importorskip("graphviz")
    programs = tmp_path / "programmas"
    programs.mkdir()
    started = tmp_path / "dot.pid"
    dot = programs / "dot"
    dot.write_text(f"#!/bin/sh\necho $$ > '{started}'\nexec sleep 60\n", encoding="utf-8")
    dot.chmod(0o755)
    monkeypatch.setenv("PATH", f"{programs}{os.pathsep}{os.environ.get('PATH', '')}")
    return started


def test_a_lone_surrogate_in_the_request_is_refused(folder: Path, start: Start,
                                                    fake_dot: Path) -> None:
    server = start(folder)
    base = opened(server)["hash"]
    text = LZN.replace("label: Afgesloten\n", "label: Afgesloten\ud800\n")
    for route in ("/api/check", "/api/examples", "/api/save"):
        body = json.dumps({"name": "lzn.yaml", "text": text, "base": base}).encode()
        assert b"\\ud800" in body  # JSON's escape: valid JSON, not valid Unicode
        status, answer = call(server, route, raw=body)
        assert status == 400, (route, answer)
        assert "U+D800" in answer["error"] and "surrogate" in answer["error"]
        at = text.index("\ud800")
        line, column = text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)
        assert f"'text' holds U+D800 at line {line}, column {column}" in answer["error"]
    assert (folder / "lzn.yaml").read_text(encoding="utf-8") == LZN
    assert not fake_dot.exists()


def test_a_lone_surrogate_in_a_label_never_starts_dot(folder: Path, start: Start,
                                                      fake_dot: Path) -> None:
    server = start(folder)
    text = LZN.replace("label: Afgesloten\n", 'label: "Afgesloten\\ud800"\n')
    status, answer = call(server, "/api/check", {"name": "lzn.yaml", "text": text})
    assert status == 422, answer
    assert "Afgesloten\\ud800" in answer["error"] and "U+D800" in answer["error"]
    assert not fake_dot.exists(), "dot was started"
    # elsewhere in the workflow: refused where the answer would hold it, saved as written
    text = LZN.replace("actors:\n      scp:", 'actors:\n      "scp\\ud800":', 1)
    at = text.index("\\ud800")
    where = f"line {text.count(chr(10), 0, at) + 1}, column {at - text.rfind(chr(10), 0, at)}"
    for route in ("/api/check", "/api/examples"):
        status, answer = call(server, route, {"name": "lzn.yaml", "text": text})
        assert status == 422 and "not valid Unicode" in answer["error"], answer
        assert f"(see {where}: \\ud800)" in answer["error"]
    base = opened(server)["hash"]
    status, answer = call(server, "/api/save", {"name": "lzn.yaml", "text": text, "base": base,
                                                "confirm_errors": True})
    assert status == 200 and answer["saved"] is True and answer["problems"], answer
    assert (folder / "lzn.yaml").read_text(encoding="utf-8") == text
    assert not fake_dot.exists(), "dot was started"


def test_dot_is_stopped_after_its_timeout(folder: Path, start: Start, fake_dot: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from zorgflow.cli import main
    from zorgflow.render import dot

    monkeypatch.setattr(dot, "DOT_TIMEOUT", 0.5)
    server = start(folder)
    status, answer = call(server, "/api/check", {"name": "lzn.yaml", "text": LZN})
    assert status == 200 and answer["ok"] is True and "svg" not in answer
    assert "did not finish drawing within 0.5 s and was stopped" in answer["diagram_error"]
    assert_gone(int(fake_dot.read_text()))

    fake_dot.unlink()
    out = folder.parent / "lzn.svg"
    assert main(["diagram", str(folder / "lzn.yaml"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "did not finish drawing within 0.5 s" in err and "Traceback" not in err
    assert_gone(int(fake_dot.read_text()))


def assert_gone(pid: int) -> None:
    """The process ``pid`` was killed and reaped: no process, not even a zombie."""
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
