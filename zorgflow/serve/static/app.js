// zorgflow serve: edit a workflow, see its problems at their line and its diagram, live.
// Talks only to this server's JSON API; nothing is saved until the user presses Opslaan.
// Every check also runs verify (bounded); a text with errors is saved only after the user
// confirms it (the save is sent again with "confirm_errors": true).
"use strict";

const $ = (id) => document.getElementById(id);
const editor = $("editor"), gutter = $("gutter"), problemsList = $("problems");
const findingsList = $("findings"), verifyNote = $("verify-note");
const diagram = $("diagram"), note = $("diagram-note"), statusLine = $("status");
let current = { name: "", base: "", saved: "" };
let checkSeq = 0, timer = 0, errorLines = new Map(), warningLines = new Map();
// the check under way when a save last answered: that check's answer must not overwrite the
// save's status line ("opgeslagen …", "niet opgeslagen …"), which is newer news
let savedAtCheck = 0;

// A refused request: its HTTP status and the JSON answer (a problem-details body for a save
// with errors not confirmed) travel with the message.
class Refusal extends Error {
  constructor(status, data) {
    super(data.error || `HTTP ${status}`);
    this.status = status;
    this.data = data;
  }
}

async function request(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) throw new Refusal(response.status, data);
  return data;
}

function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }

function setStatus(text, kind) {
  statusLine.textContent = text;
  statusLine.className = kind || "";
}

function dirty() { return editor.value !== current.saved; }

function updateDirty() {
  $("save").disabled = !dirty();
  if (dirty()) setStatus("niet opgeslagen", "dirty");
}

function renderGutter() {
  const count = editor.value.split("\n").length;
  const lines = [];
  for (let n = 1; n <= count; n++) {
    const span = document.createElement("span");
    span.textContent = String(n);
    if (errorLines.has(n)) { span.className = "err"; span.title = errorLines.get(n); }
    else if (warningLines.has(n)) { span.className = "warn"; span.title = warningLines.get(n); }
    lines.push(span, document.createTextNode("\n"));
  }
  gutter.replaceChildren(...lines);
  gutter.scrollTop = editor.scrollTop;
}

function goToLine(line, column) {
  const lines = editor.value.split("\n");
  let offset = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length); i++) offset += lines[i].length + 1;
  offset += Math.max(0, (column || 1) - 1);
  editor.focus();
  editor.setSelectionRange(offset, offset);
  const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 20;
  editor.scrollTop = Math.max(0, (line - 5) * lineHeight);
}

function mark(lines, line, message) {
  if (line) lines.set(line, (lines.get(line) ? lines.get(line) + "\n" : "") + message);
}

function showProblems(problems) {
  errorLines = new Map();
  const items = problems.map((p) => {
    const li = document.createElement("li");
    li.dataset.line = String(p.line);
    li.textContent = p.line ? `regel ${p.line}, kolom ${p.column}: ${p.message}` : p.message;
    li.addEventListener("click", () => goToLine(p.line, p.column));
    mark(errorLines, p.line, p.message);
    return li;
  });
  problemsList.replaceChildren(...items);
  renderGutter();
}

// What verify found: errors first, then warnings; each with its line when the server found
// one (a finding is about a state, event, rule set or invariant, not a position).
function showFindings(findings, verify) {
  warningLines = new Map();
  const sorted = [...findings].sort((a, b) => (a.severity === "error" ? 0 : 1) - (b.severity === "error" ? 0 : 1));
  const items = sorted.map((f) => {
    const li = document.createElement("li");
    li.className = f.severity;
    li.dataset.severity = f.severity;
    li.dataset.kind = f.kind;
    if (f.line) li.dataset.line = String(f.line);
    const where = f.line ? `regel ${f.line}: ` : "";
    const path = f.path && f.path.length ? ` (kortste pad: start → ${f.path.join(" → ")})` : "";
    li.textContent = `${f.severity === "error" ? "fout" : "waarschuwing"} · ${f.kind}: ${where}${f.message}${path}`;
    if (f.line) li.addEventListener("click", () => goToLine(f.line, f.column));
    if (f.severity === "error") mark(errorLines, f.line, f.message);
    else mark(warningLines, f.line, f.message);
    return li;
  });
  findingsList.replaceChildren(...items);
  const status = verify ? verify.status : "not_run";
  verifyNote.textContent = status === "complete" || status === "not_run" ? "" : verify.note;
  verifyNote.className = status;
  renderGutter();
}

function verifyErrors(answer) { return answer.verify ? answer.verify.errors : 0; }

function showDiagram(svgText) {
  const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
  const svg = doc.documentElement;
  if (svg.nodeName !== "svg") return;
  diagram.replaceChildren(document.importNode(svg, true));
  diagram.classList.remove("stale");
}

async function check() {
  const seq = ++checkSeq;
  let answer;
  try {
    answer = await request("/api/check", { name: current.name, text: editor.value });
  } catch (error) {
    setStatus(`fout: ${error.message}`, "error");
    return;
  }
  if (seq !== checkSeq) return;  // a newer check is on its way
  showProblems(answer.problems);
  showFindings(answer.findings || [], answer.verify);
  $("summary").textContent = answer.ok ? answer.summary : "";
  if (answer.ok) {
    if (answer.svg) { showDiagram(answer.svg); note.textContent = ""; }
    else if (answer.diagram_error) note.textContent = answer.diagram_error;
    const found = verifyErrors(answer), unsaved = dirty() ? ", niet opgeslagen" : "";
    if (seq <= savedAtCheck) return;
    if (found) setStatus(`verify: ${plural(found, "fout", "fouten")}${unsaved}`, "error");
    else setStatus(`geldig${unsaved}`, dirty() ? "dirty" : "ok");
  } else {
    diagram.classList.add("stale");
    const n = answer.problems.length;
    setStatus(`${n} ${n === 1 ? "fout" : "fouten"}`, "error");
  }
  $("save").disabled = !dirty();
}

