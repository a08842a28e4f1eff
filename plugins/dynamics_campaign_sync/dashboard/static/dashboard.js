// Campaign Sync dashboard: draws the JSON API (same origin, so the Airflow login cookie goes along).
// DOM is built with createElement only: names and reasons come from Dynamics and specs, never as HTML.
"use strict";

const API = "api/campaigns";
const RUN_COUNTS = ["qualified", "to_add", "to_remove", "added", "removed", "failed", "not_ours", "already_gone",
                    "unresolved", "deleted_in_dynamics", "removed_in_dynamics", "restored", "requests"];

function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const svg = (tag, attrs, ...children) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  for (const child of children.flat()) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
};

const number = (value) => (value === null || value === undefined ? "–" : Number(value).toLocaleString("en-US"));
const when = (iso) => (iso ? iso.replace("T", " ").replace(/(\.\d+)?(\+00:00|Z)$/, " UTC") : "–");
const day = (iso) => (iso ? iso.slice(0, 10) : "–");
const badge = (text, kind) => h("span", { class: `badge ${kind || ""}` }, text || "–");
const empty = (text) => h("p", { class: "empty" }, text);

// Follow the Airflow UI's light/dark mode when framed by it (same origin); else the system preference.
function applyTheme() {
  let theme = null;
  try {
    const root = window.parent.document.documentElement;
    if (window.parent !== window) theme = root.classList.contains("dark") ? "dark" : "light";
  } catch (error) { /* not framed by Airflow */ }
  if (!theme) theme = window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  document.documentElement.dataset.theme = theme;
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.status === 401 || response.status === 403) {
    throw new Error("You are not signed in to Airflow, or may not read these campaign syncs. Sign in and reload.");
  }
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

function notice(kind, ...text) {
  document.getElementById("notices").append(h("div", { class: `notice ${kind}`, role: "status" }, ...text));
}

function person(item) {
  const label = item.source_person_id || item.email || item.person_id;
  return h("span", { title: item.person_id },
    label,
    item.email && item.email !== label ? h("span", { class: "muted small" }, ` ${item.email}`) : null);
}

function stat(label, value, field, kind) {
  return h("div", {}, h("dt", {}, label), h("dd", { "data-field": field, class: kind || "" }, number(value)));
}

// -- overview -----------------------------------------------------------------------------------------------

function overviewRow(campaign, select) {
  const c = campaign.campaign;
  const last = campaign.last_run;
  const open = (event) => {
    if (event.type === "click" || event.key === "Enter") select(campaign.key);
  };
  return h("tr", { "data-key": campaign.key, onclick: open, onkeydown: open, tabindex: 0 },
    h("td", {}, h("strong", {}, campaign.title), h("div", { class: "muted small mono" }, campaign.key),
      campaign.owner ? h("div", { class: "muted small" }, campaign.owner) : null),
    h("td", {}, c.name || h("span", { class: "muted" }, c.id ? "not in the catalog yet" : "not resolved yet"),
      c.id ? h("div", { class: "muted small mono" }, c.id) : null),
    h("td", {}, c.state ? badge(c.state, c.state.toLowerCase()) : "–", " ", c.status || ""),
    h("td", { class: "num", "data-field": "members.lead" }, number(campaign.members.lead)),
    h("td", { class: "num", "data-field": "members.contact" }, number(campaign.members.contact)),
    h("td", { class: "num", "data-field": "members.total" }, h("strong", {}, number(campaign.members.total))),
    h("td", {}, attemptCell(campaign.last_attempt),
      last ? h("span", { hidden: true, "data-field": "last_run.status" }, last.status) : null),
    h("td", { "data-field": "last_applied" }, campaign.last_applied
      ? h("span", { class: "small" }, day(campaign.last_applied.interval_end)) : h("span", { class: "muted" }, "never")),
    h("td", { class: "num add", "data-field": "totals.added" }, number(campaign.totals.added)),
    h("td", { class: "num remove", "data-field": "totals.removed" }, number(campaign.totals.removed)),
    h("td", { class: "num", "data-field": "not_ours" }, number(campaign.not_ours)));
}

