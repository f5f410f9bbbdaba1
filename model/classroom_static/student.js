"use strict";
const KEY = "agency-sim:" + ROOM;
let token = localStorage.getItem(KEY);
let formKey = null;     // the round and locks the form was drawn for
let dirty = false;      // the student moved a slider since the last save
let state = null;
let replaysShown = false;

async function showReplays() {
  const r = await api("/debrief", { headers: { "X-Token": token } });
  if (!r.ok || r.data.computing || replaysShown) return;
  replaysShown = true;
  const d = r.data, body = el("replays").tBodies[0];
  const labels = { class: "your class", low: "everyone " + pct(d.low_commission), high: "everyone " + pct(d.high_commission) };
  for (const k of ["class", "low", "high"]) {
    const tr = body.insertRow();
    tr.dataset.replay = k;
    for (const v of [labels[k], m(d.replays[k].gmv), m(d.replays[k].profit), d.replays[k].brand_value_index.toFixed(2)]) tr.insertCell().textContent = v;
  }
  el("replays-card").hidden = false;
}

el("room-label").textContent = "· room " + ROOM;

function showJoin(message) {
  el("join").hidden = false; el("game").hidden = true;
  if (message) el("join-error").textContent = message;
}

el("join-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = { name: el("join-name").value, pin: el("join-pin").value || null, token: token };
  const r = await api("/join", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!r.ok) { el("join-error").textContent = r.data.error; return; }
  el("join-error").textContent = "";
  token = r.data.token;
  localStorage.setItem(KEY, token);
  el("join").hidden = true;
  poll();
});

function drawForm(s) {
  const box = el("terms");
  box.textContent = "";
  for (const t of s.terms) {
    const v = s.contract[t.name];
    const label = document.createElement("label");
    label.className = "term";
    label.htmlFor = "term-" + t.name;
    const name = document.createElement("span");
    name.textContent = t.label;
    const shown = document.createElement("span");
    shown.className = "term-value";
    shown.id = "value-" + t.name;
    shown.textContent = termText(t, v);
    label.append(name, shown);
    box.append(label);
    if (t.note) {
      const note = document.createElement("div");
      note.className = "muted term-note";
      note.textContent = t.note;
      box.append(note);
    }
    if (t.locked) {
      const lock = document.createElement("div");
      lock.className = "lock";
      lock.textContent = "set by the lecturer";
      box.append(lock);
      continue;
    }
    const input = document.createElement("input");
    input.type = "range"; input.id = "term-" + t.name; input.name = t.name;
    input.min = t.min; input.max = t.max; input.step = t.step; input.value = v;
    input.addEventListener("input", () => { dirty = true; shown.textContent = termText(t, Number(input.value)); });
    input.addEventListener("change", () => save(null));
    box.append(input);
  }
}

function chosenTerms() {
  const out = {};
  for (const input of el("terms").querySelectorAll("input[type=range]")) out[input.name] = Number(input.value);
  return out;
}

async function save(ready) {
  const body = { terms: chosenTerms() };
  if (ready !== null) body.ready = ready;
  const r = await api("/choice", { method: "POST", headers: { "Content-Type": "application/json", "X-Token": token }, body: JSON.stringify(body) });
  el("error").textContent = r.ok ? "" : r.data.error;
  if (r.ok) dirty = false;
  poll();
}

el("contract").addEventListener("submit", (ev) => {
  ev.preventDefault();
  save(!(state && state.me.ready));
});

function render(s) {
  state = s;
  el("join").hidden = true; el("game").hidden = false;
  el("me-name").textContent = s.me.name;
  el("me-brand").textContent = s.me.brand;
  el("me-pin").textContent = s.me.pin;
  el("status").textContent = stateText(s);
  el("goal").textContent = "Goal of this game: the highest " + s.goal_label + ".";
  const shock = el("shock");
  shock.hidden = !(s.state === "deciding" && s.shock !== "none");
  shock.textContent = "Market news for this round: " + s.shock_text;
  const deciding = s.state === "deciding";
  el("contract").hidden = !deciding;
  if (deciding) {
    el("round-no").textContent = s.round;
    const key = s.round + "|" + s.terms.map((t) => t.locked).join();
    if (key !== formKey) { formKey = key; drawForm(s); }
    const b = el("ready-btn");
    b.textContent = s.me.ready ? "Ready ✓ (tap to change)" : "Ready";
    b.className = "big-button" + (s.me.ready ? " ready" : "");
    for (const input of el("terms").querySelectorAll("input")) input.disabled = s.me.ready;
  }
  const rows = s.results;
  el("results-card").hidden = rows.length === 0;
  const body = el("results").tBodies[0];
  body.textContent = "";
  for (const r of rows) {
    const tr = body.insertRow();
    tr.dataset.round = r.round; tr.dataset.agency = r.agency; tr.dataset.paid = r.effective_commission;
    for (const v of [r.round, pct(r.commission_rate), ranBy(r), pct(r.effective_commission), m(r.gmv), m(r.profit), r.brand_value_index.toFixed(2)]) tr.insertCell().textContent = v;
  }
  if (s.state === "debrief" && !replaysShown) showReplays();
  el("board-card").hidden = s.leaderboard.length === 0;
  if (s.leaderboard.length) fillLeaderboard(s, s.me.brand);
}

let timer = null;
async function poll() {
  clearTimeout(timer);
  if (!token) { showJoin(); return; }
  try {
    const r = await api("/me", { headers: { "X-Token": token } });
    if (r.status === 403 || r.status === 404) { localStorage.removeItem(KEY); token = null; showJoin(r.data.error); return; }
    if (r.ok) render(r.data);
  } catch (e) {
    el("error").textContent = "no connection to the game; retrying…";
  }
  timer = setTimeout(poll, POLL_MS);
}
poll();
