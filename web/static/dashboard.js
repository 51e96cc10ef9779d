// The sellersync dashboard: plain DOM, no build step. Every value from the API is written with
// textContent (never innerHTML), so a user id or an error message can never become markup.
"use strict";

const TOKEN_KEY = "sellersync.apiToken";
const REFRESH_MS = 5000;
const STATUSES = ["queued", "running", "retrying", "completed", "failed", "cancelled",
  "pending", "skipped", "auth_error"];
const SVG_NS = "http://www.w3.org/2000/svg";

let timer = null;
let lookedUp = null;
// The user of a seller-scoped token: the operator lists answer it 403, so the page shows that user only.
let sellerId = null;

const $ = (id) => document.getElementById(id);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value == null ? "" : String(value);
    else if (name === "className") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "onclick") node.addEventListener("click", value);
    else node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text != null) node.textContent = String(text);
  return node;
}

function badge(status) {
  const known = STATUSES.includes(status) ? status : "unknown";
  return el("span", { className: `badge status-${known}`, text: status });
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "–";
}

function duration(ms) {
  if (ms == null) return "–";
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function say(text, isError = false) {
  const box = $("message");
  box.textContent = text;
  box.className = isError ? "error" : "";
  box.hidden = !text;
}

// -- the API ---------------------------------------------------------------------------------------
class Unauthorized extends Error {}
class Forbidden extends Error {}

async function api(path, options = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = { Authorization: `Bearer ${token}`, Accept: "application/json", ...(options.headers || {}) };
  const response = await fetch(new URL(path, document.baseURI), { ...options, headers });
  if (response.status === 401) throw new Unauthorized("The token was refused.");
  if (response.status === 403) throw new Forbidden("This token may not call this route.");
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body ? [body.title, body.description].filter(Boolean).join(": ") : response.statusText;
    throw new Error(detail || `HTTP ${response.status}`);
  }
  return body;
}

// -- rendering -------------------------------------------------------------------------------------
function renderCounts(stats) {
  $("queue-name").textContent = `(${stats.queue})`;
  const c = stats.counts;
  const cards = [
    ["waiting", c.waiting], ["delayed", c.delayed], ["active", c.active], ["completed", c.completed],
    ["failed", c.failed], ["cancelled", c.cancelled], ["workers", stats.workers],
    ["oldest waiting", `${stats.oldestWaitingSeconds} s`],
    ["completed last hour", stats.throughput.completedLastHour],
    ["failed last hour", stats.throughput.failedLastHour],
  ];
  $("counts").replaceChildren(...cards.map(([label, value]) =>
    el("div", { className: "card", dataset: { count: label } },
      el("div", { className: "value", text: value }), el("div", { className: "label", text: label }))));
}

function renderChart(hourly) {
  const chart = $("chart");
  const width = Math.max(240, Math.round(chart.clientWidth || 720)), height = 160, bottom = 18, top = 12;
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const max = Math.max(1, ...hourly.map((h) => Math.max(h.completed, h.failed)));
  const slot = width / Math.max(1, hourly.length);
  const scale = (n) => ((height - bottom - top) * n) / max;
  const nodes = [svg("line", { x1: 0, x2: width, y1: height - bottom, y2: height - bottom, stroke: "#e2e5ec" }),
    svg("text", { x: 2, y: 10 }, `max ${max}`)];
  hourly.forEach((h, i) => {
    const x = i * slot;
    const label = `${new Date(h.hour).getHours().toString().padStart(2, "0")}:00`;
    for (const [kind, offset] of [["completed", 0.15], ["failed", 0.5]]) {
      const barHeight = scale(h[kind]);
      const bar = svg("rect", { class: kind, x: x + slot * offset, y: height - bottom - barHeight,
        width: slot * 0.35, height: barHeight });
      bar.append(svg("title", {}, `${label}: ${h[kind]} ${kind}`));
      nodes.push(bar);
    }
    if (i % 3 === 0) nodes.push(svg("text", { x: x + 2, y: height - 4 }, label));
  });
  chart.replaceChildren(...nodes);
}