function attemptCell(attempt) {
  if (!attempt) return h("span", { class: "muted", "data-field": "last_attempt.state" }, "never run");
  return h("div", {}, badge(attempt.state.replaceAll("_", " "), attempt.state), " ",
    h("span", { hidden: true, "data-field": "last_attempt.state" }, attempt.state),
    h("span", { class: "muted small" }, day(attempt.run_after)),
    attempt.failed_tasks.map((task) => h("div", { class: "small", "data-failed-task": task.task_id },
      `${task.task_id} ${task.state} `,
      h("a", { href: `..${task.log_url}`, target: "_top", onclick: (event) => event.stopPropagation() }, "log"),
      task.error ? h("div", { class: "mono small error-text", "data-field": "failed_task.error" }, task.error) : null)));
}

// -- detail -------------------------------------------------------------------------------------------------

function chart(timeline) {
  if (!timeline.length) return empty("No adds or removes recorded yet.");
  // Drawn at its natural size (text stays 11px); a long history gets thinner bars, never a wider chart.
  const height = 220, top = 18, bottom = 34, left = 40, right = 10;
  const width = Math.min(960, Math.max(480, left + right + 90 * timeline.length));
  const plotHeight = height - top - bottom;
  const peakAdd = Math.max(0, ...timeline.map((d) => d.added));
  const peakRemove = Math.max(0, ...timeline.map((d) => d.removed));
  const scale = plotHeight / Math.max(1, peakAdd + peakRemove);
  const axisY = top + peakAdd * scale;
  const slot = (width - left - right) / timeline.length;
  const bar = Math.max(2, Math.min(36, slot * 0.6));
  const every = Math.ceil(timeline.length / 12);
  const nodes = [
    svg("line", { class: "axis", x1: left, x2: width - right, y1: axisY, y2: axisY }),
    svg("text", { x: left - 6, y: top + 4, "text-anchor": "end" }, `+${peakAdd}`),
    svg("text", { x: left - 6, y: height - bottom + 4, "text-anchor": "end" }, `−${peakRemove}`),
  ];
  timeline.forEach((d, i) => {
    const x = left + slot * i + (slot - bar) / 2;
    const group = svg("g", { "data-date": d.date, "data-added": d.added, "data-removed": d.removed },
      svg("title", {}, `${d.date}: ${d.added} added, ${d.removed} removed`));
    if (d.added) {
      group.append(svg("rect", { class: "bar-add", x, y: axisY - d.added * scale, width: bar, height: d.added * scale }));
      group.append(svg("text", { x: x + bar / 2, y: axisY - d.added * scale - 4, "text-anchor": "middle" }, d.added));
    }
    if (d.removed) {
      group.append(svg("rect", { class: "bar-remove", x, y: axisY, width: bar, height: d.removed * scale }));
      group.append(svg("text", { x: x + bar / 2, y: axisY + d.removed * scale + 12, "text-anchor": "middle" }, d.removed));
    }
    if (i % every === 0) {
      group.append(svg("text", { x: x + bar / 2, y: height - 8, "text-anchor": "middle" }, d.date.slice(5)));
    }
    nodes.push(group);
  });
  // Member count after each day, on its own scale, as a line over the bars.
  const peakMembers = Math.max(1, ...timeline.map((d) => d.members));
  const points = timeline.map((d, i) => `${left + slot * i + slot / 2},${top + plotHeight - (d.members / peakMembers) * plotHeight}`);
  nodes.push(svg("polyline", { class: "members-line", points: points.join(" ") }));
  timeline.forEach((d, i) => nodes.push(svg("circle", { class: "members-dot", "data-members-date": d.date,
    "data-members": d.members, cx: left + slot * i + slot / 2, r: 3,
    cy: top + plotHeight - (d.members / peakMembers) * plotHeight }, svg("title", {}, `${d.date}: ${d.members} members`))));
  nodes.push(svg("text", { x: width - right, y: top - 6, "text-anchor": "end" }, `members ${timeline.at(-1).members}`));
  return h("div", { class: "chart" },
    svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": "Members, adds and removes per day" }, nodes),
    h("div", { class: "legend" }, h("span", {}, h("i", { style: "background:var(--accent)" }), "members"),
      h("span", {}, h("i", { style: "background:var(--add)" }), "added"),
      h("span", {}, h("i", { style: "background:var(--remove)" }), "removed"),
      h("span", {}, "by UTC day of the data interval end")));
}

