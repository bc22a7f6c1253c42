// Vigil's browser UI. It keeps the API token in sessionStorage and talks
// only to /api/v1. Every value from the API is inserted as text, never as
// HTML, because alert evidence carries attacker-controlled strings.
"use strict";

const state = { token: sessionStorage.getItem("vigil-token") || "", me: null, cursorStack: [] };

function el(tag, attrs, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
    else if (k === "class") n.className = v;
    else n.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return n;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
  for (const c of children) n.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return n;
}

async function api(method, path, body) {
  const opts = { method, headers: { Authorization: "Bearer " + state.token } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch("/api/v1" + path, opts);
  if (res.status === 401) {
    logout("Your token was not accepted.");
    throw new Error("unauthorized");
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = { error: text }; }
  if (!res.ok) throw new Error((data && data.error) || res.statusText);
  return data;
}

function show(view) {
  document.getElementById("login-view").hidden = view !== "login";
  document.getElementById("view").hidden = view === "login";
  document.getElementById("nav").hidden = view === "login";
}

function logout(msg) {
  state.token = "";
  state.me = null;
  sessionStorage.removeItem("vigil-token");
  show("login");
  document.getElementById("login-error").textContent = msg || "";
}

function fmtTime(t) {
  if (!t) return "";
  const d = new Date(t);
  return isNaN(d) ? String(t) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z").replace(":00Z", "Z");
}

function sev(s) { return el("span", { class: "sev sev-" + s }, s); }

function setActive(name) {
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.id === "nav-" + name);
}

// ---- alerts list ----
const filterFields = ["type", "layer", "severity", "status", "subscription", "resource", "principal", "from", "to"];

