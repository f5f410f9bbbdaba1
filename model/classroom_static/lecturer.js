"use strict";
// the lecturer token comes in the link's #fragment (never sent to the server in a URL); it is
// kept for this tab only and taken out of the address bar, which the projector shows
const TKEY = "agency-sim-lecturer:" + ROOM;
if (location.hash.length > 1) {
  sessionStorage.setItem(TKEY, location.hash.slice(1));
  history.replaceState(null, "", location.pathname);
}
const LTOKEN = sessionStorage.getItem(TKEY) || "";
const HEADERS = { "Content-Type": "application/json", "X-Lecturer-Token": LTOKEN };
let showPins = false, drawn = false, debriefDone = false, last = null;

el("qr").src = "/api/" + encodeURIComponent(ROOM) + "/qr.svg";
el("pins-btn").addEventListener("click", () => { showPins = !showPins; el("pins-btn").textContent = showPins ? "hide PINs" : "show PINs"; if (last) render(last); });

async function control(action, extra) {
  const r = await api("/control", { method: "POST", headers: HEADERS, body: JSON.stringify({ action, ...extra }) });
  el("error").textContent = r.ok ? "" : r.data.error;
  if (r.ok) render(r.data);
}
function settings() {
  const locked = [...el("locks").querySelectorAll("input:checked")].map((i) => i.value);
  const out = { goal: el("goal").value, max_rounds: Number(el("rounds").value), next_shock: el("shock").value, locked };
  // an emptied timer box changes nothing (0 is "no timer"; the box shows the game's timer again)
  if (el("timer").value.trim() !== "") out.timer_s = Number(el("timer").value);
  return out;
}
for (const id of ["goal", "timer", "rounds", "shock"]) el(id).addEventListener("change", () => {
  const s = settings(); delete s.locked;
  control("configure", s);
});
el("open-btn").addEventListener("click", () => control("open_round", settings()));
el("close-btn").addEventListener("click", () => control("close_round"));
el("end-btn").addEventListener("click", () => control("end"));
el("csv-btn").addEventListener("click", async () => {
  const r = await fetch("/api/" + encodeURIComponent(ROOM) + "/debrief.csv", { headers: HEADERS });
  if (!r.ok) {  // (still computing, or the run failed: the server says which; never saved as a .csv)
    let message = "the table could not be downloaded (" + r.status + ")";
    try { message = (await r.json()).error || message; } catch (e) { /* not JSON */ }
    el("csv-error").textContent = message;
    return;
  }
  el("csv-error").textContent = "";
  const a = document.createElement("a");
  a.href = URL.createObjectURL(await r.blob());
  a.download = "agency-sim-" + ROOM + ".csv";
  a.click();
});

function drawControls(s) {
  for (const [k, v] of Object.entries(s.goals)) el("goal").add(new Option(v, k));
  for (const [k, v] of Object.entries(s.shocks)) el("shock").add(new Option(k === "none" ? "none" : k + ": " + v, k));
  for (const t of s.terms) {
    const l = document.createElement("label");
    l.className = "inline";
    const c = document.createElement("input");
    c.type = "checkbox"; c.value = t.name; c.checked = t.locked;
    c.addEventListener("change", () => control("configure", { locked: settings().locked }));
    l.append(c, t.label + " (" + termText(t, t.market) + ")");
    el("locks").append(l);
  }
  drawn = true;
}