function runCounts(plan) {
  const counts = plan.counts || {};
  return h("dl", { class: "stats" },
    RUN_COUNTS.filter((name) => name in counts).map((name) =>
      stat(name.replaceAll("_", " "), counts[name], `last_run.counts.${name}`)));
}

function table(headers, rows, attrs) {
  return h("div", { class: "table-wrap" }, h("table", attrs || {},
    h("thead", {}, h("tr", {}, headers.map(([label, cls]) => h("th", { class: cls || "" }, label)))),
    h("tbody", {}, rows)));
}

function detailView(d) {
  const c = d.campaign;
  const last = d.last_run;
  const dry = d.latest_dry_run;
  const runs = d.runs.map((run) => h("tr", { "data-run-id": run.run_id },
    h("td", { class: "mono small" }, run.run_id), h("td", {}, day(run.interval_end)),
    h("td", {}, badge(run.status.replace("_", " "), run.status)),
    h("td", { "data-field": "mode" }, run.mode === "trigger" ? badge("triggered", "trigger") : "batch"),
    ["qualified", "to_add", "to_remove", "added", "removed", "failed", "not_ours"].map((name) =>
      h("td", { class: "num" }, number((run.counts || {})[name]))),
    h("td", { class: "num", "data-field": "duration" }, run.duration_seconds === null ? "–" : `${run.duration_seconds.toFixed(1)} s`),
    h("td", { class: "num", "data-field": "requests" }, number(run.requests)),
    h("td", { class: "num", "data-field": "latency", title: "oldest activity of the triggered run to its last add" },
      run.latency_seconds === null ? "–" : `${run.latency_seconds.toFixed(1)} s`)));
  return h("div", { "data-key": d.key },
    h("div", { class: "detail-title" }, h("h2", {}, d.title), h("code", {}, d.key),
      d.owner ? h("span", { class: "muted" }, `owner ${d.owner}`) : null,
      h("a", { href: `../dags/${encodeURIComponent(d.dag_id)}`, target: "_top" }, `DAG ${d.dag_id}`),
      d.has_spec ? null : badge("no spec: kept for the members it still holds", "blocked")),
    d.description ? h("p", { class: "muted" }, d.description) : null,
    h("div", { class: "grid" },
      h("section", { class: "card" }, h("h3", {}, "Members we added"),
        h("dl", { class: "stats" }, stat("leads", d.members.lead, "members.lead"),
          stat("contacts", d.members.contact, "members.contact"), stat("total", d.members.total, "members.total"),
          stat("removed again", d.members.removed_total, "members.removed_total", "remove"),
          stat("not ours", d.not_ours, "not_ours"))),
      h("section", { class: "card" }, h("h3", {}, "Dynamics campaign"),
        h("p", {}, h("strong", {}, c.name || "–"), " ", c.state ? badge(c.state, c.state.toLowerCase()) : null,
          " ", c.status || ""),
        h("p", { class: "mono small muted" }, c.id || "campaign not resolved yet"),
        h("p", { class: "small muted" }, c.in_catalog ? `catalog refreshed ${when(c.refreshed_at)}`
          : "not in the catalog: run the dynamics_campaign_catalog DAG"),
        d.owned_lists.length ? table([["Owned list"], ["Type"], ["Verified"]], d.owned_lists.map((l) =>
          h("tr", { "data-member-type": l.member_type }, h("td", {}, l.list_name, h("div", { class: "mono small muted" }, l.list_id)),
            h("td", {}, l.member_type), h("td", { class: "small" }, when(l.association_verified_at)))))
          : empty("No owned lists yet.")),
      h("section", { class: "card" }, h("h3", {}, "Last run"),
        last ? [h("p", {}, badge(last.status.replace("_", " "), last.status), " ",
          h("span", { class: "mono small" }, last.run_id)),
          h("p", { class: "small muted" }, `interval ${when(last.interval_start)} → ${when(last.interval_end)}`),
          runCounts(last)] : empty("Never run."))),
    h("section", { class: "card" }, h("h3", {}, "Adds and removes over time"), chart(d.timeline)),
    eventsCard(d.key),
    h("section", { class: "card", "data-testid": "failures" }, h("h3", {}, "Failed people (latest run)"),
      d.failures.length ? table([["Action"], ["Person"], ["Dynamics error"]], d.failures.map((f) =>
        h("tr", { "data-person-id": f.person_id }, h("td", { class: f.action }, f.action), h("td", {}, personLink(f)),
          h("td", { class: "small mono" }, f.error)))) : empty("Nobody failed in the latest run.")),
    h("section", { class: "card", "data-testid": "cannot-act" }, h("h3", {}, "People we could not act on (latest run)"),
      last ? h("dl", { class: "explained" }, Object.entries(d.count_meanings).map(([name, meaning]) =>
        h("div", {}, h("dt", {}, `${name.replaceAll("_", " ")}: `, h("strong", { "data-field": `cannot.${name}` },
          number((last.counts || {})[name] ?? 0))), h("dd", { class: "small muted" }, meaning),
          namedPeople(name, (last.details || {})[name])))) : empty("Never run.")),
    h("section", { class: "card", "data-testid": "drift" }, h("h3", {}, "Drift: changed in Dynamics"),
      d.drift.length ? table([["Noticed"], ["State"], ["Type"], ["Person"], ["Why"]], d.drift.map((p) =>
        h("tr", { "data-person-id": p.person_id }, h("td", { class: "small" }, when(p.noticed_at)),
          h("td", {}, badge(p.state.replaceAll("_", " "), p.state)), h("td", {}, p.member_type),
          h("td", {}, person(p)), h("td", { class: "small" }, p.why || "–"))))
        : empty("Nobody we added was deleted in Dynamics or taken out of our lists there.")),
    h("section", { class: "card", "data-testid": "dry-run" }, h("h3", {}, "Latest dry run"),
      dry ? [h("p", {}, h("span", { class: "mono small" }, dry.run_id), " ",
        h("span", { class: "small muted" }, `interval end ${when(dry.interval_end)}`)),
      h("dl", { class: "stats" }, stat("to add", dry.counts.to_add, "dry_run.to_add", "add"),
        stat("to remove", dry.counts.to_remove, "dry_run.to_remove", "remove"),
        stat("qualified", dry.counts.qualified, "dry_run.qualified"), stat("not ours", dry.counts.not_ours, "dry_run.not_ours")),
      dry.items.length ? table([["Action"], ["Type"], ["Person"], ["Why"]], dry.items.map((item) =>
        h("tr", {}, h("td", { class: item.action }, item.action), h("td", {}, item.member_type),
          h("td", {}, person(item)), h("td", { class: "small" }, item.why || "–")))) : null]
        : empty("No dry run recorded. Trigger the DAG with dry_run = true to preview a plan.")),
    h("section", { class: "card" }, h("h3", {}, "Run history"),
      runs.length ? table([["Run"], ["Interval end"], ["Outcome"], ["Mode"], ["Qualified", "num"], ["To add", "num"],
        ["To remove", "num"], ["Added", "num"], ["Removed", "num"], ["Failed", "num"], ["Not ours", "num"], ["Duration", "num"],
        ["Requests", "num"], ["Activity → member", "num"]], runs)
        : empty("No runs yet.")),
    h("section", { class: "card" }, h("h3", {}, "Smart list"),
      d.rules.filters.length ? [h("ol", { class: "rules" }, d.rules.filters.map((f) => h("li", { value: f.number }, f.text))),
        h("p", { class: "small muted" }, "Logic: ", h("code", {}, d.rules.logic))] : empty("No spec.")));
}