function renderFreshness(f) {
  $("freshness-ratio").textContent = `${Math.round(f.ratio * 100)}%`;
  $("freshness-detail").textContent =
    `${f.freshUsers} of ${f.syncEnabledUsers} sync-enabled users synced within ${f.intervalMinutes} min`;
}

function accountsList(job) {
  return el("ul", { className: "accounts" }, ...job.accounts.map((a) => {
    const text = `${a.region || "?"}/${a.country || "?"} · ${a.ordersFetched} orders` +
      (a.durationMs != null ? ` · ${duration(a.durationMs)}` : "");
    const item = el("li", {}, badge(a.status), document.createTextNode(` ${text}`));
    // A first sync caches a quick first look before its orders backfill; both times are on the record.
    if (a.firstLookAt || a.analysedAt) {
      item.append(el("div", { className: "analysis-times",
        text: `first look ${when(a.firstLookAt)} · full analysis ${when(a.analysedAt)}` }));
    }
    if (a.error) item.append(el("div", { className: "error-message", text: `${a.error.type}: ${a.error.message}` }));
    return item;
  }));
}

function progress(job) {
  const fill = el("div");
  fill.style.width = `${Math.max(0, Math.min(100, Number(job.progress) || 0))}%`;
  return el("span", {}, el("span", { className: "bar", title: `${job.progress}%` }, fill),
    document.createTextNode(` ${job.accountsProcessed}/${job.accountsTotal}`));
}

function actions(job) {
  const cell = el("td");
  if (["queued", "retrying", "running"].includes(job.status)) {
    cell.append(el("button", { type: "button", className: "cancel", text: "Cancel",
      onclick: () => act(`job/${encodeURIComponent(job.jobId)}`, "DELETE", cancelled) }));
  }
  if (["failed", "cancelled"].includes(job.status)) {
    cell.append(el("button", { type: "button", className: "retry primary", text: "Retry",
      onclick: () => act(`job/${encodeURIComponent(job.jobId)}/retry`, "POST", (j) => `Retry queued as job ${j.jobId}.`) }));
  }
  return cell;
}

// A running job only records the cancel request: it stops before its next account (or completes).
function cancelled(j) {
  return j.cancel === "done" ? `Cancelled job ${j.jobId}.`
    : `Cancel requested for job ${j.jobId}: it stops before its next account.`;
}

function jobCell(job) {
  return el("td", { className: "mono", title: job.jobId, text: job.jobId.slice(0, 8) });
}

function recentRow(job) {
  return el("tr", { dataset: { jobId: job.jobId, status: job.status } },
    jobCell(job), el("td", { className: "user", text: job.userId }), el("td", {}, badge(job.status)),
    el("td", { text: job.trigger }), el("td", { text: `${job.attempts}/${job.maxAttempts}` }),
    el("td", { text: when(job.queuedAt) }), el("td", { text: duration(job.durationMs) }),
    el("td", {}, progress(job)), el("td", {}, accountsList(job)), actions(job));
}

function failedRow(job) {
  const error = job.error
    ? el("div", {}, el("span", { className: "error-type", text: job.error.type }),
      el("div", { className: "error-message", text: job.error.message }))
    : el("span", { className: "muted", text: "no error recorded" });
  return el("tr", { dataset: { jobId: job.jobId, status: job.status } },
    jobCell(job), el("td", { className: "user", text: job.userId }), el("td", { text: when(job.failedAt) }),
    el("td", { text: `${job.attempts}/${job.maxAttempts}` }), el("td", {}, error),
    el("td", {}, accountsList(job)), actions(job));
}

function fillTable(id, jobs, row, columns) {
  const rows = jobs.length ? jobs.map(row) : [el("tr", {}, el("td", { className: "empty", colspan: columns, text: "none" }))];
  document.querySelector(`#${id} tbody`).replaceChildren(...rows);
}

