// shared by the student's and the lecturer's pages (no framework, no build step)
"use strict";
const ROOM = decodeURIComponent(location.pathname.split("/")[2] || "").toUpperCase();
const POLL_MS = 1000;

function el(id) { return document.getElementById(id); }
function m(x) { return (x / 1e6).toLocaleString("en", { minimumFractionDigits: 1, maximumFractionDigits: 1 }); }
function pct(x) { return (x * 100).toFixed(x * 100 % 1 ? 1 : 0) + "%"; }
function goalValue(goal, row) { return goal === "brand_value" ? row.brand_value.toFixed(2) : m(row[goal]); }
function goalHeader(goal, label) { return goal === "brand_value" ? label : label + " (RMB m)"; }
function termText(t, v) {
  if (t.name === "commission_rate") return pct(v) + " of GMV";
  if (t.name === "base_fee") return "RMB " + Math.round(v).toLocaleString("en") + " / month";
  if (t.name === "contract_weeks") return v + " weeks";
  return String(Math.round(v * 100) / 100);
}
function ranBy(r) {  // who ran the store at the round's end (-1: the brand itself)
  const end = r.agency < 0 ? "in-house" : "agency " + r.agency;
  return r.in_house_weeks > 0 && r.agency >= 0 ? end + " (" + r.in_house_weeks + " wk in-house)" : end;
}
function stateText(s) {
  if (s.error) return "The market could not be run (" + s.error + "): tell your lecturer";
  if (s.state === "lobby") return "Waiting for the lecturer to open round 1";
  if (s.state === "deciding") {
    const t = s.seconds_left == null ? "" : " · " + Math.ceil(s.seconds_left) + " s left";
    return "Round " + s.round + " of " + s.max_rounds + ": choose your contract" + t + " (" + s.ready + "/" + s.students + " ready)";
  }
  if (s.computing) return "The market is running round " + s.played + "…";
  if (s.state === "results") return "Round " + s.played + " of " + s.max_rounds + " done: results below";
  return "Game over: the debrief is on the projector; your results are below";
}
async function api(path, opts) {
  const r = await fetch("/api/" + encodeURIComponent(ROOM) + path, opts);
  let data = {};
  try { data = await r.json(); } catch (e) { data = { error: "unreadable answer (" + r.status + ")" }; }
  return { ok: r.ok, status: r.status, data };
}
function fillLeaderboard(s, myBrand) {
  const body = el("leaderboard").tBodies[0];
  body.textContent = "";
  el("board-goal").textContent = s.goal_label;
  el("board-col").textContent = goalHeader(s.goal, s.goal_label);
  for (const b of s.leaderboard) {
    const tr = body.insertRow();
    tr.dataset.brand = b.brand;
    if (b.brand === myBrand) tr.className = "me";
    for (const v of [b.rank, b.name, goalValue(s.goal, b)]) tr.insertCell().textContent = v;
  }
}