function render(s) {
  last = s;
  if (!drawn) drawControls(s);
  el("room-code").textContent = s.room;
  el("join-url").textContent = s.join_url;
  el("status").textContent = stateText(s).replace("choose your contract", "students choose");
  el("goal-line").textContent = "Goal: " + s.goal_label + " · " + s.weeks_per_round + " weeks per round";
  el("note").hidden = !s.note; el("note").textContent = s.note || "";
  for (const [id, v] of [["goal", s.goal], ["timer", s.timer_s], ["rounds", s.max_rounds], ["shock", s.next_shock]])
    if (document.activeElement !== el(id)) el(id).value = v;
  for (const c of el("locks").querySelectorAll("input")) { c.checked = s.locked.includes(c.value); c.disabled = s.state === "deciding"; }
  el("open-btn").textContent = "Open round " + (s.played + 1);
  el("open-btn").disabled = !(s.state === "lobby" || s.state === "results");
  el("close-btn").disabled = s.state !== "deciding";
  el("end-btn").disabled = !s.can_end;
  el("end-btn").title = s.can_end ? "" : (s.state === "debrief" ? "the game is over" : "play at least one round first");
  el("count").textContent = s.roster.length + " of " + s.n_brands + " brands taken";
  const body = el("roster").tBodies[0];
  body.textContent = "";
  for (const st of s.roster) {
    const tr = body.insertRow();
    tr.dataset.brand = st.brand;
    const ready = s.state === "deciding" ? (st.ready ? "✓" : "…") : "";
    for (const v of [st.name, st.brand, pct(st.contract.commission_rate), ready, showPins ? st.pin : "••••"]) tr.insertCell().textContent = v;
    const cell = tr.insertCell();
    if (st.pin_locked) {  // too many wrong PINs: let the student (e.g. on a new phone) try again now
      const u = document.createElement("button");
      u.type = "button"; u.className = "secondary unlock"; u.textContent = "unlock PIN"; u.title = "let " + st.name + " type the PIN again now";
      u.addEventListener("click", () => control("unlock_pin", { brand: st.brand }));
      cell.append(u);
    }
    const x = document.createElement("button");
    x.type = "button"; x.className = "secondary remove"; x.textContent = "remove"; x.title = "take " + st.name + " out of the game";
    x.addEventListener("click", () => { if (confirm("Take " + st.name + " (brand " + st.brand + ") out of the game?")) control("remove", { brand: st.brand }); });
    cell.append(x);
  }
  if (s.leaderboard.length) fillLeaderboard(s, -1);
  el("debrief").hidden = s.state !== "debrief";
  if (s.state === "debrief" && !debriefDone) loadDebrief();
}

async function loadDebrief() {
  const r = await api("/debrief", { headers: HEADERS });
  if (!r.ok || r.data.computing) return;
  const d = r.data;
  el("chart-gmv").innerHTML = d.charts.gmv;          // SVG drawn by the server, names escaped there
  el("chart-value").innerHTML = d.charts.brand_value;
  el("chart-scatter").innerHTML = d.charts.scatter;
  const rep = el("replays").tBodies[0];
  rep.textContent = "";
  const labels = { class: "this class's contracts", low: "everyone on " + pct(d.low_commission), high: "everyone on " + pct(d.high_commission) };
  for (const k of ["class", "low", "high"]) {
    const tr = rep.insertRow();
    tr.dataset.replay = k;
    for (const v of [labels[k], m(d.replays[k].gmv), m(d.replays[k].profit), d.replays[k].brand_value_index.toFixed(3)]) tr.insertCell().textContent = v;
  }
  const body = el("debrief-table").tBodies[0];
  body.textContent = "";
  for (const row of d.rows) {
    const tr = body.insertRow();
    tr.dataset.brand = row.brand; tr.dataset.round = row.round;
    tr.dataset.gmv = row.gmv; tr.dataset.profit = row.profit; tr.dataset.brandValue = row.brand_value;
    tr.dataset.commission = row.commission_rate; tr.dataset.paid = row.effective_commission; tr.dataset.agency = row.agency;
    for (const v of [row.student, row.brand, row.round, pct(row.commission_rate), Math.round(row.base_fee).toLocaleString("en"),
      row.contract_weeks, row.evaluation_brand_weight, ranBy(row), pct(row.effective_commission), m(row.gmv), m(row.profit),
      row.brand_value_index.toFixed(2)]) tr.insertCell().textContent = v;
  }
  debriefDone = true;
  document.body.dataset.debrief = "ready";
}

let timer = null;
async function poll() {
  clearTimeout(timer);
  try {
    const r = await api("/lecturer", { headers: HEADERS });
    if (r.ok) render(r.data); else el("error").textContent = r.data.error;
  } catch (e) {
    el("error").textContent = "no connection to the server; retrying…";
  }
  timer = setTimeout(poll, POLL_MS);
}
poll();