function renderLookup(status) {
  const table = el("table", { className: "jobs" }, el("tbody"));
  const box = $("lookup-result");
  box.replaceChildren(
    el("p", {}, el("strong", { className: "user", text: status.userId }),
      document.createTextNode(` · last synced ${when(status.lastSyncedAt)} · ${status.jobs.length} job(s)`)),
    table);
  table.tBodies[0].replaceChildren(...status.jobs.map(recentRow));
}

// -- actions ---------------------------------------------------------------------------------------
async function act(path, method, done) {
  try {
    const job = await api(path, { method });
    say(done(job));
    await refresh();
  } catch (error) {
    handle(error);
  }
}

async function lookup(userId) {
  lookedUp = userId;
  renderLookup(await api(`status/user/${encodeURIComponent(userId)}?limit=10`));
}

// The `sub` claim of a seller-scoped token (a JWT); null for an operator token. Only read, never trusted:
// the server checks the signature and answers another user's objects 404.
function tokenSubject() {
  try {
    const part = sessionStorage.getItem(TOKEN_KEY).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
    return typeof claims.sub === "string" ? claims.sub : null;
  } catch {
    return null;
  }
}

function showSeller(userId) {
  sellerId = userId;
  for (const node of document.querySelectorAll(".operator-only")) node.hidden = true;
  $("lookup-title").textContent = "Your sync jobs";
  $("lookup-user").value = userId;
  $("lookup-user").readOnly = true;
}

function showOperator() {
  sellerId = null;
  lookedUp = null;
  for (const node of document.querySelectorAll(".operator-only")) node.hidden = false;
  $("lookup-title").textContent = "Look up a user";
  $("lookup-user").readOnly = false;
  $("lookup-result").replaceChildren();
}

async function refresh() {
  try {
    await (sellerId === null ? refreshOperator() : lookup(sellerId));
  } catch (error) {
    if (!(error instanceof Forbidden) || sellerId !== null || tokenSubject() === null) throw error;
    showSeller(tokenSubject());
    await lookup(sellerId);
  }
  $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

async function refreshOperator() {
  const filter = $("status-filter").value;
  const [stats, overview, recent, failed] = await Promise.all([
    api("queue/stats"), api("overview"),
    api(`recent?limit=50${filter ? `&status=${encodeURIComponent(filter)}` : ""}`), api("failed?limit=50"),
  ]);
  renderCounts(stats);
  renderChart(overview.hourly);
  renderFreshness(overview.freshness);
  fillTable("recent", recent.jobs, recentRow, 10);
  fillTable("failed", failed.jobs, failedRow, 7);
  if (lookedUp) await lookup(lookedUp).catch(() => {});
}

function handle(error) {
  if (error instanceof Unauthorized) {
    signOut(error.message);
  } else {
    say(error.message, true);
  }
}

// -- session ---------------------------------------------------------------------------------------
function schedule() {
  clearInterval(timer);
  timer = $("auto-refresh").checked ? setInterval(() => refresh().catch(handle), REFRESH_MS) : null;
}

async function signIn() {
  $("login").hidden = true;
  $("main").hidden = false;
  $("session").hidden = false;
  try {
    await refresh();
    say("");
  } catch (error) {
    handle(error);
  }
  schedule();
}

function signOut(reason) {
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(timer);
  showOperator();
  $("main").hidden = true;
  $("session").hidden = true;
  $("login").hidden = false;
  say(reason || "", Boolean(reason));
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    signIn();
  });
  $("sign-out").addEventListener("click", () => signOut(""));
  $("auto-refresh").addEventListener("change", schedule);
  $("status-filter").addEventListener("change", () => refresh().catch(handle));
  $("lookup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    lookup($("lookup-user").value.trim()).catch(handle);
  });
  $("lookup-sync").addEventListener("click", async () => {
    const userId = $("lookup-user").value.trim();
    if (!userId) return;
    try {
      const result = await api("sync", { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ userIds: [userId] }) });
      const job = result.jobs[0];
      say(job.deduplicated ? `User already has job ${job.jobId}.` : `Queued job ${job.jobId}.`);
      lookedUp = userId;
      await refresh();
    } catch (error) {
      handle(error);
    }
  });
  if (sessionStorage.getItem(TOKEN_KEY)) signIn();
});