const eventRow = (e) => h("tr", { "data-event-id": e.event_id },
  h("td", { class: "small" }, when(e.recorded_at)),
  h("td", { class: e.action }, e.action === "add" ? "added" : "removed"),
  h("td", {}, e.member_type), h("td", {}, personLink(e)), h("td", { class: "small" }, e.why || "–"),
  h("td", { class: "mono small" }, e.run_id));

function personLink(item) {
  return h("a", { href: `#person=${encodeURIComponent(item.person_id)}`, "data-person": item.person_id }, person(item));
}

// Events, paged on the server: filter by day range, action and a search; the CSV link exports the same filter.
function eventsCard(key) {
  const size = 50;
  const form = h("form", { class: "filters", "data-testid": "event-filters" },
    h("label", {}, "From ", h("input", { type: "date", name: "since" })),
    h("label", {}, "To ", h("input", { type: "date", name: "until" })),
    h("label", {}, "Action ", h("select", { name: "action" }, h("option", { value: "" }, "all"),
      h("option", { value: "add" }, "added"), h("option", { value: "remove" }, "removed"))),
    h("input", { type: "search", name: "q", placeholder: "Dynamics id, source id, email, name" }),
    h("button", { type: "submit" }, "Filter"));
  const list = table([["Recorded"], ["Action"], ["Type"], ["Person"], ["Why (smart list rules)"], ["Run"]], [],
    { "data-testid": "events" });
  const body = list.querySelector("tbody");
  const status = h("span", { class: "small muted", "data-field": "events.shown" });
  const prev = h("button", { type: "button" }, "‹ Newer");
  const next = h("button", { type: "button" }, "Older ›");
  const csv = h("a", { "data-testid": "events-csv" }, "Export CSV");
  let offset = 0;
  const query = () => {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) if (value) params.set(name, value);
    return params;
  };
  const load = async () => {
    const params = query();
    csv.href = `${API}/${encodeURIComponent(key)}/events.csv?${params}`;
    params.set("limit", size); params.set("offset", offset);
    try {
      const page = await getJSON(`${API}/${encodeURIComponent(key)}/events?${params}`);
      body.replaceChildren(...page.events.map(eventRow));
      status.textContent = page.total ? `${offset + 1}–${offset + page.events.length} of ${page.total}` : "no events match";
      status.dataset.total = page.total;
      prev.disabled = offset === 0;
      next.disabled = offset + page.events.length >= page.total;
    } catch (error) {
      status.textContent = error.message;
    }
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); offset = 0; load(); });
  prev.addEventListener("click", () => { offset = Math.max(0, offset - size); load(); });
  next.addEventListener("click", () => { offset += size; load(); });
  load();
  return h("section", { class: "card" }, h("h3", {}, "Events"), form, list,
    h("div", { class: "pager" }, prev, status, next, csv));
}

