"""``zorgflow serve``: the JSON API over real HTTP, and the page in a real headless Chromium."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import chromium, png_pixels, require_tool
from zorgflow.serve import WorkflowServer, make_server

REPO = Path(__file__).resolve().parent.parent
LZN = (REPO / "workflows" / "lzn.yaml").read_text(encoding="utf-8")
AFSLUITEN_BY = ('    by: [lzn_coordinator]\n    source: >-\n      Werkwijze LZN, Afsluiten casus: '
                '“Een casus kan worden afgesloten wanneer: …”, punt 4: “Na\n')
BROKEN = LZN.replace(AFSLUITEN_BY, AFSLUITEN_BY.replace("lzn_coordinator", "lzn_coordinatr"))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[WorkflowServer, Path]]:
    folder = tmp_path / "werkwijzen"
    folder.mkdir()
    file = folder / "lzn.yaml"
    file.write_text(LZN, encoding="utf-8")
    server = make_server(folder, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, file
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def call(server: WorkflowServer, path: str, body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(server.url.rstrip("/") + path, data=data)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def broken_line() -> int:
    assert LZN.count(AFSLUITEN_BY) == 1
    return LZN.count("\n", 0, LZN.index(AFSLUITEN_BY)) + 1


# -- the JSON API ----------------------------------------------------------------------------


def test_binds_to_loopback_by_default(served: tuple[WorkflowServer, Path]) -> None:
    server, _ = served
    assert server.server_address[0] == "127.0.0.1"
    assert server.url.startswith("http://127.0.0.1:")


def test_reads_checks_and_runs_without_writing(served: tuple[WorkflowServer, Path]) -> None:
    server, file = served
    assert call(server, "/api/files") == (200, {"files": ["lzn.yaml"]})
    status, opened = call(server, "/api/file?name=lzn.yaml")
    assert status == 200 and opened["text"] == LZN and len(opened["hash"]) == 64
    status, answer = call(server, "/api/check", {"name": "lzn.yaml", "text": BROKEN})
    assert status == 200 and answer["ok"] is False
    assert [(p["line"], p["column"]) for p in answer["problems"]] == [(broken_line(), 10)]
    assert answer["problems"][0]["message"] == \
        "unknown role 'lzn_coordinatr' — did you mean 'lzn_coordinator'?"
    status, answer = call(server, "/api/examples", {"name": "lzn.yaml", "text": LZN})
    assert status == 200 and answer["ok"] is True and answer["failed"] == 0
    assert answer["passed"] == len(answer["results"]) > 5
    wrong = LZN.replace("expect: {state: niet_passend}}", "expect: {state: afgesloten}}", 1)
    status, answer = call(server, "/api/examples", {"name": "lzn.yaml", "text": wrong})
    assert answer["failed"] == 1
    assert "expected the case in state 'afgesloten'" in next(
        r["message"] for r in answer["results"] if not r["passed"])
    assert file.read_text(encoding="utf-8") == LZN  # nothing written without Save


def test_check_draws_the_diagram(served: tuple[WorkflowServer, Path]) -> None:
    require_tool("dot", "apt install graphviz")
    server, _ = served
    status, answer = call(server, "/api/check", {"name": "lzn.yaml", "text": LZN})
    assert status == 200 and answer["ok"] is True
    assert answer["svg"].startswith("<svg") and "Ketenpartners raadplegen" in answer["svg"]


def test_save_writes_only_the_served_file(served: tuple[WorkflowServer, Path]) -> None:
    server, file = served
    _, opened = call(server, "/api/file?name=lzn.yaml")
    edited = LZN.replace("label: Afgesloten\n", "label: Afgesloten en gearchiveerd\n")
    status, answer = call(server, "/api/save", {"name": "lzn.yaml", "text": edited,
                                                "base": opened["hash"]})
    assert status == 200 and answer["saved"] is True and answer["problems"] == []
    assert file.read_text(encoding="utf-8") == edited
    # a second save from the old page: the file changed on disk since it loaded
    status, answer = call(server, "/api/save", {"name": "lzn.yaml", "text": LZN,
                                                "base": opened["hash"]})
    assert status == 409 and "changed on disk" in answer["error"]
    for name in ("../lzn.yaml", "andere.yaml", str(file)):
        assert call(server, "/api/save", {"name": name, "text": "x"})[0] == 404
    assert sorted(p.name for p in file.parent.iterdir()) == ["lzn.yaml"]
    assert file.read_text(encoding="utf-8") == edited


def test_refuses_other_sites_and_non_json(served: tuple[WorkflowServer, Path]) -> None:
    server, file = served
    body = {"name": "lzn.yaml", "text": "gewist"}
    assert call(server, "/api/save", body, {"Origin": "http://evil.example"})[0] == 403
    assert call(server, "/api/files", headers={"Host": "evil.example"})[0] == 403
    request = urllib.request.Request(server.url + "api/save", data=b"name=lzn.yaml&text=x",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 415
    assert call(server, "/api/nergens", body)[0] == 404
    assert call(server, "/static/../../etc/passwd")[0] == 404
    assert file.read_text(encoding="utf-8") == LZN


def test_serve_command_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zorgflow.cli import main

    assert main(["serve", str(tmp_path / "nergens.yaml")]) == 2
    assert main(["serve", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no such file or folder" in err and "no *.yaml files" in err


# -- the page in a real browser --------------------------------------------------------------


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Headless Chromium (skipped without it); the page draws its diagram with Graphviz."""
    require_tool("dot", "apt install graphviz")
    yield from chromium(tmp_path, monkeypatch)


