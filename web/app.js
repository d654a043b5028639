// The sandboxd dashboard. Plain JavaScript, no dependencies. Every string from the API or the
// user is inserted as text (textContent, never innerHTML); the token lives in sessionStorage
// (this tab only) and goes only into the Authorization header; live updates come from
// GET /api/v1/events opened with a single-use stream ticket.
"use strict";

(() => {
  const TOKEN_KEY = "sandboxd.token";
  const $ = (id) => document.getElementById(id);
  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || "",
    sandboxes: new Map(),   // name → Sandbox JSON
    rowErrors: new Map(),   // name → message of the last failed action on that row
    selected: "",           // the sandbox whose details are open
    events: null,           // the EventSource
    lastEventId: "",
    retry: null,
  };

  // --- the API ----------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body) {
    const headers = { Authorization: "Bearer " + state.token };
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, "network", "cannot reach sandboxd: " + e.message);
    }
    const text = await response.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch (e) {
      json = null;
    }
    if (!response.ok) {
      const err = json && json.error ? json.error : {};
      throw new ApiError(response.status, err.code || String(response.status),
                         err.message || response.statusText || "request failed");
    }
    return json;
  }

  function showError(el, err) {
    el.textContent = err ? (err.code ? err.code + ": " : "") + err.message : "";
  }

  // --- parsing the forms --------------------------------------------------------------------

  // "KEY=value" lines → {KEY: value}; blank lines skipped. A line without "=" is an error.
  function parseEnvLines(text) {
    const out = {};
    for (const raw of text.split("\n")) {
      const line = raw.replace(/\r$/, "");
      if (!line.trim()) continue;
      const eq = line.indexOf("=");
      if (eq <= 0) throw new ApiError(0, "invalid_input", "expected KEY=value, got: " + line);
      out[line.slice(0, eq).trim()] = line.slice(eq + 1);
    }
    return out;
  }

  // --- rendering (text only) ----------------------------------------------------------------

  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (className) e.className = className;
    return e;
  }

  function button(label, onClick, testName) {
    const b = el("button", label);
    b.type = "button";
    if (testName) b.dataset.action = testName;
    b.addEventListener("click", onClick);
    return b;
  }

  // DESIGN §3's statuses: a running or starting sandbox may be stopped, a stopped one started.
  // An ERROR sandbox may be either, by what it is meant to be (replicas.desired), so a stuck
  // start can still be stopped.
  function canStop(s) {
    if (s.status === "ERROR") return ((s.replicas || {}).desired ?? 0) > 0;
    return s.status === "RUNNING" || s.status === "STARTING";
  }

  function canStart(s) {
    if (s.status === "ERROR") return ((s.replicas || {}).desired ?? 0) === 0;
    return s.status === "STOPPED";
  }

  // "app, web" → ["app", "web"] (blank entries dropped).
  function parseNameList(text) {
    return text.split(",").map((x) => x.trim()).filter(Boolean);
  }

  function safeUrl(url) {
    try {
      const u = new URL(url);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function renderList() {
    const tbody = $("sandboxes").tBodies[0];
    const rows = [];
    const names = [...state.sandboxes.keys()].sort();
    for (const name of names) {
      const s = state.sandboxes.get(name);
      const tr = document.createElement("tr");
      tr.dataset.name = name;
      tr.appendChild(el("td", s.name));
      const status = el("td", s.status, "status status-" + String(s.status).replace(/[^A-Z]/g, ""));
      status.dataset.field = "status";
      tr.appendChild(status);
      const reason = el("td");
      reason.appendChild(el("div", s.reason));
      if (s.message) reason.appendChild(el("div", s.message, "hint"));
      tr.appendChild(reason);
      const replicas = s.replicas || {};
      tr.appendChild(el("td", (replicas.ready ?? 0) + "/" + (replicas.desired ?? 0)));
      tr.appendChild(el("td", s.image));
      const links = el("td");
      for (const [port, url] of Object.entries(s.urls || {})) {
        const href = safeUrl(url);
        if (!href) continue;
        const a = el("a", port === "ttyd" ? "terminal" : port);
        a.href = href;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        links.appendChild(a);
        if ((s.publicPorts || []).includes(port)) {
          const tag = el("span", "public", "public-port");
          tag.title = "anyone with this URL can open it, without signing in";
          links.appendChild(document.createTextNode(" "));
          links.appendChild(tag);
        }
        links.appendChild(document.createTextNode(" "));
      }
      tr.appendChild(links);
      const actions = el("td");
      const stop = button("Stop", () => act(name, "POST", "/stop"), "stop");
      stop.disabled = !canStop(s);
      actions.appendChild(stop);
      const start = button("Start", () => act(name, "POST", "/start"), "start");
      start.disabled = !canStart(s);
      actions.appendChild(start);
      actions.appendChild(button("Details", () => openDetail(name), "details"));
      actions.appendChild(button("Delete", () => {
        if (confirm("Delete sandbox " + name + "? Its home volume is kept.")) {
          act(name, "DELETE", "");
        }
      }, "delete"));
      actions.appendChild(button("Purge", () => {
        if (confirm("Delete sandbox " + name + " AND its home volume? This cannot be undone.")) {
          act(name, "DELETE", "?purge=true");
        }
      }, "purge"));
      const rowError = state.rowErrors.get(name);
      if (rowError) actions.appendChild(el("div", rowError, "row-error"));
      tr.appendChild(actions);
      rows.push(tr);
    }
    tbody.replaceChildren(...rows);
    $("empty").hidden = rows.length > 0;
    if (state.selected) renderDetail();
  }

  function renderDetail() {
    const s = state.sandboxes.get(state.selected);
    const detail = $("detail");
    if (!s) {
      detail.hidden = true;
      return;
    }
    detail.hidden = false;
    $("detail-name").textContent = s.name;
    const rows = [];
    for (const [k, v] of Object.entries(s.env || {}).sort()) {
      const tr = document.createElement("tr");
      tr.appendChild(el("td", k));
      tr.appendChild(el("td", v, "value"));
      tr.appendChild(el("td", ""));
      rows.push(tr);
    }
    for (const k of [...(s.secretEnvKeys || [])].sort()) {
      const tr = document.createElement("tr");
      tr.appendChild(el("td", k));
      tr.appendChild(el("td", "(secret, write-only)", "hint"));
      tr.appendChild(el("td", ""));
      rows.push(tr);
    }
    $("env-table").tBodies[0].replaceChildren(...rows);
  }

  async function loadOperations() {
    const name = state.selected;
    if (!name) return;
    try {
      const ops = await api("GET", "/api/v1/sandboxes/" + encodeURIComponent(name) + "/operations");
      if (name !== state.selected) return;
      const rows = (ops.items || []).map((op) => {
        const tr = document.createElement("tr");
        for (const v of [op.id, op.kind, op.state, op.user, op.requestedAt, op.finishedAt || "",
                         op.error || ""]) {
          tr.appendChild(el("td", v));
        }
        return tr;
      });
      $("ops-table").tBodies[0].replaceChildren(...rows);
      showError($("ops-error"), null);
    } catch (err) {
      showError($("ops-error"), err);
    }
  }

  // The sandbox's home-volume snapshots: take one (an optional label), restore one in place
  // of the home volume (the current one is kept as a pre-restore snapshot), delete one.
  async function loadSnapshots() {
    const name = state.selected;
    if (!name) return;
    try {
      const list = await api("GET", "/api/v1/sandboxes/" + encodeURIComponent(name) + "/snapshots");
      if (name !== state.selected) return;
      const rows = (list.items || []).map((snap) => {
        const tr = document.createElement("tr");
        tr.dataset.snapshot = snap.id;
        const stateText = snap.state + (snap.error ? " (" + snap.error + ")" : "");
        for (const v of [snap.id, snap.label, stateText, snap.size || "", snap.createdAt]) {
          tr.appendChild(el("td", v));
        }
        const actions = el("td");
        const restore = button("Restore", () => {
          if (confirm("Restore snapshot " + snap.id + " into " + name + "? The sandbox stops " +
                      "while its home volume is replaced; the current one is kept as a " +
                      "pre-restore snapshot, and it starts again if it was running.")) {
            snapshotAction(name, "POST", "/restore", { snapshot: snap.id });
          }
        }, "restore");
        restore.disabled = snap.state !== "ready";
        actions.appendChild(restore);
        actions.appendChild(button("Delete", () => {
          if (confirm("Delete snapshot " + snap.id + " of " + name + "?")) {
            snapshotAction(name, "DELETE", "/snapshots/" + encodeURIComponent(snap.id));
          }
        }, "delete-snapshot"));
        tr.appendChild(actions);
        return tr;
      });
      $("snapshots-table").tBodies[0].replaceChildren(...rows);
      showError($("snapshots-error"), null);
    } catch (err) {
      showError($("snapshots-error"), err);
    }
  }

  async function snapshotAction(name, method, suffix, body) {
    try {
      await api(method, "/api/v1/sandboxes/" + encodeURIComponent(name) + suffix, body);
      showError($("snapshots-error"), null);
    } catch (err) {
      showError($("snapshots-error"), err);
      return;
    }
    loadSnapshots();
    loadOperations();
  }

  async function onSnapshot(ev) {
    ev.preventDefault();
    const form = ev.target;
    const label = form.label.value.trim();
    await snapshotAction(state.selected, "POST", "/snapshots", label ? { label } : {});
    if (!$("snapshots-error").textContent) form.reset();
  }

  function openDetail(name) {
    state.selected = name;
    showError($("env-error"), null);
    showError($("snapshots-error"), null);
    renderDetail();
    loadOperations();
    loadSnapshots();
  }

  // --- actions ------------------------------------------------------------------------------

  // An action's answer is the sandbox as it was when the request was taken; while the stream
  // is live, its events are newer (one may even have arrived before the answer), so they win.
  function applyAnswer(s) {
    const live = state.events && state.events.readyState === EventSource.OPEN;
    if (s && s.name && !live) state.sandboxes.set(s.name, s);
  }

  async function act(name, method, suffix) {
    const path = "/api/v1/sandboxes/" + encodeURIComponent(name) + suffix;
    state.rowErrors.delete(name);
    try {
      const s = await api(method, path);
      if (s && s.name && state.sandboxes.has(s.name)) applyAnswer(s);
    } catch (err) {
      state.rowErrors.set(name, (err.code ? err.code + ": " : "") + err.message);
    }
    renderList();
  }

  async function onCreate(ev) {
    ev.preventDefault();
    const form = ev.target;
    const errorEl = $("create-error");
    try {
      const body = { name: form.name.value.trim() };
      if (form.image.value.trim()) body.image = form.image.value.trim();
      if (form.storage.value.trim()) body.storage = form.storage.value.trim();
      const env = parseEnvLines(form.env.value);
      const secretEnv = parseEnvLines(form.secretEnv.value);
      if (Object.keys(env).length) body.env = env;
      if (Object.keys(secretEnv).length) body.secretEnv = secretEnv;
      const publicPorts = parseNameList(form.publicPorts.value);
      if (publicPorts.length) body.publicPorts = publicPorts;
      applyAnswer(await api("POST", "/api/v1/sandboxes", body));
      form.reset();
      showError(errorEl, null);
      renderList();
    } catch (err) {
      showError(errorEl, err);
    }
  }

  async function onEnv(ev) {
    ev.preventDefault();
    const form = ev.target;
    const name = state.selected;
    const errorEl = $("env-error");
    try {
      const change = {};
      const set = parseEnvLines(form.set.value);
      const setSecret = parseEnvLines(form.setSecret.value);
      const unset = parseNameList(form.unset.value);
      if (Object.keys(set).length) change.set = set;
      if (Object.keys(setSecret).length) change.setSecret = setSecret;
      if (unset.length) change.unset = unset;
      applyAnswer(await api("PATCH", "/api/v1/sandboxes/" + encodeURIComponent(name) + "/env",
                            change));
      form.reset();
      showError(errorEl, null);
      renderList();
      loadOperations();
    } catch (err) {
      showError(errorEl, err);
    }
  }

  // --- live updates -------------------------------------------------------------------------

  function setLive(on, text) {
    const live = $("live");
    live.hidden = false;
    live.className = "live " + (on ? "on" : "off");
    live.textContent = text;
  }

  function stopEvents() {
    if (state.events) state.events.close();
    state.events = null;
    clearTimeout(state.retry);
    state.retry = null;
  }

  async function startEvents() {
    stopEvents();
    let ticket;
    try {
      ticket = await api("POST", "/api/v1/events/tickets");
    } catch (err) {
      if (err.status === 401) return signOut("token rejected: " + err.message);
      setLive(false, "reconnecting…");
      state.retry = setTimeout(startEvents, 2000);
      return;
    }
    let url = "/api/v1/events?ticket=" + encodeURIComponent(ticket.ticket);
    if (state.lastEventId) url += "&lastEventId=" + encodeURIComponent(state.lastEventId);
    const es = new EventSource(url);
    state.events = es;
    const remember = (ev) => {
      if (ev.lastEventId !== undefined) state.lastEventId = ev.lastEventId;
    };
    es.addEventListener("open", () => setLive(true, "live"));
    es.addEventListener("reset", (ev) => {
      remember(ev);
      state.sandboxes.clear();
      renderList();
    });
    es.addEventListener("sandbox", (ev) => {
      remember(ev);
      const s = JSON.parse(ev.data);
      state.sandboxes.set(s.name, s);
      renderList();
    });
    es.addEventListener("deleted", (ev) => {
      remember(ev);
      const d = JSON.parse(ev.data);
      state.sandboxes.delete(d.name);
      if (state.selected === d.name) {
        state.selected = "";
        renderDetail();  // its panel closes with it
      }
      renderList();
    });
    es.addEventListener("operation", (ev) => {
      remember(ev);
      const op = JSON.parse(ev.data);
      if (op.sandbox === state.selected) {
        loadOperations();
        loadSnapshots();  // a restore's end lists its pre-restore snapshot
      }
    });
    es.addEventListener("error", () => {
      // A ticket opens one stream: reconnect with a new one, resuming where this one ended.
      if (state.events !== es) return;
      es.close();
      setLive(false, "reconnecting…");
      state.retry = setTimeout(startEvents, 1000);
    });
  }

  // --- signing in and out -------------------------------------------------------------------

  // Every sandbox the caller sees, a page at a time (each answer's "continue" names the next).
  async function listAll() {
    const items = [];
    let next = "";
    do {
      const query = "?limit=1000" + (next ? "&continue=" + encodeURIComponent(next) : "");
      const page = await api("GET", "/api/v1/sandboxes" + query);
      items.push(...(page.items || []));
      next = page.continue || "";
    } while (next);
    return items;
  }

  async function signIn(token) {
    state.token = token;
    try {
      const items = await listAll();
      sessionStorage.setItem(TOKEN_KEY, token);
      state.sandboxes = new Map(items.map((s) => [s.name, s]));
      $("signin-view").hidden = true;
      $("main-view").hidden = false;
      $("signout").hidden = false;
      showError($("signin-error"), null);
      renderList();
      startEvents();
    } catch (err) {
      state.token = "";
      sessionStorage.removeItem(TOKEN_KEY);
      showError($("signin-error"), err);
    }
  }

  function signOut(message) {
    stopEvents();
    state.token = "";
    state.sandboxes.clear();
    state.selected = "";
    state.lastEventId = "";
    sessionStorage.removeItem(TOKEN_KEY);
    $("main-view").hidden = true;
    $("signout").hidden = true;
    $("live").hidden = true;
    $("signin-view").hidden = false;
    $("token").value = "";
    showError($("signin-error"), message ? { message } : null);
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("signin-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      signIn($("token").value.trim());
    });
    $("signout").addEventListener("click", () => signOut());
    $("create-form").addEventListener("submit", onCreate);
    $("env-form").addEventListener("submit", onEnv);
    $("snapshot-form").addEventListener("submit", onSnapshot);
    $("snapshots-refresh").addEventListener("click", () => loadSnapshots());
    $("detail-close").addEventListener("click", () => {
      state.selected = "";
      $("detail").hidden = true;
    });
    if (state.token) signIn(state.token);
  });
})();