async function renderAlerts(params) {
  setActive("alerts");
  const view = document.getElementById("view");
  const q = new URLSearchParams(params);
  const detections = (await api("GET", "/detections")).detections;
  const form = el("form", { class: "filters", id: "alert-filters" });
  const input = (name, control) => el("label", {}, name, control);
  const sel = (name, values) => {
    const s = el("select", { name, id: "filter-" + name }, el("option", { value: "" }, "any"));
    for (const v of values) s.append(el("option", { value: v, selected: q.get(name) === v }, v));
    return input(name, s);
  };
  form.append(
    sel("type", detections.map((d) => d.type)),
    sel("layer", ["network", "management"]),
    sel("severity", ["high", "medium", "low"]),
    sel("status", ["active", "dismissed", "resolved"]),
    input("subscription", el("input", { name: "subscription", value: q.get("subscription") || "", size: 14 })),
    input("resource", el("input", { name: "resource", value: q.get("resource") || "", size: 14 })),
    input("principal", el("input", { name: "principal", value: q.get("principal") || "", size: 14 })),
    input("from", el("input", { name: "from", value: q.get("from") || "", placeholder: "RFC 3339", size: 18 })),
    input("to", el("input", { name: "to", value: q.get("to") || "", placeholder: "RFC 3339", size: 18 })),
    el("button", { type: "submit", id: "apply-filters" }, "Apply"),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    for (const f of filterFields) {
      const v = form.elements[f].value.trim();
      if (v) p.set(f, v);
    }
    location.hash = "#/alerts?" + p.toString();
  });
  const page = await api("GET", "/alerts?" + q.toString());
  const rows = page.alerts.map((a) =>
    el("tr", { class: "clickable alert-row", "data-id": a.id, onclick: () => (location.hash = "#/alerts/" + encodeURIComponent(a.id)) },
      el("td", {}, sev(a.severity)),
      el("td", {}, a.title, el("div", { class: "muted" }, a.type)),
      el("td", {}, a.layer === "network" ? (a.resource || a.resource_ip) : (a.principal_name || a.principal)),
      el("td", {}, a.subscription || a.tenant || ""),
      el("td", {}, fmtTime(a.start), el("div", { class: "muted" }, "to " + fmtTime(a.end))),
      el("td", { class: "status" }, a.status || "active")));
  const table = el("table", { id: "alerts-table" },
    el("thead", {}, el("tr", {}, ["Severity", "Alert", "Subject", "Subscription", "Time", "Status"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No alerts match."))));
  const pager = el("div", { class: "pager" });
  if (q.get("cursor")) pager.append(el("button", { type: "button", onclick: () => history.back() }, "Previous"));
  if (page.next_cursor) {
    const p = new URLSearchParams(q);
    p.set("cursor", page.next_cursor);
    pager.append(el("button", { type: "button", id: "next-page", onclick: () => (location.hash = "#/alerts?" + p.toString()) }, "Next"));
  }
  view.replaceChildren(el("h1", {}, "Alerts"), form, table, pager);
}

// ---- alert detail ----
// seriesChart draws the alert's hourly series of the feature that alerted
// (its evidence names it, such as "top-remotes-attempts", and each hour
// carries it under the same name with underscores) against the expected
// level.
function seriesChart(series, expected, feature) {
  const W = 720, H = 220, P = 36;
  const key = (feature || "").replaceAll("-", "_");
  const pts = series.map((s) => ({ t: new Date(s.hour || s.time || s.start).getTime(), v: Number(s[key] ?? s.observed ?? s.attempts ?? 0),
    e: s.expected !== undefined ? Number(s.expected) : Number(expected || 0), alert: !!(s.alerted || s.alert) }));
  if (!pts.length) return el("p", { class: "muted" }, "No hourly series in the evidence.");
  const maxV = Math.max(1, ...pts.map((p) => Math.max(p.v, p.e)));
  const t0 = pts[0].t, t1 = pts[pts.length - 1].t;
  // One hour alone is drawn in the middle rather than against the axis.
  const x = (t) => (t1 === t0 ? W / 2 : P + ((t - t0) / (t1 - t0)) * (W - 2 * P));
  const y = (v) => H - P - (v / maxV) * (H - 2 * P);
  const g = svg("svg", { class: "chart", id: "series-chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "hourly series against the expected level" });
  const step = pts.length > 1 ? (W - 2 * P) / (pts.length - 1) : 40;
  for (const p of pts) if (p.alert) g.append(svg("rect", { class: "alerting", x: x(p.t) - step / 2, y: P, width: step, height: H - 2 * P }));
  g.append(svg("line", { class: "axis", x1: P, y1: H - P, x2: W - P, y2: H - P }));
  g.append(svg("line", { class: "axis", x1: P, y1: P, x2: P, y2: H - P }));
  g.append(svg("polyline", { class: "expected", points: pts.map((p) => `${x(p.t)},${y(p.e)}`).join(" ") }));
  g.append(svg("polyline", { class: "observed", points: pts.map((p) => `${x(p.t)},${y(p.v)}`).join(" ") }));
  // Markers keep a series of one hour visible, where a line has no length.
  for (const p of pts) g.append(svg("circle", { class: "point", cx: x(p.t), cy: y(p.v), r: 4 }));
  g.append(svg("text", { x: 4, y: P }, String(Math.round(maxV))));
  g.append(svg("text", { x: 4, y: H - P }, "0"));
  g.append(svg("text", { x: P, y: H - 8 }, fmtTime(new Date(t0).toISOString())));
  if (t1 !== t0) g.append(svg("text", { x: W - P - 150, y: H - 8 }, fmtTime(new Date(t1).toISOString())));
  return el("div", {}, g, el("p", { class: "muted" }, "Solid: observed per hour. Dashed: expected level. Shaded: hours that alerted."));
}

function timeline(ops) {
  return el("ol", { class: "timeline", id: "operations-timeline" }, ops.map((o) =>
    el("li", {}, el("strong", {}, fmtTime(o.time)), " ", o.operation || o.op || "",
      o.resource ? el("div", { class: "muted" }, o.resource) : null,
      (o.ip || o.country) ? el("div", { class: "muted" }, [o.ip, o.country].filter(Boolean).join(" · ")) : null)));
}

function place(p, label) {
  if (!p) return el("div", { class: "place" });
  return el("div", { class: "place card" }, el("strong", {}, label),
    el("div", {}, [p.city, p.country].filter(Boolean).join(", ")),
    el("div", { class: "muted" }, p.ip || ""),
    el("div", { class: "muted" }, fmtTime(p.time)),
    (p.lat !== undefined && p.lon !== undefined) ? el("div", { class: "muted" }, `${Number(p.lat).toFixed(2)}, ${Number(p.lon).toFixed(2)}`) : null);
}

async function renderAlert(id) {
  setActive("alerts");
  const view = document.getElementById("view");
  const a = await api("GET", "/alerts/" + encodeURIComponent(id));
  const ev = a.evidence || {};
  const parts = [el("h1", {}, sev(a.severity), " ", a.title)];
  parts.push(el("div", { class: "card" }, el("dl", { class: "kv", id: "alert-fields" },
    ...[["Type", a.type], ["Layer", a.layer], ["Status", a.status || "active"], ["Start", fmtTime(a.start)], ["End", fmtTime(a.end)],
      ["Subscription", a.subscription], ["Tenant", a.tenant], ["Resource", a.resource], ["Resource IP", a.resource_ip],
      ["Principal", a.principal], ["Principal name", a.principal_name], ["Remote IPs", (a.remote_ips || []).join(", ")],
      ["ATT&CK", (a.mitre || []).join(", ")], ["Id", a.id]]
      .filter(([, v]) => v).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]))));
  parts.push(el("p", {}, a.description));
  if (a.layer === "network") {
    parts.push(el("h2", {}, "Hourly series"), seriesChart(ev.series || [], ev.expected, ev.feature));
    const dec = ["observed", "expected", "score", "floor", "threshold"].filter((k) => ev[k] !== undefined);
    if (dec.length) parts.push(el("dl", { class: "kv card", id: "decision" }, dec.flatMap((k) => [el("dt", {}, k), el("dd", {}, String(ev[k]))])));
  }
  if (a.type === "impossible-travel") {
    const from = ev.from || (ev.places || [])[0], to = ev.to || (ev.places || [])[1];
    const dist = ev.distance_km ?? ev.distanceKm;
    parts.push(el("h2", {}, "Places"), el("div", { class: "places", id: "travel" }, place(from, "From"),
      el("div", { class: "distance" }, dist !== undefined ? `${Math.round(dist)} km` : "", ev.speed_kmh ? el("div", { class: "muted" }, `${Math.round(ev.speed_kmh)} km/h`) : null),
      place(to, "To")));
  }
  if (a.layer === "management" && Array.isArray(ev.operations) && ev.operations.length && typeof ev.operations[0] === "object") {
    parts.push(el("h2", {}, "Operations"), timeline(ev.operations));
  }
  parts.push(el("h2", {}, "Evidence"), el("pre", { id: "evidence" }, JSON.stringify(ev, null, 2)));
  if (a.remediation) parts.push(el("h2", {}, "Remediation"), el("p", {}, a.remediation));

  const canWrite = state.me && (state.me.role === "admin" || state.me.role === "analyst");
  if (canWrite) {
    const statusSel = el("select", { id: "status-select" }, ["active", "dismissed", "resolved"].map((s) => el("option", { value: s, selected: (a.status || "active") === s }, s)));
    const comment = el("input", { id: "status-comment", placeholder: "comment", size: 40 });
    const msg = el("span", { id: "status-message", class: "muted" });
    parts.push(el("h2", {}, "Status"), el("form", { id: "status-form", class: "filters", onsubmit: async (e) => {
      e.preventDefault();
      try {
        await api("PATCH", "/alerts/" + encodeURIComponent(a.id), { status: statusSel.value, comment: comment.value });
        msg.textContent = "Saved.";
        renderAlert(a.id);
      } catch (err) { msg.textContent = err.message; }
    } }, statusSel, comment, el("button", { type: "submit", id: "status-save" }, "Save"), msg));
  }
  if (Array.isArray(a.history) && a.history.length) {
    parts.push(el("h2", {}, "History"), el("table", { id: "history" }, el("tbody", {}, a.history.map((h) =>
      el("tr", {}, el("td", {}, fmtTime(h.time)), el("td", {}, h.actor || ""), el("td", {}, h.status), el("td", {}, h.comment || ""))))));
  }
  view.replaceChildren(...parts);
}

// ---- settings ----
async function renderSettings(sub) {
  setActive("settings");
  const view = document.getElementById("view");
  const subs = (await api("GET", "/subscriptions")).subscriptions || [];
  const current = sub || subs[0];
  const picker = el("select", { id: "settings-subscription", onchange: (e) => (location.hash = "#/settings/" + encodeURIComponent(e.target.value)) },
    subs.map((s) => el("option", { value: s, selected: s === current }, s)));
  const parts = [el("h1", {}, "Settings"), el("label", {}, "Subscription ", picker)];
  if (!current) {
    parts.push(el("p", { class: "muted" }, "No subscription is visible to this token."));
    view.replaceChildren(...parts);
    return;
  }
  const s = await api("GET", "/subscriptions/" + encodeURIComponent(current) + "/settings");
  const detections = (await api("GET", "/detections")).detections;
  const canWrite = state.me && state.me.role === "admin";
  const msg = el("span", { id: "settings-message", class: "muted" });
  const save = async () => {
    try {
      await api("PUT", "/subscriptions/" + encodeURIComponent(current) + "/settings", s);
      msg.textContent = "Saved.";
    } catch (err) { msg.textContent = err.message; }
  };
  const idToggle = el("input", { type: "checkbox", id: "toggle-identity-analytics", checked: s.identity_analytics, disabled: !canWrite,
    onchange: (e) => { s.identity_analytics = e.target.checked; save(); } });
  parts.push(el("div", { class: "card" }, el("div", { class: "toggle-row" }, idToggle,
    el("label", { for: "toggle-identity-analytics" }, "Identity analytics (impossible travel, infrequent country, anonymous IP)"))));
  const rows = detections.map((d) => {
    const on = s.detections ? s.detections[d.type] !== false : true;
    const box = el("input", { type: "checkbox", id: "toggle-" + d.type, checked: on, disabled: !canWrite,
      onchange: (e) => { s.detections = s.detections || {}; s.detections[d.type] = e.target.checked; save(); } });
    return el("div", { class: "toggle-row" }, box, el("label", { for: "toggle-" + d.type }, d.title, " ", el("span", { class: "muted" }, "(" + d.type + ")")));
  });
  parts.push(el("div", { class: "card", id: "detection-toggles" }, rows), msg);
  view.replaceChildren(...parts);
}

// ---- ingest health ----
async function renderIngest() {
  setActive("ingest");
  const view = document.getElementById("view");
  const data = await api("GET", "/ingest");
  const sources = data.sources || [];
  const rows = sources.map((s) => el("tr", {},
    el("td", {}, s.name || s.source), el("td", {}, s.kind || ""), el("td", {}, String(s.records ?? "")),
    el("td", {}, String(s.errors ?? "")), el("td", {}, fmtTime(s.last_seen)),
    el("td", { class: s.silent ? "error" : "" }, s.silent ? "silent" : "ok")));
  const gaps = (data.gaps || []).map((g) => el("tr", {}, el("td", {}, g.source || ""), el("td", {}, fmtTime(g.from)), el("td", {}, fmtTime(g.to)), el("td", {}, g.reason || "")));
  view.replaceChildren(el("h1", {}, "Ingest health"),
    el("table", { id: "ingest-table" }, el("thead", {}, el("tr", {}, ["Source", "Kind", "Records", "Errors", "Last seen", "State"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: 6, class: "muted" }, "Nothing received yet.")))),
    el("h2", {}, "Gaps"),
    el("table", { id: "gaps-table" }, el("tbody", {}, gaps.length ? gaps : el("tr", {}, el("td", { class: "muted" }, "No gaps recorded.")))));
}

async function renderDetections() {
  setActive("detections");
  const view = document.getElementById("view");
  const ds = (await api("GET", "/detections")).detections;
  view.replaceChildren(el("h1", {}, "Detections"), el("table", { id: "detections-table" },
    el("thead", {}, el("tr", {}, ["Severity", "Type", "Title", "Layer", "ATT&CK"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ds.map((d) => el("tr", {}, el("td", {}, sev(d.severity)), el("td", {}, d.type), el("td", {}, d.title, el("div", { class: "muted" }, d.description)), el("td", {}, d.layer), el("td", {}, (d.mitre || []).join(", ")))))));
}

async function route() {
  if (!state.token) { show("login"); return; }
  show("app");
  if (!state.me) {
    try { state.me = await api("GET", "/me"); } catch (e) { return; }
  }
  const h = location.hash.replace(/^#/, "") || "/alerts";
  const [path, query] = h.split("?");
  const seg = path.split("/").filter(Boolean);
  try {
    if (seg[0] === "alerts" && seg[1]) await renderAlert(decodeURIComponent(seg[1]));
    else if (seg[0] === "settings") await renderSettings(seg[1] && decodeURIComponent(seg[1]));
    else if (seg[0] === "ingest") await renderIngest();
    else if (seg[0] === "detections") await renderDetections();
    else await renderAlerts(query || "");
  } catch (err) {
    if (err.message !== "unauthorized") document.getElementById("view").replaceChildren(el("p", { class: "error", id: "view-error" }, err.message));
  }
}

document.getElementById("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  state.token = document.getElementById("token").value.trim();
  state.me = null;
  try {
    state.me = await api("GET", "/me");
    sessionStorage.setItem("vigil-token", state.token);
    document.getElementById("login-error").textContent = "";
    if (!location.hash || location.hash === "#/") location.hash = "#/alerts";
    route();
  } catch (err) {
    if (err.message !== "unauthorized") logout(err.message);
  }
});
document.getElementById("logout").addEventListener("click", () => logout(""));
window.addEventListener("hashchange", route);
route();
