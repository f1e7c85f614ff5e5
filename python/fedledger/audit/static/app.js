// fedledger auditor dashboard: vanilla JS over the read-only /api (no external resources).
"use strict";

const view = document.getElementById("view");

async function api(path) {
  const r = await fetch("/api" + path);
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = JSON.stringify((await r.json()).detail); } catch (e) { /* keep statusText */ }
    throw new Error(`${r.status}: ${detail}`);
  }
  return r.json();
}

function esc(v) {
  return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
const short = (h) => (h ? `<span class="hash" title="${esc(h)}">${esc(h.slice(0, 10))}…${esc(h.slice(-6))}</span>` : "—");
const addr = (a) => `<a href="#/participant/${esc(a)}" class="hash" title="${esc(a)}">${esc(a.slice(0, 8))}…${esc(a.slice(-4))}</a>`;
const tokens = (v) => (v == null ? "—" : (Number(BigInt(v) / 10n ** 14n) / 1e4).toLocaleString());

function badge(verified, failed) {
  if (verified === true) return `<span class="badge ok" data-verified="ok">verified</span>`;
  if (verified === false) return `<span class="badge bad" data-verified="failed" title="${esc((failed || []).join(", "))}">failed: ${esc((failed || []).length)} check(s)</span>`;
  return `<span class="badge wait" data-verified="pending">pending</span>`;
}

const REASONS = { 1: "no unmask response", 2: "bad share" };
function slashTable(slashes, id) {
  // One row per ParticipantSlashed: round, account, reason, amount, where it went, evidence.
  const rows = slashes.map((s) => `<tr class="slash" data-account="${esc(s.account)}" data-reason="${s.reason_code}"><td><a href="#/round/${s.round}">#${s.round}</a></td><td>${addr(s.account)}</td>
    <td>${esc(REASONS[s.reason_code] || s.reason)} <span class="muted">(${s.reason_code})</span></td><td>${tokens(s.amount)}</td>
    <td>${/^0x0+$/.test(s.recipient) ? "burned" : addr(s.recipient)}</td><td>${short(s.evidence_hash)}</td></tr>`).join("");
  return `<table id="${id}"><thead><tr><th>Round</th><th>Account</th><th>Reason</th><th>Amount (FLR)</th><th>To</th><th>Evidence (reveal)</th></tr></thead>
  <tbody>${rows || '<tr><td colspan="6" class="muted">No slashes.</td></tr>'}</tbody></table>`;
}

function accuracyPlot(points) {
  // Inline SVG line plot; omitted entirely when the aggregator published no accuracy.
  if (!points.length) return "";
  const W = 560, H = 200, L = 44, B = 28, T = 10, R = 12;
  const xs = points.map((p) => p.round), ys = points.map((p) => p.accuracy);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const y0 = Math.max(0, Math.min(...ys) - 0.05), y1 = Math.min(1, Math.max(...ys) + 0.05);
  const px = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const py = (y) => H - B - ((y - y0) / (y1 - y0 || 1)) * (H - B - T);
  const path = points.map((p, i) => `${i ? "L" : "M"}${px(p.round).toFixed(1)},${py(p.accuracy).toFixed(1)}`).join(" ");
  const ticks = [y0, (y0 + y1) / 2, y1].map((y) => `<text x="${L - 6}" y="${py(y) + 4}" text-anchor="end" font-size="11">${(y * 100).toFixed(1)}%</text><line x1="${L}" x2="${W - R}" y1="${py(y)}" y2="${py(y)}" stroke="#eee"/>`).join("");
  const dots = points.map((p) => `<circle cx="${px(p.round)}" cy="${py(p.accuracy)}" r="3.5" fill="#0969da"><title>round ${p.round}: ${(p.accuracy * 100).toFixed(2)}%</title></circle><text x="${px(p.round)}" y="${H - 10}" text-anchor="middle" font-size="11">${p.round}</text>`).join("");
  return `<h2>Accuracy per round <span class="muted">(reported by aggregator)</span></h2>
  <div class="plot"><svg id="accuracy-plot" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="accuracy per round">
  ${ticks}<path d="${path}" fill="none" stroke="#0969da" stroke-width="2"/>${dots}</svg></div>`;
}

const DP_MODES = ["none", "record-level DP-SGD", "distributed DP"];

function privacyPanel(p) {
  if (!p.dp_mode && !p.epsilon_spent) return `<p class="muted" id="privacy-budget">Differential privacy: off (rounds make no DP claim).</p>`;
  const pct = p.epsilon_budget ? Math.min(100, (100 * p.epsilon_spent) / p.epsilon_budget) : 100;
  return `<div id="privacy-budget"><h2>Privacy budget <span class="muted">(${esc(DP_MODES[p.dp_mode] || p.dp_mode)}, enforced on chain)</span></h2>
  <div class="grid"><div><div class="kv"><span>ε spent</span><span id="epsilon-spent">${p.epsilon_spent.toFixed(3)}</span></div>
  <div class="kv"><span>ε remaining</span><span id="epsilon-remaining">${p.epsilon_remaining.toFixed(3)}</span></div>
  <div class="kv"><span>ε budget</span><span>${p.epsilon_budget.toFixed(3)}</span></div></div>
  <div><div class="kv"><span>ε per round (δ = ${p.delta.toExponential(1)})</span><span>${p.epsilon_per_round.toFixed(3)}</span></div>
  <div class="kv"><span>rounds left</span><span>${p.rounds_left ?? "—"}</span></div>
  <div class="kv"><span>noise multiplier / clip norm</span><span>${p.noise_multiplier} / ${p.clip_norm}</span></div></div></div>
  <div class="meter" role="meter" aria-valuenow="${pct.toFixed(1)}" aria-valuemin="0" aria-valuemax="100"><div style="width:${pct.toFixed(1)}%"></div></div></div>`;
}

async function renderRounds() {
  const [rounds, acc, priv] = await Promise.all([api("/rounds/?limit=200"), api("/metrics/accuracy"), api("/privacy")]);
  const rows = rounds.data.map((r) => `<tr data-round="${r.round}">
    <td><a href="#/round/${r.round}">#${r.round}</a></td><td>${esc(r.stage)}${r.failure_reason ? ` <span class="muted">(${esc(r.failure_reason)})</span>` : ""}</td>
    <td>${r.members}</td><td>${r.committed}</td><td>${r.survivors}</td><td>${short(r.new_model_hash)}</td>
    <td>${badge(r.verified, r.failed_checks)}</td></tr>`).join("");
  return `<h1>Rounds <span class="muted">(${rounds.count})</span></h1>
  <table id="rounds-table"><thead><tr><th>Round</th><th>Stage</th><th>Members</th><th>Committed</th><th>Survivors</th><th>New model</th><th>Verification</th></tr></thead>
  <tbody>${rows || `<tr><td colspan="7" class="muted">No rounds yet.</td></tr>`}</tbody></table>${privacyPanel(priv)}${accuracyPlot(acc.data)}`;
}

async function renderRound(id) {
  const r = await api(`/rounds/${id}`);
  const v = r.verification || (["finalized", "failed"].includes(r.stage) ? await api(`/rounds/${id}/verification`) : null);
  const members = r.roster.map((m) => `<tr><td>${addr(m.address)}</td><td>${esc(m.status)}</td><td>${esc(m.stage_dropped || "—")}</td><td>${m.committed ? "yes" : "no"}</td><td>${tokens(m.reward)}</td></tr>`).join("");
  const commits = r.commitments.map((c) => `<tr><td>${addr(c.participant)}</td><td>${short(c.masked_hash)}</td><td>${short(c.seed_commitment)}</td><td>${c.block_number}</td><td>${c.gas_used ?? "—"}</td></tr>`).join("");
  const checks = v ? v.checks.map((c) => `<tr class="${c.passed ? "check-ok" : "check-fail"}" data-check="${esc(c.name)}"><td><code>${esc(c.name)}</code></td><td>${esc(c.source)}</td><td>${c.passed ? '<span class="badge ok">pass</span>' : '<span class="badge bad">FAIL</span>'}</td>
    <td>${c.passed ? "" : `<div class="detail">${esc(c.detail)}</div><div class="muted">expected: <code>${esc(JSON.stringify(c.expected))}</code><br>found: <code>${esc(JSON.stringify(c.found))}</code></div>`}</td></tr>`).join("") : "";
  const gas = Object.entries(r.gas).map(([k, g]) => `<div class="kv"><span>${esc(k)}</span><span>${g.toLocaleString()}</span></div>`).join("");
  const acc = r.metrics && r.metrics.accuracy != null ? `<div class="kv"><span>accuracy (reported by aggregator)</span><span>${(r.metrics.accuracy * 100).toFixed(2)}%</span></div>` : "";
  const failedNote = v && !v.ok ? `<p class="detail" id="failed-summary">Failed checks: ${v.failed.map((n) => `<code>${esc(n)}</code>`).join(", ")}</p>` : "";
  return `<h1>Round #${r.round} ${badge(v ? v.ok : null, v ? v.failed : [])}</h1>${failedNote}
  <div class="grid"><div>
    <div class="kv"><span>stage</span><span>${esc(r.stage)}</span></div>
    <div class="kv"><span>model</span>${short(r.model_hash)}</div><div class="kv"><span>new model</span>${short(r.new_model_hash)}</div>
    <div class="kv"><span>roster</span>${short(r.roster_hash)}</div><div class="kv"><span>aggregate</span>${short(r.aggregate_hash)}</div>
    <div class="kv"><span>reveal</span>${short(r.reveal_hash)}</div><div class="kv"><span>seed</span>${short(r.seed)}</div>${acc}
  </div><div><div class="kv"><span>k / t</span><span>${r.config.neighbours} / ${r.config.threshold}</span></div>
    <div class="kv"><span>min participants</span><span>${r.config.min_participants}</span></div>
    <h2>Gas</h2>${gas || '<span class="muted">—</span>'}</div></div>
  <h2>Participants</h2><table id="members-table"><thead><tr><th>Address</th><th>Status</th><th>Dropped at</th><th>Committed</th><th>Reward</th></tr></thead><tbody>${members}</tbody></table>
  <h2>Commitments</h2><table id="commitments-table"><thead><tr><th>Participant</th><th>Masked update</th><th>Seed commitment</th><th>Block</th><th>Gas</th></tr></thead><tbody>${commits}</tbody></table>
  <h2>Slashes</h2>${slashTable(r.slashes || [], "round-slashes-table")}
  <h2>Verification checks</h2>${v ? `<table id="checks-table"><thead><tr><th>Check</th><th>Source</th><th>Result</th><th>Detail</th></tr></thead><tbody>${checks}</tbody></table>` : '<p class="muted">Round still in progress.</p>'}`;
}

async function renderParticipant(a) {
  const p = await api(`/participants/${a}`);
  const commits = p.commitments.map((c) => `<tr><td><a href="#/round/${c.round}">#${c.round}</a></td><td>${short(c.masked_hash)}</td><td>${c.gas_used ?? "—"}</td></tr>`).join("");
  const rewards = p.rewards.map((r) => `<tr><td><a href="#/round/${r.round}">#${r.round}</a></td><td>${tokens(r.amount)}</td></tr>`).join("");
  const stakes = p.stake_events.map((e) => `<tr><td>${esc(e.kind.replace("_", " "))}</td><td>${tokens(e.amount)}</td><td>${tokens(e.stake)}</td><td>${e.block_number}</td></tr>`).join("");
  return `<h1>Participant <code>${esc(p.address)}</code></h1>
  <div class="grid"><div><div class="kv"><span>registered</span><span>${p.registered ? "yes" : "no"}</span></div>
  <div class="kv"><span>rounds / survived</span><span>${p.rounds} / ${p.survived}</span></div>
  <div class="kv"><span>accrued (FLR)</span><span>${tokens(p.rewards_accrued)}</span></div><div class="kv"><span>claimed</span><span>${tokens(p.claimed_total)}</span></div></div>
  <div><div class="kv"><span>stake (FLR)</span><span id="participant-stake">${tokens(p.stake)}</span></div>
  <div class="kv"><span>unlocking at</span><span>${p.unlock_at ? new Date(p.unlock_at * 1000).toISOString() : "—"}</span></div>
  <div class="kv"><span>slashed (FLR)</span><span id="participant-slashed">${tokens(p.slashed_total)}</span></div></div></div>
  <h2>Commitments</h2><table><thead><tr><th>Round</th><th>Masked update</th><th>Gas</th></tr></thead><tbody>${commits}</tbody></table>
  <h2>Rewards</h2><table><thead><tr><th>Round</th><th>Amount</th></tr></thead><tbody>${rewards}</tbody></table>
  <h2>Stake</h2><table id="stake-table"><thead><tr><th>Event</th><th>Amount</th><th>Stake after</th><th>Block</th></tr></thead><tbody>${stakes || '<tr><td colspan="4" class="muted">Never staked.</td></tr>'}</tbody></table>
  <h2>Slashes</h2>${slashTable(p.slashes, "participant-slashes-table")}`;
}

async function renderRewards() {
  const [r, sl] = await Promise.all([api("/rewards/?limit=200"), api("/slashes/?limit=200")]);
  const rows = r.data.map((x) => `<tr><td>${addr(x.participant)}</td><td>${x.rounds}</td><td>${tokens(x.accrued_total)}</td><td>${tokens(x.claimed_total)}</td><td>${tokens(x.stake)}</td><td>${tokens(x.slashed_total)}</td></tr>`).join("");
  return `<h1>Rewards per participant</h1><table id="rewards-table"><thead><tr><th>Participant</th><th>Rounds rewarded</th><th>Accrued</th><th>Claimed</th><th>Stake</th><th>Slashed</th></tr></thead><tbody>${rows || '<tr><td colspan="6" class="muted">No rewards yet.</td></tr>'}</tbody></table>
  <h2>Slashes <span class="muted">(${sl.count})</span></h2>${slashTable(sl.data, "slashes-table")}`;
}

async function renderGovernance() {
  const [params, props] = await Promise.all([api("/governance/params"), api("/governance/proposals?limit=200")]);
  const cur = Object.entries(params.current).map(([k, v]) => `<div class="kv"><span>${esc(k)}</span><span>${esc(v)}</span></div>`).join("");
  const upd = params.updates.map((u) => `<tr><td>${u.block_number}</td><td>${short(u.tx_hash)}</td><td><code>${esc(JSON.stringify(u.config))}</code></td></tr>`).join("");
  const rows = props.data.map((p) => `<tr><td title="${esc(p.id)}">${esc(p.id.slice(0, 10))}…</td><td>${esc(p.description)}</td><td>${esc(p.state || p.status)}</td><td>${tokens(p.votes_for)} / ${tokens(p.votes_against)} / ${tokens(p.votes_abstain)}</td></tr>`).join("");
  return `<h1>Governance</h1><h2>Round parameters in force</h2><div class="grid"><div>${cur}</div></div>
  <h2>Parameter changes</h2><table><thead><tr><th>Block</th><th>Tx</th><th>New configuration</th></tr></thead><tbody>${upd || '<tr><td colspan="3" class="muted">None since deployment.</td></tr>'}</tbody></table>
  <h2>Proposals</h2><table id="proposals-table"><thead><tr><th>Id</th><th>Description</th><th>State</th><th>For / against / abstain</th></tr></thead><tbody>${rows || '<tr><td colspan="4" class="muted">No proposals.</td></tr>'}</tbody></table>`;
}

// Each render returns its page; only the latest navigation's page is shown (a slower,
// earlier render must not overwrite it).
let routeToken = 0;

async function route() {
  const token = ++routeToken;
  const h = location.hash.replace(/^#/, "") || "/";
  const m = h.match(/^\/(round|participant)\/(.+)$/);
  let html;
  try {
    if (m && m[1] === "round") html = await renderRound(encodeURIComponent(m[2]));
    else if (m) html = await renderParticipant(encodeURIComponent(m[2]));
    else if (h === "/rewards") html = await renderRewards();
    else if (h === "/governance") html = await renderGovernance();
    else html = await renderRounds();
  } catch (e) {
    html = `<p class="error" id="error">${esc(e.message)}</p>`;
  }
  if (token === routeToken) view.innerHTML = html;
}

window.addEventListener("hashchange", route);
route();
