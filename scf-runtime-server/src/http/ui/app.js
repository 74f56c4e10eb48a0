// The cargo scf serve dashboard: renders the snapshots of /ui/api/stream (Server-Sent Events) and
// acts through the server's own routes. No framework, no build step.
"use strict";

const $ = (selector) => document.querySelector(selector);

// A small hook for tests and curious people: when the page loaded and how many snapshots it got.
window.scfDashboard = { loadedAt: Date.now(), snapshots: 0 };

const state = {
  selected: decodeURIComponent((location.hash.match(/^#fn=(.+)$/) || [])[1] || ""),
  source: null,
  expanded: new Set(),
  fixturesFor: null,
  eventsOffset: 0,
  eventsLimit: 20,
  countsKey: "",
  expandedEvents: new Set(),
};

// ---- helpers ----

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  return node;
}

function ms(value) {
  if (value === null || value === undefined) return "–";
  if (value >= 1000) return (value / 1000).toFixed(2) + " s";
  if (value >= 10) return value.toFixed(0) + " ms";
  return value.toFixed(1) + " ms";
}

function bytes(value) {
  if (!value) return "–";
  if (value >= 1 << 30) return (value / (1 << 30)).toFixed(1) + " GB";
  if (value >= 1 << 20) return (value / (1 << 20)).toFixed(1) + " MB";
  return (value / 1024).toFixed(0) + " KB";
}

function age(msValue) {
  const s = Math.floor(msValue / 1000);
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
  return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
}

function clock(unixMs) {
  return new Date(unixMs).toLocaleTimeString([], { hour12: false });
}

function percent(part, whole) {
  if (!whole) return "–";
  return ((100 * part) / whole).toFixed(1) + " %";
}

function shortId(id) {
  return id ? id.slice(0, 8) : "–";
}

async function api(path, options) {
  const response = await fetch(path, options);
  const text = await response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch (_) {
    // not JSON: keep the text
  }
  if (!response.ok) {
    const message = body && body.message ? body.message : text;
    throw new Error(response.status + ": " + message);
  }
  return body;
}

function replaceRows(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// ---- the live stream ----

function connect() {
  if (state.source) state.source.close();
  const query = state.selected ? "?function=" + encodeURIComponent(state.selected) : "";
  const source = new EventSource("/ui/api/stream" + query);
  state.source = source;
  source.addEventListener("snapshot", (message) => {
    window.scfDashboard.snapshots += 1;
    const live = $("#live");
    live.textContent = "live";
    live.className = "badge live";
    render(JSON.parse(message.data));
  });
  source.onerror = () => {
    const live = $("#live");
    live.textContent = "reconnecting…";
    live.className = "badge down";
  };
}

function render(snapshot) {
  $("#in-flight").textContent = snapshot.in_flight + " in flight";
  renderFunctions(snapshot.functions);
  if (snapshot.detail) renderDetail(snapshot.detail);
  const key = JSON.stringify(snapshot.event_counts);
  if (snapshot.event_counts && key !== state.countsKey) {
    state.countsKey = key;
    renderEventCounts(snapshot.event_counts, snapshot.functions);
    loadEvents();
  }
}

// ---- functions ----

function renderFunctions(functions) {
  $("#no-functions").hidden = functions.length > 0;
  const rows = functions.map((f) => {
    const a = f.activity;
    const triggers = f.triggers.map((t) => t.kind).join(", ") || "–";
    const row = el(
      "tr",
      {
        "data-function": f.name,
        class: f.name === state.selected ? "selected clickable" : "clickable",
        onclick: () => select(f.name),
      },
      el("td", { class: "name" }, f.name),
      el("td", { class: "kind" }, f.type),
      el("td", { class: "triggers" }, triggers),
      el(
        "td",
        { class: "instances", title: "busy / idle / starting" },
        f.counts.busy + " / " + f.counts.idle + " / " + f.counts.starting,
      ),
      el("td", { class: "rate num" }, a.per_second.toFixed(1)),
      el("td", { class: "invocations num" }, f.invocations_total),
      el("td", { class: "errors num" + (a.errors_total ? " bad" : "") }, a.errors_total),
      el(
        "td",
        { class: "error-rate num" },
        percent(a.last_minute.errors, a.last_minute.invocations),
      ),
      el("td", { class: "p50 num" }, ms(a.p50_ms)),
      el("td", { class: "p99 num" }, ms(a.p99_ms)),
      el("td", { class: "cold num" }, f.cold_starts_total),
      el("td", { class: "mem num" }, bytes(a.mem_peak_bytes)),
    );
    return row;
  });
  replaceRows($("#functions tbody"), rows);
  const names = functions.map((f) => f.name).sort();
  const select = $("#event-function");
  const have = Array.from(select.options).map((o) => o.value).slice(1);
  if (have.join() !== names.join()) {
    const current = select.value;
    select.replaceChildren(
      el("option", { value: "" }, "all"),
      ...names.map((n) => el("option", { value: n }, n)),
    );
    select.value = current;
  }
}

function select(name) {
  if (state.selected === name) return;
  state.selected = name;
  state.expanded.clear();
  history.replaceState(null, "", "#fn=" + encodeURIComponent(name));
  connect();
}

// ---- one function ----

function renderDetail(detail) {
  const f = detail.function;
  $("#detail-pane").hidden = false;
  $("#detail-name").textContent = f.name;
  $("#detail-kind").textContent = f.type;

  $("#no-instances").hidden = detail.instances.length > 0;
  replaceRows(
    $("#instances tbody"),
    detail.instances.map((i) =>
      el(
        "tr",
        { "data-instance": i.id },
        el("td", {}, i.id),
        el("td", {}, i.pid),
        el("td", { class: "state-" + i.state }, i.state),
        el("td", {}, age(i.age_ms)),
        el("td", { class: "num" }, bytes(i.rss_bytes)),
        el("td", { class: "num" }, i.invocations),
        el("td", { class: "mono" }, i.request_id || "–"),
      ),
    ),
  );

  $("#triggers").replaceChildren(
    ...(f.triggers.length
      ? f.triggers.map((t) =>
          el(
            "li",
            {},
            el("b", {}, t.kind),
            " ",
            t.detail,
            t.next_fire ? el("span", { class: "muted" }, " · next " + t.next_fire) : null,
          ),
        )
      : [el("li", { class: "muted" }, "none: invoked through the invoke API or the Cloud API")]),
  );

  renderTimeline(detail.timeline);
  renderLatency(detail.latency);
  if (state.fixturesFor !== f.name) {
    state.fixturesFor = f.name;
    renderFixtures(detail.fixtures, detail.suggested_fixtures, f.type);
  }
  if (detail.recent) renderRecent(detail.recent);
}

function renderTimeline(points) {
  const chart = $("#timeline");
  const width = 300;
  const height = 80;
  const peak = Math.max(1, ...points.map((p) => p.invocations));
  const step = width / Math.max(1, points.length);
  const bars = [];
  let total = 0;
  let errors = 0;
  points.forEach((p, i) => {
    total += p.invocations;
    errors += p.errors;
    if (!p.invocations) return;
    const h = (p.invocations / peak) * (height - 4);
    const e = (p.errors / peak) * (height - 4);
    const bar = svg("rect", {
      x: i * step,
      y: height - h,
      width: Math.max(step, 1),
      height: h - e,
      class: "ok",
    });
    bar.append(svg("title", {}));
    bar.lastChild.textContent = clock(p.unix * 1000) + ": " + p.invocations + " invocations, " + p.errors + " errors";
    bars.push(bar);
    if (p.errors) {
      bars.push(svg("rect", { x: i * step, y: height - e, width: Math.max(step, 1), height: e, class: "err" }));
    }
  });
  chart.replaceChildren(svg("line", { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: "base" }), ...bars);
  $("#timeline-total").textContent = "· " + total + " invocations, " + errors + " errors · peak " + peak + "/s";
}

function renderLatency(buckets) {
  const chart = $("#latency");
  const width = 280;
  const height = 80;
  const peak = Math.max(1, ...buckets.map((b) => b.count));
  const step = width / buckets.length;
  const bars = buckets.map((b, i) => {
    const h = (b.count / peak) * (height - 4);
    const rect = svg("rect", { x: i * step + 1, y: height - h, width: step - 2, height: h, class: "ok" });
    const title = svg("title", {});
    title.textContent = (b.le_ms === null ? "longer" : "< " + b.le_ms + " ms") + ": " + b.count;
    rect.append(title);
    return rect;
  });
  chart.replaceChildren(svg("line", { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: "base" }), ...bars);
  $("#latency-axis").replaceChildren(
    ...buckets.map((b) =>
      el("span", {}, b.le_ms === null ? "more" : "<" + (b.le_ms >= 1000 ? b.le_ms / 1000 + "s" : b.le_ms)),
    ),
  );
}

function renderRecent(recent) {
  $("#no-recent").hidden = recent.length > 0;
  const rows = [];
  for (const r of recent) {
    const key = r.request_id + "@" + r.ended_ms;
    const failed = r.status_code >= 300;
    rows.push(
      el(
        "tr",
        {
          class: "clickable invocation" + (failed ? " failed" : ""),
          "data-request-id": r.request_id,
          onclick: () => {
            if (state.expanded.has(key)) state.expanded.delete(key);
            else state.expanded.add(key);
            renderRecent(recent);
          },
        },
        el("td", {}, clock(r.ended_ms)),
        el("td", { class: "mono", title: r.request_id }, shortId(r.request_id)),
        el("td", { class: "status num" + (failed ? " bad" : "") }, r.status_code),
        el("td", { class: "num" }, r.duration_ms ? ms(r.duration_ms) : "–"),
        el("td", { class: "num" }, bytes(r.mem_bytes)),
        el("td", {}, r.cold_start ? "cold" : ""),
        el("td", { class: "error-message" }, r.error),
      ),
    );
    if (state.expanded.has(key)) {
      rows.push(
        el(
          "tr",
          { class: "log-row", "data-log-for": r.request_id },
          el(
            "td",
            { colSpan: 7 },
            el("div", { class: "mono muted" }, "request id " + (r.request_id || "(none)")),
            el("pre", { class: "log" }, r.log || "(no log lines)"),
          ),
        ),
      );
    }
  }
  replaceRows($("#recent tbody"), rows);
}

function renderFixtures(all, suggested, kind) {
  const select = $("#fixture");
  const form = $("#invoke-form");
  form.hidden = kind === "web";
  if (kind === "web") {
    $("#invoke-result").hidden = false;
    $("#invoke-result").textContent = "A web function takes HTTP requests through its triggers.";
    return;
  }
  $("#invoke-result").hidden = true;
  const others = all.filter((n) => !suggested.includes(n));
  select.replaceChildren(
    el("option", { value: "" }, "(write your own)"),
    el("optgroup", { label: "for its triggers" }, ...suggested.map((n) => el("option", { value: n }, n))),
    el("optgroup", { label: "other triggers" }, ...others.map((n) => el("option", { value: n }, n))),
  );
}

$("#fixture").addEventListener("change", async (e) => {
  if (!e.target.value) return;
  const fixture = await api("/ui/api/fixtures/" + encodeURIComponent(e.target.value));
  $("#payload").value = JSON.stringify(fixture, null, 2);
});

$("#invoke-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = $("#invoke-result");
  out.hidden = false;
  out.textContent = "invoking…";
  const headers = { "X-Scf-Log-Type": "Tail" };
  if ($("#invoke-async").checked) headers["X-Scf-Invocation-Type"] = "Event";
  try {
    const response = await fetch("/functions/" + encodeURIComponent(state.selected) + "/invocations", {
      method: "POST",
      headers,
      body: $("#payload").value,
    });
    const body = await response.text();
    const h = (name) => response.headers.get(name);
    const lines = [
      "HTTP " + response.status + " · request id " + (h("x-scf-request-id") || "–"),
    ];
    if (h("x-scf-duration-ms")) lines.push("duration " + h("x-scf-duration-ms") + " ms · memory " + bytes(Number(h("x-scf-mem-usage"))));
    lines.push("", body);
    if (h("x-scf-log")) {
      const raw = atob(h("x-scf-log"));
      const text = new TextDecoder().decode(Uint8Array.from(raw, (c) => c.charCodeAt(0)));
      lines.push("", "── log ──", text);
    }
    out.textContent = lines.join("\n");
    out.className = response.ok ? "" : "bad";
  } catch (err) {
    out.textContent = String(err);
    out.className = "bad";
  }
});

// ---- async events ----

function renderEventCounts(counts, functions) {
  const names = Object.keys(counts).sort();
  replaceRows(
    $("#event-counts tbody"),
    names.length
      ? names.map((name) => {
          const c = counts[name];
          return el(
            "tr",
            { "data-function": name },
            el("td", {}, name),
            el("td", { class: "num queued" }, c.queued),
            el("td", { class: "num running" }, c.running),
            el("td", { class: "num retrying" }, c.retrying),
            el("td", { class: "num succeeded" }, c.succeeded),
            el("td", { class: "num dead-lettered" + (c.dead_lettered ? " bad" : "") }, c.dead_lettered),
            el("td", { class: "num aborted" }, c.aborted),
          );
        })
      : [el("tr", {}, el("td", { colSpan: 7, class: "muted" }, counts.error || "none"))],
  );
}

async function loadEvents() {
  const params = new URLSearchParams({ offset: state.eventsOffset, limit: state.eventsLimit });
  if ($("#event-function").value) params.set("function", $("#event-function").value);
  if ($("#event-status").value) params.set("status", $("#event-status").value);
  let page;
  try {
    page = await api("/ui/api/events?" + params);
  } catch (err) {
    $("#no-events").hidden = false;
    $("#no-events").textContent = String(err);
    return;
  }
  renderEventCounts(page.counts, []);
  const first = page.total ? state.eventsOffset + 1 : 0;
  const last = Math.min(page.total, state.eventsOffset + page.events.length);
  $("#events-page").textContent = first + "–" + last + " of " + page.total;
  $("#events-prev").disabled = state.eventsOffset === 0;
  $("#events-next").disabled = last >= page.total;
  $("#no-events").hidden = page.total > 0;
  $("#no-events").textContent = "No async event is kept.";
  const rows = [];
  for (const ev of page.events) {
    const dead = ev.status === "FAILED";
    const actions = el("td", { class: "actions" });
    if (dead) {
      actions.append(
        el("button", { type: "button", class: "replay", onclick: (e) => act(e, () => replay(ev.request_id)) }, "Replay"),
        el("button", { type: "button", class: "purge danger", onclick: (e) => act(e, () => purge([ev.request_id])) }, "Purge"),
      );
    }
    if (ev.state === "queued") {
      actions.append(el("button", { type: "button", class: "abort", onclick: (e) => act(e, () => abort(ev.request_id)) }, "Abort"));
    }
    rows.push(
      el(
        "tr",
        {
          class: "clickable event" + (dead ? " failed" : ""),
          "data-request-id": ev.request_id,
          onclick: () => toggleEvent(ev.request_id),
        },
        el("td", {}, ev.created),
        el("td", { class: "mono", title: ev.request_id }, shortId(ev.request_id)),
        el("td", {}, ev.function),
        el("td", {}, ev.source),
        el("td", { class: "status" + (dead ? " bad" : "") }, dead ? "DEAD-LETTERED" : ev.state === "in_flight" ? "RUNNING (in flight)" : ev.status),
        el("td", { class: "attempts num" }, ev.attempts),
        el("td", { class: "error-message" }, ev.error ? ev.error.code + " " + ev.error.message : ""),
        actions,
      ),
    );
    if (state.expandedEvents.has(ev.request_id)) {
      const cell = el("td", { colSpan: 8 }, "loading…");
      rows.push(el("tr", { class: "log-row", "data-event-for": ev.request_id }, cell));
      api("/async/events/" + encodeURIComponent(ev.request_id))
        .then((full) => {
          cell.replaceChildren(
            el(
              "dl",
              {},
              el("dt", {}, "request id"), el("dd", { class: "mono" }, full.request_id),
              el("dt", {}, "attempts"), el("dd", {}, full.attempts + " (retries " + full.retry_num + ")"),
              el("dt", {}, "started"), el("dd", {}, full.started || "–"),
              el("dt", {}, "ended"), el("dd", {}, full.ended || "–"),
              el("dt", {}, "next attempt"), el("dd", {}, full.next_attempt || "–"),
              el("dt", {}, "last error"), el("dd", {}, full.error ? full.error.code + " " + full.error.message : "–"),
              el("dt", {}, "given up"), el("dd", {}, full.give_up || "–"),
            ),
            el("pre", { class: "log" }, full.payload !== undefined ? full.payload : "(payload no longer kept)"),
          );
        })
        .catch((err) => cell.replaceChildren(String(err)));
    }
  }
  replaceRows($("#events tbody"), rows);
}

function toggleEvent(id) {
  if (state.expandedEvents.has(id)) state.expandedEvents.delete(id);
  else state.expandedEvents.add(id);
  loadEvents();
}

async function act(e, action) {
  e.stopPropagation();
  const button = e.target;
  button.disabled = true;
  try {
    await action();
  } catch (err) {
    alert(String(err));
  }
  await loadEvents();
}

function post(path, body) {
  return api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function replay(id) {
  return post("/async/dlq/replay", { request_ids: [id] });
}

function purge(ids) {
  const what = ids.length ? "this dead letter" : "every dead letter" + ($("#event-function").value ? " of " + $("#event-function").value : "");
  if (!confirm("Delete " + what + " for good?")) return Promise.resolve();
  const body = { request_ids: ids };
  if ($("#event-function").value) body.function = $("#event-function").value;
  return post("/async/dlq/purge", body);
}

function abort(id) {
  return post("/async/events/" + encodeURIComponent(id) + "/abort");
}

$("#event-function").addEventListener("change", () => {
  state.eventsOffset = 0;
  loadEvents();
});
$("#event-status").addEventListener("change", () => {
  state.eventsOffset = 0;
  loadEvents();
});
$("#events-prev").addEventListener("click", () => {
  state.eventsOffset = Math.max(0, state.eventsOffset - state.eventsLimit);
  loadEvents();
});
$("#events-next").addEventListener("click", () => {
  state.eventsOffset += state.eventsLimit;
  loadEvents();
});
$("#purge-all").addEventListener("click", (e) => act(e, () => purge([])));

// Events change without their counts changing (a retry's error, an attempt starting): refresh
// the list now and then too.
setInterval(loadEvents, 5000);

connect();
loadEvents();
