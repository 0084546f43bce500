// zorgflow serve: edit a workflow, see its problems at their line and its diagram, live.
// Talks only to this server's JSON API; nothing is saved until the user presses Opslaan.
"use strict";

const $ = (id) => document.getElementById(id);
const editor = $("editor"), gutter = $("gutter"), problemsList = $("problems");
const diagram = $("diagram"), note = $("diagram-note"), statusLine = $("status");
let current = { name: "", base: "", saved: "" };
let checkSeq = 0, timer = 0, errorLines = new Map();

async function request(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

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

function showProblems(problems) {
  errorLines = new Map();
  const items = problems.map((p) => {
    const li = document.createElement("li");
    li.dataset.line = String(p.line);
    li.textContent = p.line ? `regel ${p.line}, kolom ${p.column}: ${p.message}` : p.message;
    li.addEventListener("click", () => goToLine(p.line, p.column));
    if (p.line) errorLines.set(p.line, (errorLines.get(p.line) ? errorLines.get(p.line) + "\n" : "") + p.message);
    return li;
  });
  problemsList.replaceChildren(...items);
  renderGutter();
}

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
  $("summary").textContent = answer.ok ? answer.summary : "";
  if (answer.ok) {
    if (answer.svg) { showDiagram(answer.svg); note.textContent = ""; }
    else if (answer.diagram_error) note.textContent = answer.diagram_error;
    setStatus(dirty() ? "geldig, niet opgeslagen" : "geldig", dirty() ? "dirty" : "ok");
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

async function save() {
  try {
    const answer = await request("/api/save", { name: current.name, text: editor.value, base: current.base });
    current.base = answer.hash;
    current.saved = editor.value;
    $("save").disabled = true;
    const n = answer.problems.length;
    setStatus(n ? `opgeslagen (met ${n} ${n === 1 ? "fout" : "fouten"})` : "opgeslagen", n ? "error" : "ok");
  } catch (error) {
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
    if ((event.ctrlKey || event.metaKey) && event.key === "s") { event.preventDefault(); save(); }
  });
  $("run").addEventListener("click", runExamples);
  $("save").addEventListener("click", save);
  window.addEventListener("beforeunload", (event) => { if (dirty()) event.preventDefault(); });
  await open(files[0]);
}

start().catch((error) => setStatus(`fout: ${error.message}`, "error"));