function scheduleCheck() {
  clearTimeout(timer);
  updateDirty();
  renderGutter();
  timer = setTimeout(check, 300);
}

async function runExamples() {
  const box = $("results");
  box.textContent = "voorbeelden lopen…";
  let answer;
  try {
    answer = await request("/api/examples", { name: current.name, text: editor.value });
  } catch (error) {
    box.textContent = `fout: ${error.message}`;
    return;
  }
  if (answer.problems.length) {
    showProblems(answer.problems);
    box.textContent = "Eerst de fouten oplossen.";
    return;
  }
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const title of ["", "Voorbeeld", "Uitkomst"]) {
    const th = document.createElement("th"); th.textContent = title; head.appendChild(th);
  }
  const body = table.createTBody();
  for (const r of answer.results) {
    const row = body.insertRow();
    row.className = r.passed ? "pass" : "fail";
    row.insertCell().textContent = r.passed ? "✔" : "✘";
    row.insertCell().textContent = r.name;
    const pre = document.createElement("pre");
    pre.textContent = r.passed ? "geslaagd" : r.message;
    row.insertCell().appendChild(pre);
  }
  const summary = document.createElement("p");
  summary.id = "results-summary";
  summary.textContent = `${answer.passed} geslaagd, ${answer.failed} mislukt`;
  box.replaceChildren(summary, table);
}

// The question asked before a text with errors is saved: how many, and the first few.
function confirmQuestion(refusal) {
  const listed = [
    ...(refusal.problems || []).map((p) => (p.line ? `regel ${p.line}: ${p.message}` : p.message)),
    ...(refusal.findings || []).filter((f) => f.severity === "error").map((f) => `${f.kind}: ${f.message}`),
  ];
  const shown = listed.slice(0, 5).map((m) => `• ${m.length > 160 ? m.slice(0, 157) + "…" : m}`);
  if (listed.length > shown.length) shown.push(`… en nog ${listed.length - shown.length}`);
  return `${current.name} heeft ${plural(refusal.errors, "fout", "fouten")} ` +
    `(${refusal.load_errors} bij het laden, ${refusal.verify_errors} uit verify):\n\n` +
    `${shown.join("\n")}\n\nToch opslaan?`;
}

// Save; a text with errors is refused (422 with "confirm_with"), then saved only when the
// user confirms, by sending it again with "confirm_errors": true.
async function save(confirmed = false) {
  const body = { name: current.name, text: editor.value, base: current.base };
  if (confirmed === true) body.confirm_errors = true;
  try {
    const answer = await request("/api/save", body).finally(() => { savedAtCheck = checkSeq; });
    current.base = answer.hash;
    current.saved = editor.value;
    $("save").disabled = true;
    const n = answer.errors ?? answer.problems.length;
    setStatus(n ? `opgeslagen (met ${plural(n, "fout", "fouten")})` : "opgeslagen", n ? "error" : "ok");
  } catch (error) {
    const refusal = error instanceof Refusal ? error.data : null;
    if (refusal && error.status === 422 && refusal.confirm_with === "confirm_errors" && confirmed !== true) {
      if (confirm(confirmQuestion(refusal))) return save(true);
      setStatus(`niet opgeslagen: ${plural(refusal.errors, "fout", "fouten")}`, "error");
      return;
    }
    setStatus(`niet opgeslagen: ${error.message}`, "error");
  }
}

async function open(name) {
  const file = await request(`/api/file?name=${encodeURIComponent(name)}`);
  current = { name: file.name, base: file.hash, saved: file.text };
  editor.value = file.text;
  $("results").replaceChildren();
  renderGutter();
  await check();
}

async function start() {
  const { files } = await request("/api/files");
  const select = $("file");
  for (const name of files) {
    const option = document.createElement("option");
    option.value = name; option.textContent = name;
    select.appendChild(option);
  }
  select.addEventListener("change", async () => {
    if (dirty() && !confirm("Wijzigingen zijn niet opgeslagen. Toch een ander bestand openen?")) {
      select.value = current.name;
      return;
    }
    await open(select.value);
  });
  editor.addEventListener("input", scheduleCheck);
  editor.addEventListener("scroll", () => { gutter.scrollTop = editor.scrollTop; });
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Tab") {  // two spaces, as YAML wants
      event.preventDefault();
      editor.setRangeText("  ", editor.selectionStart, editor.selectionEnd, "end");
      scheduleCheck();
    }
    if ((event.ctrlKey || event.metaKey) && event.key === "s") { event.preventDefault(); save(false); }
  });
  $("run").addEventListener("click", runExamples);
  $("save").addEventListener("click", () => save(false));
  window.addEventListener("beforeunload", (event) => { if (dirty()) event.preventDefault(); });
  await open(files[0]);
}

start().catch((error) => setStatus(`fout: ${error.message}`, "error"));