def test_page_in_chromium(served: tuple[WorkflowServer, Path], browser: Any,
                          tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server, file = served
    wait = WebDriverWait(browser, 30)
    browser.get(server.url)

    # the diagram renders: an SVG of sensible size, on a screenshot that is not blank
    svg = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#diagram svg"))[0]
    size = svg.size
    assert size["width"] > 300 and size["height"] > 300, size
    assert "Geagendeerd voor het LZN-overleg" in svg.get_attribute("textContent")
    shot = tmp_path / "serve.png"
    assert browser.save_screenshot(str(shot))
    width, height, rows = png_pixels(shot.read_bytes())
    assert (width, height) == (1400, 1000) or width >= 1000
    colours = {row[i:i + 3] for row in rows[::5] for i in range(0, len(row), 15 * 3)}
    assert len(colours) > 20, "the screenshot is (nearly) uniform"
    diagram_pixels = svg.screenshot_as_png
    _, _, diagram_rows = png_pixels(diagram_pixels)
    assert len({r[i:i + 3] for r in diagram_rows[::4] for i in range(0, len(r), 24)}) > 5

    def edit(text: str) -> None:
        browser.execute_script(
            "const e = document.getElementById('editor'); e.value = arguments[0];"
            "e.dispatchEvent(new Event('input'));", text)

    # a mistake shows at its line, in the list and in the gutter; the diagram greys out
    edit(BROKEN)
    item = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#problems li"))[0]
    assert item.get_attribute("data-line") == str(broken_line())
    assert f"regel {broken_line()}, kolom 10: unknown role 'lzn_coordinatr'" in item.text
    marked = browser.find_elements(By.CSS_SELECTOR, "#gutter .err")
    assert [m.get_attribute("textContent") for m in marked] == [str(broken_line())]
    assert "stale" in browser.find_element(By.ID, "diagram").get_attribute("class")
    item.click()
    caret = browser.execute_script("return document.getElementById('editor').selectionStart")
    assert BROKEN[:caret].count("\n") + 1 == broken_line()

    # fixed, with a new label: the problems go, the diagram shows the new label
    edited = LZN.replace("label: Afgesloten\n", "label: Afgesloten en gearchiveerd\n")
    edit(edited)
    # read in the page: the diagram is replaced as the checks come in, so an element found a
    # moment earlier may be gone (StaleElementReferenceException)
    wait.until(lambda d: "Afgesloten en gearchiveerd" in d.execute_script(
        "const svg = document.querySelector('#diagram svg');"
        "return svg ? svg.textContent : '';"))
    assert browser.find_elements(By.CSS_SELECTOR, "#problems li") == []
    assert file.read_text(encoding="utf-8") == LZN  # not saved yet

    # the examples run with one click
    browser.find_element(By.ID, "run").click()
    summary = wait.until(lambda d: d.find_elements(By.ID, "results-summary"))[0]
    assert summary.text.endswith("geslaagd, 0 mislukt") and not summary.text.startswith("0 ")

    # Save writes the edited text to the served file
    browser.find_element(By.ID, "save").click()
    wait.until(lambda d: d.find_element(By.ID, "status").text == "opgeslagen")
    assert file.read_text(encoding="utf-8") == edited
