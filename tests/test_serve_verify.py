"""``zorgflow serve`` verifies as you type, and saves a text with errors only when confirmed.

Over real HTTP against a server started as ``zorgflow serve`` starts it (``make_server``):
``/api/check`` answers verify's findings beside the load problems, bounded and a few at a time
(busy: skipped, not waited for); ``/api/save`` refuses a text with load or verify errors (422,
a problem-details body) unless the request says ``"confirm_errors": true``; warnings never
stop a save. And the page asks before it confirms (the static page, and a real Chromium).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Start, chromium, sha
from zorgflow.serve import WorkflowServer, verifying
from zorgflow.serve.verifying import VerifyLimits

#: one element a verify warning is about (a gap in a ``unique`` table), and nothing wrong
WARNINGS_ONLY = """\
id: mini
version: 1
label: Mini
assumption: a test workflow
start_by: [medewerker]
roles:
  medewerker: {label: Medewerker, assumption: test}
facts:
  soort: {type: enum, values: [a, b, c], label: Soort, assumption: test}
  akkoord: {type: boolean, label: Akkoord, assumption: test}
rules:
  route:
    kind: table
    hit_policy: unique
    label: Route
    assumption: test
    inputs:
      soort: {type: enum, values: [a, b, c], from: soort, label: Soort}
    outputs: [team]
    rows:
      - {id: eerste, assumption: test, when: {soort: a}, then: {team: een}}
      - {id: tweede, assumption: test, when: {soort: b}, then: {team: twee}}
states:
  open: {label: Open, initial: true, assumption: test}
  klaar: {label: Klaar, final: true, assumption: test}
transitions:
  - event: afronden
    label: Afronden
    from: open
    to: klaar
    by: [medewerker]
    assumption: test
"""

#: the same, but 'wacht' is a dead end: the only way out has a guard that is never true
WITH_ERRORS = WARNINGS_ONLY.replace("""\
  klaar: {label: Klaar, final: true, assumption: test}
transitions:
  - event: afronden
    label: Afronden
    from: open
    to: klaar
""", """\
  wacht: {label: Wacht, assumption: test}
  klaar: {label: Klaar, final: true, assumption: test}
transitions:
  - event: doorzetten
    label: Doorzetten
    from: open
    to: wacht
    by: [medewerker]
    assumption: test
  - event: afronden
    label: Afronden
    from: wacht
    to: klaar
    when: akkoord and not akkoord
""")
#: a text that does not load
NOT_LOADING = "id: mini\nversion: [\n"

Answer = tuple[int, dict[str, Any], dict[str, str]]



def line_of(text: str, fragment: str) -> int:
    """The line ``fragment`` starts on (it must occur once)."""
    assert text.count(fragment) == 1, fragment
    return text.count("\n", 0, text.index(fragment)) + 1


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder to serve: fout.yaml (verify errors and a warning), goed.yaml (a warning)."""
    served = tmp_path / "werkwijzen"
    served.mkdir()
    (served / "fout.yaml").write_text(WITH_ERRORS, encoding="utf-8")
    (served / "goed.yaml").write_text(WARNINGS_ONLY, encoding="utf-8")
    return served