// -- person ----------------------------------------------------------------------------------------------------

const runLink = (dagId, runId) => h("a", { href: `../dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(runId)}`,
  target: "_top", class: "mono small" }, runId);

function personView(p) {
  const section = (title, testid, rows, headers, none) => h("section", { class: "card", "data-testid": testid },
    h("h3", {}, title), rows.length ? table(headers, rows) : empty(none));
  return h("div", { "data-person-query": p.query },
    h("div", { class: "detail-title" }, h("h2", {}, `Person ${p.query}`),
      h("span", { class: "muted small mono" }, [...p.dynamics_ids, ...p.source_ids].join(" · "))),
    section("Memberships", "person-memberships", p.memberships.map((m) => h("tr", {},
      h("td", {}, m.campaign_key), h("td", {}, badge(m.state.replaceAll("_", " "), m.state)), h("td", {}, m.member_type),
      h("td", { class: "small" }, when(m.added_at)), h("td", { class: "small" }, when(m.removed_at)))),
      [["Campaign"], ["State"], ["Type"], ["Added"], ["Removed"]], "Never a member through us."),
    section("Qualified", "person-qualifications", p.qualifications.map((q) => h("tr", {},
      h("td", {}, q.campaign_key), h("td", { class: "small" }, when(q.qualified_at)),
      h("td", {}, q.counted ? "counted" : "blocked by the qualification rule"), h("td", {}, runLink(q.dag_id, q.run_id)))),
      [["Campaign"], ["Qualified at"], ["Counted"], ["Run"]], "Never qualified."),
    section("What we did", "person-events", p.events.map((e) => h("tr", { "data-event-id": e.event_id },
      h("td", { class: "small" }, when(e.recorded_at)), h("td", {}, e.campaign_key),
      h("td", { class: e.action }, e.action === "add" ? "added" : "removed"), h("td", { class: "small" }, e.why || "–"),
      h("td", {}, runLink(e.dag_id, e.run_id)))),
      [["Recorded"], ["Campaign"], ["Action"], ["Why (rules)"], ["Run"]], "Nothing added or removed."),
    section("Planned", "person-plans", p.plan_items.map((i) => h("tr", {},
      h("td", {}, i.campaign_key), h("td", {}, badge(i.plan_status.replaceAll("_", " "), i.plan_status)),
      h("td", { class: i.action }, i.action), h("td", { class: "small" }, i.why || "–"), h("td", {}, runLink(i.dag_id, i.run_id)))),
      [["Campaign"], ["Plan"], ["Action"], ["Why (rules)"], ["Run"]], "In no plan."),
    section("Failed", "person-failures", p.failures.map((f) => h("tr", {},
      h("td", {}, f.campaign_key), h("td", { class: f.action }, f.action), h("td", { class: "small mono" }, f.error),
      h("td", {}, runLink(f.dag_id, f.run_id)))),
      [["Campaign"], ["Action"], ["Dynamics error"], ["Run"]], "No failures."));
}