def call(server: WorkflowServer, path: str, body: Any = None) -> Answer:
    """One request, as the page sends it: status, JSON answer, headers (lower-case names)."""
    port = int(server.server_address[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Host": f"127.0.0.1:{port}", "Origin": f"http://127.0.0.1:{port}"}
    data = None if body is None else json.dumps(body).encode("utf-8")
    if data is not None:
        headers["Content-Type"] = "application/json"
    try:
        connection.request("GET" if data is None else "POST", path, body=data, headers=headers)
        response = connection.getresponse()
        return (response.status, json.loads(response.read()),
                {k.lower(): v for k, v in response.getheaders()})
    finally:
        connection.close()


def check(server: WorkflowServer, text: str, name: str = "fout.yaml") -> dict[str, Any]:
    status, answer, _ = call(server, "/api/check", {"name": name, "text": text})
    assert status == 200, answer
    return answer


def save(server: WorkflowServer, text: str, name: str = "fout.yaml", **more: Any) -> Answer:
    """Save ``text`` over ``name``, from the text on disk now (as a page that loaded it)."""
    _, opened, _ = call(server, f"/api/file?name={name}")
    return call(server, "/api/save", {"name": name, "text": text, "base": opened["hash"],
                                      **more})


def only(findings: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matching = [f for f in findings if f["kind"] == kind]
    assert len(matching) == 1, (kind, findings)
    return matching[0]


# -- /api/check: findings beside the problems -----------------------------------------------


def test_check_answers_verify_findings_with_their_lines(folder: Path, start: Start) -> None:
    server = start(folder)
    answer = check(server, WITH_ERRORS)
    assert answer["ok"] is True and answer["problems"] == []
    findings = answer["findings"]
    for finding in findings:  # what a finding says, and never its witness (facts, data)
        assert set(finding) == {"severity", "kind", "message", "path", "line", "column"}
        assert finding["severity"] in ("error", "warning")
    dead_end = only(findings, "dead end")
    assert dead_end["severity"] == "error" and "'wacht'" in dead_end["message"]
    assert dead_end["line"] == line_of(WITH_ERRORS, "  wacht:")
    assert dead_end["path"] == ["doorzetten"]
    never = only(findings, "event never fires")
    assert never["line"] == line_of(WITH_ERRORS, "  - event: afronden") + 0
    gap = only(findings, "table gap")
    assert gap["severity"] == "warning" and gap["line"] == line_of(WITH_ERRORS, "  route:")
    verify = answer["verify"]
    assert verify["status"] == "complete" and verify["cut_off"] is False
    assert verify["stopped"] == "" and verify["states"] >= 2
    assert verify["errors"] == sum(f["severity"] == "error" for f in findings) >= 2
    assert verify["warnings"] == len(findings) - verify["errors"] >= 1
    assert (verify["max_states"], verify["time_limit"]) == (20_000, 2.0)


def test_a_text_that_does_not_load_is_not_verified(folder: Path, start: Start) -> None:
    server = start(folder)
    answer = check(server, NOT_LOADING)
    assert answer["ok"] is False and answer["problems"]
    assert answer["findings"] == [] and answer["verify"]["status"] == "not_run"
    assert "loads without errors" in answer["verify"]["note"]


def test_a_cut_off_verify_says_so(folder: Path, start: Start) -> None:
    server = start(folder, verify_limits=VerifyLimits(max_states=1))
    answer = check(server, WITH_ERRORS)
    verify = answer["verify"]
    assert verify["status"] == "cut_off" and verify["cut_off"] is True
    assert "abstract states" in verify["stopped"] and verify["max_states"] == 1
    assert "cut off" in verify["note"] and "incomplete" in verify["note"]
    assert only(answer["findings"], "search cut off")["severity"] == "warning"


def chain(length: int) -> str:
    """A workflow of ``length`` states one after the other: that many abstract states."""
    states = "\n".join(f"  s{i}: {{label: S{i}{', initial: true' if i == 0 else ''}"
                       f"{', final: true' if i == length - 1 else ''}}}" for i in range(length))
    steps = "\n".join(f"  - {{event: stap{i}, label: Stap {i}, from: s{i}, to: s{i + 1}, "
                      "by: [medewerker]}" for i in range(length - 1))
    return ("id: keten\nversion: 1\nlabel: Keten\nstart_by: [medewerker]\nroles:\n"
            f"  medewerker: {{label: Medewerker}}\nstates:\n{states}\ntransitions:\n{steps}\n")


def test_a_time_limit_cut_off_says_so(folder: Path, start: Start) -> None:
    server = start(folder, verify_limits=VerifyLimits(time_limit=1e-6))
    verify = check(server, chain(1500))["verify"]
    assert verify["status"] == "cut_off" and "time limit" in verify["stopped"]
    assert 0 < verify["states"] < 1500 and "1e-06 s" in verify["note"]


# -- bounded: never more than `slots` verifications, a busy server skips -------------------


@pytest.fixture
def slow_verify(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Make verify wait until ``release`` is set; count how many run at once."""
    real = verifying.verify
    state: dict[str, Any] = {"release": threading.Event(), "entered": threading.Event(),
                             "running": 0, "most": 0, "calls": 0}
    lock = threading.Lock()

    def waiting(*args: Any, **kwargs: Any) -> Any:
        with lock:
            state["running"] += 1
            state["calls"] += 1
            state["most"] = max(state["most"], state["running"])
        state["entered"].set()
        try:
            assert state["release"].wait(timeout=30)
            return real(*args, **kwargs)
        finally:
            with lock:
                state["running"] -= 1

    monkeypatch.setattr(verifying, "verify", waiting)
    yield state
    state["release"].set()


def test_a_busy_verify_is_skipped_and_blocks_nothing(folder: Path, start: Start,
                                                     slow_verify: dict[str, Any]) -> None:
    server = start(folder, verify_limits=VerifyLimits(slots=1, save_wait=0.3))
    first: list[dict[str, Any]] = []
    typing_ = threading.Thread(target=lambda: first.append(check(server, WITH_ERRORS)))
    typing_.start()
    assert slow_verify["entered"].wait(timeout=30)

    began = time.monotonic()
    assert call(server, "/api/files")[0] == 200  # the server answers meanwhile
    answer = check(server, WARNINGS_ONLY + "# een toets verder\n", "goed.yaml")
    assert answer["ok"] is True and answer["findings"] == []
    assert answer["verify"]["status"] == "skipped"
    assert "skipped" in answer["verify"]["note"] and "next change" in answer["verify"]["note"]
    assert time.monotonic() - began < 5, "a check waited for the busy verify"

    # a save may not skip it: it waits save_wait seconds for a slot, then 503
    status, refused, headers = save(server, WARNINGS_ONLY + "# bewaard\n", "goed.yaml")
    assert status == 503 and refused["type"] == "urn:zorgflow:serve:verify-busy"
    assert refused["status"] == 503 and "try again" in refused["error"]
    assert int(headers["retry-after"]) >= 1 and refused["retry_after"] >= 1
    assert (folder / "goed.yaml").read_text(encoding="utf-8") == WARNINGS_ONLY
    # confirmed, it does not wait for verify
    status, saved, _ = save(server, WARNINGS_ONLY + "# bewaard\n", "goed.yaml",
                            confirm_errors=True)
    assert status == 200 and saved["saved"] is True and saved["verify"]["status"] == "skipped"

    slow_verify["release"].set()
    typing_.join(timeout=30)
    assert first[0]["verify"]["status"] == "complete"
    assert slow_verify["most"] == 1


def test_at_most_slots_verifications_at_once(folder: Path, start: Start,
                                             slow_verify: dict[str, Any]) -> None:
    server = start(folder, verify_limits=VerifyLimits(slots=2))
    answers: list[dict[str, Any]] = []

    def keystroke(n: int) -> None:
        answers.append(check(server, f"{WITH_ERRORS}# toets {n}\n"))

    typists = [threading.Thread(target=keystroke, args=(n,)) for n in range(6)]
    for typist in typists:
        typist.start()
    deadline = time.monotonic() + 30
    while len(answers) < 4 and time.monotonic() < deadline:  # 4 skipped, 2 verifying
        time.sleep(0.02)
    slow_verify["release"].set()
    for typist in typists:
        typist.join(timeout=30)
    statuses = sorted(a["verify"]["status"] for a in answers)
    assert statuses == ["complete"] * 2 + ["skipped"] * 4, statuses
    assert slow_verify["most"] == 2


def test_a_save_after_a_check_does_not_verify_again(folder: Path, start: Start,
                                                    slow_verify: dict[str, Any]) -> None:
    slow_verify["release"].set()
    server = start(folder)
    text = WARNINGS_ONLY + "# bewerkt\n"
    check(server, text, "goed.yaml")
    status, saved, _ = save(server, text, "goed.yaml")
    assert status == 200 and saved["verify"]["status"] == "complete"
    assert slow_verify["calls"] == 1


# -- /api/save: errors only when confirmed, warnings never stop it --------------------------


def test_a_save_with_verify_errors_needs_confirmation(folder: Path, start: Start) -> None:
    server = start(folder)
    file = folder / "fout.yaml"
    edited = WITH_ERRORS + "# bewerkt\n"
    status, refused, headers = save(server, edited)
    assert status == 422, refused
    assert headers["content-type"].startswith("application/json")
    errors = sum(f["severity"] == "error" for f in refused["findings"])
    assert refused["type"] == "urn:zorgflow:serve:unconfirmed-errors"
    assert refused["title"] == "the text has errors" and refused["status"] == 422
    assert refused["errors"] == refused["verify_errors"] == errors >= 2
    assert refused["load_errors"] == 0 and refused["problems"] == []
    assert refused["warnings"] >= 1 and refused["confirm_with"] == "confirm_errors"
    assert refused["error"] == refused["detail"]
    assert f"has {errors} errors ({errors} verify errors)" in refused["detail"]
    assert '"confirm_errors": true' in refused["detail"]
    assert file.read_text(encoding="utf-8") == WITH_ERRORS

    status, saved, _ = save(server, edited, confirm_errors=True)
    assert status == 200 and saved["saved"] is True and saved["errors"] == errors
    assert saved["hash"] == sha(edited) and saved["verify"]["errors"] == errors
    assert file.read_text(encoding="utf-8") == edited


def test_a_save_with_load_errors_needs_confirmation(folder: Path, start: Start) -> None:
    server = start(folder)
    file = folder / "fout.yaml"
    status, refused, _ = save(server, NOT_LOADING)
    assert status == 422 and refused["load_errors"] == len(refused["problems"]) == 1
    assert refused["verify_errors"] == 0 and refused["verify"]["status"] == "not_run"
    assert "(1 load error)" in refused["detail"]
    assert file.read_text(encoding="utf-8") == WITH_ERRORS
    for flag in ("yes", 1, None):  # only true confirms (false and absent: not confirmed)
        status, answer, _ = save(server, NOT_LOADING, confirm_errors=flag)
        assert status == 400 and "confirm_errors" in answer["error"], (flag, answer)
    assert save(server, NOT_LOADING, confirm_errors=False)[0] == 422
    assert file.read_text(encoding="utf-8") == WITH_ERRORS
    status, saved, _ = save(server, NOT_LOADING, confirm_errors=True)
    assert status == 200 and saved["saved"] is True and saved["errors"] == 1
    assert file.read_text(encoding="utf-8") == NOT_LOADING


def test_warnings_never_stop_a_save(folder: Path, start: Start) -> None:
    server = start(folder)
    edited = WARNINGS_ONLY + "# bewerkt\n"
    status, saved, _ = save(server, edited, "goed.yaml")
    assert status == 200 and saved["saved"] is True and saved["errors"] == 0
    assert only(saved["findings"], "table gap")["severity"] == "warning"
    assert saved["verify"]["status"] == "complete" and saved["verify"]["errors"] == 0
    assert (folder / "goed.yaml").read_text(encoding="utf-8") == edited


def test_a_cut_off_verify_does_not_stop_a_save(folder: Path, start: Start) -> None:
    """Cut off before it found an error: its warning says so, and the save goes ahead."""
    server = start(folder, verify_limits=VerifyLimits(max_states=1))
    status, saved, _ = save(server, WITH_ERRORS + "# bewerkt\n")
    assert status == 200 and saved["verify"]["status"] == "cut_off"
    assert saved["verify"]["errors"] == 0
    assert only(saved["findings"], "search cut off")["severity"] == "warning"


def test_the_old_refusals_come_first(folder: Path, start: Start) -> None:
    """No base: 428; the file changed on disk: 409, even for a text with errors (confirming
    them would not help); a file not served: 404."""
    server = start(folder)
    file = folder / "fout.yaml"
    body = {"name": "fout.yaml", "text": NOT_LOADING}
    assert call(server, "/api/save", body)[0] == 428
    status, answer, _ = call(server, "/api/save", {**body, "base": sha("anders")})
    assert status == 409 and "changed on disk" in answer["error"]
    assert call(server, "/api/save", {**body, "name": "elders.yaml", "base": sha("x")})[0] \
        == 404
    assert file.read_text(encoding="utf-8") == WITH_ERRORS


# -- the page ------------------------------------------------------------------------------


def test_the_page_shows_findings_and_asks_before_saving_errors(folder: Path,
                                                               start: Start) -> None:
    server = start(folder)
    port = int(server.server_address[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    pages = {}
    for name in ("/", "/static/app.js", "/static/style.css"):
        connection.request("GET", name, headers={"Host": f"127.0.0.1:{port}"})
        pages[name] = connection.getresponse().read().decode("utf-8")
    connection.close()
    assert 'id="findings"' in pages["/"] and 'id="verify-note"' in pages["/"]
    script = pages["/static/app.js"]
    for piece in ("answer.findings", "showFindings(", 'refusal.confirm_with === "confirm_errors"',
                  "error.status === 422", "confirm(confirmQuestion(refusal))",
                  "body.confirm_errors = true", "return save(true)", "refusal.errors",
                  '() => save(false)'):
        assert piece in script, piece
    assert "#findings li.warning" in pages["/static/style.css"]


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Headless Chromium (skipped without it)."""
    yield from chromium(tmp_path, monkeypatch)


def test_confirm_flow_in_chromium(folder: Path, start: Start, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    (folder / "goed.yaml").unlink()  # one file: the page opens fout.yaml
    server = start(folder)
    wait = WebDriverWait(browser, 30)
    browser.get(server.url)
    item = wait.until(lambda d: d.find_elements(
        By.CSS_SELECTOR, "#findings li[data-kind='dead end']"))[0]
    assert item.get_attribute("data-severity") == "error"
    assert item.get_attribute("data-line") == str(line_of(WITH_ERRORS, "  wacht:"))
    assert browser.find_elements(By.CSS_SELECTOR, "#findings li.warning")
    assert "verify:" in browser.find_element(By.ID, "status").text

    edited = WITH_ERRORS + "# bewerkt\n"
    browser.execute_script(
        "const e = document.getElementById('editor'); e.value = arguments[0];"
        "e.dispatchEvent(new Event('input'));", edited)
    wait.until(lambda d: not d.find_element(By.ID, "save").get_attribute("disabled"))
    # as a user would, save once the check of the edited text has answered (its answer
    # would otherwise replace the save's status line)
    wait.until(lambda d: d.find_element(By.ID, "status").text
               .endswith(", niet opgeslagen"))

    browser.find_element(By.ID, "save").click()  # asked; no: not saved
    alert = wait.until(expected_conditions.alert_is_present())
    assert "fouten" in alert.text and "Toch opslaan?" in alert.text
    alert.dismiss()
    wait.until(lambda d: d.find_element(By.ID, "status").text.startswith("niet opgeslagen"))
    assert (folder / "fout.yaml").read_text(encoding="utf-8") == WITH_ERRORS

    browser.find_element(By.ID, "save").click()  # asked; yes: saved with the flag
    wait.until(expected_conditions.alert_is_present()).accept()
    wait.until(lambda d: d.find_element(By.ID, "status").text.startswith("opgeslagen (met "))
    assert (folder / "fout.yaml").read_text(encoding="utf-8") == edited