async function showPerson(who) {
  const target = document.getElementById("detail");
  try {
    const p = await getJSON(`api/people/${encodeURIComponent(who)}`);
    target.replaceChildren(personView(p));
    target.dataset.loaded = `person:${who}`;
  } catch (error) {
    target.replaceChildren(h("div", { class: "notice error" }, error.message));
  }
}

// -- wiring -------------------------------------------------------------------------------------------------

async function showDetail(key) {
  document.querySelectorAll("#overview tbody tr").forEach((row) =>
    row.classList.toggle("selected", row.dataset.key === key));
  const target = document.getElementById("detail");
  try {
    const d = await getJSON(`${API}/${encodeURIComponent(key)}`);
    target.replaceChildren(detailView(d));
    target.dataset.loaded = key;
  } catch (error) {
    target.replaceChildren(h("div", { class: "notice error" }, error.message));
  }
}

async function main() {
  applyTheme();
  const body = document.querySelector("#overview tbody");
  let data;
  try {
    data = await getJSON(API);
  } catch (error) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 11 }, error.message)));
    notice("error", error.message);
    return;
  }
  document.getElementById("generated").textContent = `as of ${when(data.generated_at)}`;
  if (!data.ledger.available) notice("warn", data.ledger.message);
  data.spec_errors.forEach((message) => notice("error", "Spec problem: ", h("code", {}, message)));
  const select = (key) => {
    if (location.hash !== `#${key}`) history.replaceState(null, "", `#${key}`);
    showDetail(key);
  };
  body.replaceChildren(...(data.campaigns.length ? data.campaigns.map((c) => overviewRow(c, select))
    : [h("tr", {}, h("td", { colspan: 11, class: "muted" }, "No campaign syncs you may read."))]));
  document.getElementById("catalog").replaceChildren(data.dynamics_campaigns.length
    ? table([["Name"], ["Campaign id"], ["State"], ["Status"], ["Synced by"]], data.dynamics_campaigns.map((c) =>
      h("tr", { "data-campaign-id": c.campaign_id }, h("td", {}, c.name), h("td", { class: "mono small" }, c.campaign_id),
        h("td", {}, c.state === 0 ? "Active" : "Inactive"), h("td", {}, String(c.status)),
        h("td", {}, c.synced_by || h("span", { class: "muted" }, "not synced")))))
    : empty("No catalog yet: run the dynamics_campaign_catalog DAG."));
  document.body.dataset.loaded = "overview";
  const route = () => {
    const wanted = decodeURIComponent(location.hash.slice(1));
    if (wanted.startsWith("person=")) return showPerson(wanted.slice("person=".length));
    const first = data.campaigns.find((c) => c.key === wanted) || data.campaigns[0];
    if (first) select(first.key);
  };
  window.addEventListener("hashchange", route);
  document.getElementById("person-search").addEventListener("submit", (event) => {
    event.preventDefault();
    const who = new FormData(event.target).get("who").trim();
    if (who) location.hash = `person=${encodeURIComponent(who)}`;
  });
  route();
}

document.addEventListener("DOMContentLoaded", main);

// The people a plan could not act on, by name with why (the plan's details name up to 200 per kind).
function namedPeople(kind, people) {
  if (!Array.isArray(people) || !people.length) return null;
  return h("ul", { class: "small named", "data-testid": `named.${kind}` }, people.map((p) =>
    h("li", { "data-person-id": p.person_id || p.source_person_id },
      h("span", { class: "mono" }, p.person_id || p.source_person_id),
      p.person_id && p.source_person_id ? ` (source ${p.source_person_id})` : "", p.why ? ` — ${p.why}` : "")));
}
