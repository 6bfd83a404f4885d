// casegrid's web console (docs/console.md): a page per hash route, built from
// the HTTP API (/v1, docs/http.md) with the signed-in user's token. Text from
// the server is put in the page as text, never as markup.
"use strict";

// ---- the page and the API ----

// h("td", {class: "x"}, "text", child...): an element; strings become text nodes.
function h(tag, attrs, ...children) {
  const svg = ["svg", "rect", "text", "g", "line"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag)
                 : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const app = () => document.getElementById("app");
function show(...nodes) { app().replaceChildren(...nodes.flat().filter((n) => n && n !== true)); }
function token() { return sessionStorage.getItem("casegrid.token"); }

class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || String(status));
    this.status = status;
    this.problem = problem;
  }
}

// A call with the token: `body` goes as JSON, or as it is (a File, a Blob)
// when its `type` is given; the answer's JSON, or its text.
async function api(method, path, body, type) {
  const headers = {};
  if (token()) headers.Authorization = "Bearer " + token();
  if (body !== undefined) headers["Content-Type"] = type || "application/json";
  const res = await fetch(path, {method, headers,
                                 body: body === undefined ? undefined : type ? body : JSON.stringify(body)});
  const got = res.headers.get("Content-Type") || "";
  const data = got.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw problemError(res.status, data);
  return data;
}

function problemError(status, data) {
  const problem = typeof data === "object" ? data : {detail: data};
  if (!problem.detail && status === 413) problem.detail = t("too_large");
  return new ApiError(status, problem);
}

// Content the page shows from a blob: URL (an <img> cannot send the token).
// The URLs of the case page shown last are let go when it is drawn again.
let blobUrls = [];
async function apiBlob(path) {
  const res = await fetch(path, {headers: {Authorization: "Bearer " + token()}});
  if (!res.ok) {
    const got = res.headers.get("Content-Type") || "";
    throw problemError(res.status, got.includes("json") ? await res.json() : await res.text());
  }
  const url = URL.createObjectURL(await res.blob());
  blobUrls.push(url);
  return url;
}
function releaseBlobs() {
  for (const url of blobUrls) URL.revokeObjectURL(url);
  blobUrls = [];
}

function time(s) { return s ? s.replace("T", " ").replace(/:\d\d(\.\d+)?(\+08:00|Z)?$/, "") : "-"; }
function roleName(r) { return t("role_" + r); }

// ---- who is signed in ----

let me = null;  // GET /v1/me

async function signedIn() {
  if (!token()) return false;
  if (me) return true;
  try {
    me = await api("GET", "/v1/me");
    return true;
  } catch (e) {
    if (e.status === 401) sessionStorage.removeItem("casegrid.token");
    return false;
  }
}

function grantsWith(...roles) { return me ? me.grants.filter((g) => roles.includes(g.role)) : []; }

function drawHeader() {
  const nav = document.getElementById("nav");
  const links = [h("a", {href: "#/citizen", id: "nav-citizen"}, t("citizen"))];
  if (me) {
    links.push(h("a", {href: "#/"}, t("home")));
    for (const g of grantsWith("unit", "grid_inspector")) links.push(h("a", {href: "#/inbox/" + g.unit, class: "nav-inbox"}, t("inbox")));
    if (grantsWith("window", "hotline", "grid_inspector").length) links.push(h("a", {href: "#/intake", id: "nav-intake"}, t("intake")));
    links.push(h("a", {href: "#/overdue"}, t("overdue")));
    links.push(h("a", {href: "#/dashboard", id: "nav-dashboard"}, t("dashboard")));
    links.push(h("a", {href: "#/workflows"}, t("workflows")));
  }
  nav.replaceChildren(...links);
  document.getElementById("who").textContent = me ? `${me.name || me.user} (${me.user})` : "";
  document.getElementById("signout").hidden = !me;
  document.getElementById("lang").textContent = lang() === "zh" ? "English" : "中文";
  document.documentElement.lang = lang() === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
}

// ---- pages ----

function loginPage(error) {
  const form = h("form", {id: "login"},
    h("label", {}, t("user"), h("input", {name: "user", id: "user", autocomplete: "username", required: true})),
    h("label", {}, t("password"), h("input", {name: "password", id: "password", type: "password",
                                              autocomplete: "current-password", required: true})),
    error ? h("p", {class: "error", id: "login-error"}, error) : null,
    h("button", {class: "primary", type: "submit", id: "signin"}, t("signin")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const s = await api("POST", "/v1/sessions", {user: form.user.value, password: form.password.value});
      sessionStorage.setItem("casegrid.token", s.token);
      me = null;
      location.hash = "#/";
      route();
    } catch (e) {
      loginPage(e.status === 401 ? t("wrong") : e.message);
    }
  });
  show(h("h1", {}, t("signin")), form);
}

async function homePage() {
  const rows = me.grants.map((g) => h("tr", {},
    h("td", {}, roleName(g.role)), h("td", {}, `${g.unit_name} (${g.unit})`),
    h("td", {}, ["unit", "grid_inspector", "centre"].includes(g.role)
                  ? h("a", {href: "#/inbox/" + g.unit}, t("inbox")) : "")));
  show(h("h1", {}, t("my_grants")), h("table", {}, h("tr", {}, h("th", {}, "role"), h("th", {}, t("unit")), h("th", {})), rows));
}

function deadlineClass(c) { return c.overdue ? "breached" : c.warned ? "warned" : ""; }

async function inboxPage(unit) {
  const inbox = await api("GET", "/v1/inbox/" + encodeURIComponent(unit));
  const head = h("tr", {}, [t("next_due"), t("deadline"), t("case"), t("state"), t("category"), t("level"),
                            t("summary")].map((x) => h("th", {}, x)));
  const rows = inbox.cases.map((c) => h("tr", {class: "inbox-row", "data-case": c.case_id},
    h("td", {class: deadlineClass(c)}, time(c.next_due)),
    h("td", {class: deadlineClass(c)}, c.next_deadline + (c.overdue ? ` (${t("breached")})` : "")),
    h("td", {}, h("a", {href: "#/case/" + encodeURIComponent(c.case_id)}, c.case_id)),
    h("td", {}, c.state), h("td", {}, c.category), h("td", {}, c.level), h("td", {}, c.summary)));
  show(h("h1", {}, `${t("inbox")} · ${unit}`),
       rows.length ? h("table", {id: "inbox"}, head, rows) : h("p", {id: "inbox-empty"}, t("no_cases")));
}

// Where a dispatch naming no unit sends the case (the action's `suggested`):
// left empty, the unit field follows it.
function suggestion(r) {
  const why = r.matter ? `${t("responsibility_list")}: ${r.matter.title || r.matter.category} (${t("source_" + r.matter.source)})`
                       : t("routed_" + r.routed_by);
  return h("p", {class: "hint suggested", "data-unit": r.unit},
           `${t("suggested_unit")}: ${r.unit} ${r.name} · ${why}`);
}

// An input for one field of a definition (the API's field JSON); `placeholder`
// shows what an empty text input means.
function fieldInput(f, prefix = "", placeholder = "") {
  const name = prefix + f.name;
  let input;
  if (f.type === "ENUM") {
    input = h("select", {name}, f.required ? null : h("option", {value: ""}, ""),
              f.values.map((v) => h("option", {value: v}, v)));
  } else if (f.type === "BOOL") {
    input = h("input", {name, type: "checkbox"});
  } else if (f.type === "INT") {
    input = h("input", {name, type: "number", min: f.min, max: f.max, required: f.required});
  } else if (f.type === "OBJECT") {
    return h("fieldset", {}, h("legend", {}, f.name), (f.fields || []).map((s) => fieldInput(s, name + ".")));
  } else {
    input = f.name === "summary" || f.name === "answer" || f.name === "plan"
              ? h("textarea", {name, rows: 3, required: f.required})
              : h("input", {name, required: f.required, placeholder});
  }
  return h("label", {}, f.name + (f.required ? " *" : ""), input,
           f.description ? h("span", {class: "hint"}, f.description) : null);
}

// The form's values as the command's data: dotted names nest, empty ones are left out.
function formData(form, fields, prefix = "") {
  const data = {};
  for (const f of fields) {
    const el = form.elements[prefix + f.name];
    if (f.type === "OBJECT") {
      const sub = formData(form, f.fields || [], prefix + f.name + ".");
      if (Object.keys(sub).length) data[f.name] = sub;
    } else if (f.type === "BOOL") {
      if (el && el.checked) data[f.name] = true;
    } else if (el && el.value !== "") {
      data[f.name] = f.type === "INT" ? Number(el.value) : el.value;
    }
  }
  return data;
}

// 16 random hex digits (crypto.randomUUID needs HTTPS; this does not).
function randomHex() {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function send(command) {
  command.id = "console-" + randomHex();
  try {
    return await api("POST", "/v1/commands", command);
  } catch (e) {
    return {answer: "rejected", reason: e.message};
  }
}

async function casePage(id) {
  let view;
  try {
    view = await api("GET", "/v1/cases/" + encodeURIComponent(id));
  } catch (e) {
    if (e.status === 403) return deniedPage();
    throw e;
  }
  const [history, open, attachments, linked] = await Promise.all([
    api("GET", `/v1/cases/${encodeURIComponent(id)}/events`),
    api("GET", `/v1/cases/${encodeURIComponent(id)}/actions`),
    api("GET", `/v1/cases/${encodeURIComponent(id)}/attachments`).catch((e) => e),
    api("GET", `/v1/cases/${encodeURIComponent(id)}/linked`).catch(() => null)]);
  const caseLink = (other) => h("a", {href: "#/case/" + encodeURIComponent(other)}, other);
  const facts = view.facts || view;
  const fact = (label, value, attrs = {}) => h("div", {}, h("div", {class: "label"}, label), h("div", attrs, value ?? "-"));
  const header = h("div", {class: "card grid", id: "case-facts"},
    fact(t("case"), view.case_id || id), fact(t("state"), view.state, {id: "case-state"}),
    fact(t("unit"), view.unit), fact(t("level"), view.level), fact(t("category"), view.category),
    fact(t("channel"), view.channel), fact(t("grid"), view.grid), fact(t("opened"), time(view.opened)),
    fact(t("summary"), view.summary, {id: "case-summary"}),
    fact(t("petitioner"), view.petitioner ? `${view.petitioner.name || ""} ${view.petitioner.phone || ""}` : null),
    view.repeat_of ? fact(t("repeat_of"), caseLink(view.repeat_of), {id: "case-repeat-of"}) : null,
    view.patrol_report ? fact(t("raised_from"), caseLink(view.patrol_report), {id: "case-patrol-report"}) : null,
    view.information ? fact(t("kind"), t("information"), {id: "case-information"}) : null);
  // The petitioner's other cases (重信重访), those out of reach counted.
  const others = linked && (linked.linked.length || linked.hidden) ? [
    h("h2", {}, t("linked")),
    h("ul", {id: "linked"}, linked.linked.map((c) => h("li", {}, caseLink(c.case_id), ` ${time(c.opened)} · ${c.category} · ${c.state}`))),
    linked.hidden ? h("p", {class: "muted"}, `${linked.hidden} ${t("linked_hidden")}`) : null] : [];
  const deadlines = (view.deadlines || []).map((d) => h("tr", {},
    h("td", {}, d.name), h("td", {class: d.status === "breached" ? "breached" : ""}, t(d.status) || d.status),
    h("td", {}, time(d.due)), h("td", {class: "muted"}, d.rule || d.explanation || "")));
  const events = history.events.map((e) => h("li", {},
    h("div", {}, h("strong", {}, e.action), " → ", e.state, e.unit ? " @ " + e.unit : ""),
    h("div", {class: "muted"}, `${t("occurred")} ${time(e.occurred)} · ${t("recorded")} ${time(e.recorded)} · ${t("by")} ${e.actor.user} (${roleName(e.actor.role)})`),
    Object.keys(e.content || {}).length ? h("div", {}, JSON.stringify(e.content)) : null));
  // attach takes a file, not fields: the attachments section has its form.
  const attaching = open.actions.filter((a) => a.action === "attach");
  const forms = open.actions.filter((a) => a.action !== "attach").map((a) => {
    const form = h("form", {class: "card action-form", "data-action": a.action},
      h("strong", {}, `${a.action} (${roleName(a.role)} · ${a.unit})`),
      a.description ? h("span", {class: "hint"}, a.description) : null,
      a.suggested ? suggestion(a.suggested) : null,
      a.fields.map((f) => fieldInput(f, "", f.name === "unit" && a.suggested ? a.suggested.unit : "")),
      h("button", {class: "primary", type: "submit"}, t("submit")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const answer = await send({case: id, action: a.action, expect: open.case_seq,
                                 actor: {role: a.role, unit: a.unit}, data: formData(form, a.fields)});
      if (answer.answer === "rejected") {
        form.append(h("p", {class: "error"}, answer.reason));
      } else {
        casePage(id);
      }
    });
    return form;
  });
  releaseBlobs();
  show(h("h1", {}, `${t("case")} ${id}`), header,
       others,
       h("h2", {}, t("deadlines")), h("table", {id: "deadlines"}, deadlines),
       h("h2", {}, t("actions")), forms.length ? forms : h("p", {id: "no-actions"},
         t(attaching.length ? "only_attach" : "no_actions")),
       h("h2", {}, t("attachments")), attachmentList(id, attachments), attachForm(id, attaching),
       h("h2", {}, t("timeline")), h("ol", {class: "timeline", id: "timeline"}, events));
}

// ---- a case's attachments (docs/console.md) ----

function byteSize(n) {
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1024 / 1024).toFixed(1) + " MiB";
}

// A file name to save under: the attachment's own, unless withheld.
function saveName(a) {
  return a.name && a.name !== "[withheld]" ? a.name : a.sha256.slice(0, 16);
}

// The case's attachments (GET .../attachments): an image as a thumbnail,
// anything else behind a download button. A personal one's content is
// fetched only on a click, since the server records that read.
function attachmentList(id, list) {
  if (list instanceof Error) return h("p", {class: "error", id: "attachments-error"}, list.message);
  if (!list.attachments.length) return h("p", {id: "no-attachments"}, t("no_attachments"));
  const rows = list.attachments.map((a) => {
    const path = `/v1/cases/${encodeURIComponent(id)}/attachments/${encodeURIComponent(a.sha256)}`;
    const image = a.media_type.startsWith("image/");
    const preview = h("td", {class: "preview"});
    const failed = (e) => preview.replaceChildren(h("span", {class: "error"}, e.message));
    const thumbnail = () => apiBlob(path).then(
      (url) => preview.replaceChildren(h("a", {href: url, download: saveName(a)},
                                         h("img", {src: url, alt: saveName(a), class: "thumb"}))),
      failed);
    const download = () => apiBlob(path).then((url) => {
      h("a", {href: url, download: saveName(a)}).click();
    }, failed);
    if (image && !a.personal) {
      preview.append(t("loading"));
      thumbnail();
    } else {
      preview.append(h("button", {type: "button", class: "open-attachment",
                                  onclick: image ? thumbnail : download},
                       image ? t("show_image") : t("download")));
    }
    return h("tr", {class: "attachment", "data-sha256": a.sha256}, preview,
      h("td", {}, h("div", {class: "attachment-name"}, a.name || "-"),
        a.personal ? h("span", {class: "badge personal"}, t("personal_badge")) : null,
        a.note ? h("div", {class: "attachment-note"}, a.note) : null),
      h("td", {}, a.media_type, h("div", {class: "muted"}, byteSize(a.content_size || a.size))),
      h("td", {}, `${a.actor.user} (${roleName(a.actor.role)} · ${a.actor.unit})`,
        h("div", {class: "muted"}, time(a.occurred))));
  });
  const head = h("tr", {}, ["", t("file"), t("media_type"), t("attached_by")].map((x) => h("th", {}, x)));
  return h("table", {id: "attachments"}, head, rows);
}

// The types the server takes (docs/attachments.md), by extension, for a
// browser that names none; and the names some browsers use for them.
const MEDIA_TYPES = {jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", webp: "image/webp",
                     pdf: "application/pdf", mp3: "audio/mpeg", wav: "audio/wav", txt: "text/plain"};
const MEDIA_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "audio/mp3": "audio/mpeg",
                       "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/vnd.wave": "audio/wav"};
function mediaType(file) {
  const ext = (file.name.match(/\.([^.]+)$/) || [])[1]?.toLowerCase();
  const type = file.type.split(";")[0];
  return MEDIA_ALIASES[type] || type || MEDIA_TYPES[ext] || "application/octet-stream";
}

// The upload form, when attach is among the user's open actions: the file
// as the body (POST .../attachments), as the role and unit the action is
// open to; the case page drawn again when it is accepted.
function attachForm(id, actions) {
  if (!actions.length) return null;
  const as = actions.length > 1
    ? h("label", {}, t("attach_as"), h("select", {name: "as"},
        actions.map((a, i) => h("option", {value: i}, `${roleName(a.role)} · ${a.unit}`))))
    : null;
  const accept = [...Object.keys(MEDIA_TYPES).map((x) => "." + x), ...new Set(Object.values(MEDIA_TYPES))].join(",");
  const form = h("form", {class: "card", id: "attach-form"},
    h("strong", {}, t("attach")), as,
    h("label", {}, t("file") + " *", h("input", {type: "file", name: "file", id: "attach-file", accept, required: true})),
    h("label", {}, t("note"), h("input", {name: "note", id: "attach-note"})),
    h("label", {class: "check"}, h("input", {type: "checkbox", name: "personal", id: "attach-personal"}), t("personal")),
    h("button", {class: "primary", type: "submit", id: "attach-submit"}, t("upload")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = form.elements.file.files[0];
    if (!file) return;
    const a = actions[as ? Number(form.elements.as.value) : 0];
    const q = new URLSearchParams({role: a.role, unit: a.unit, id: "console-" + randomHex(),
                                   name: file.name.replace(/["\\/\x00-\x1f\x7f]/g, "_")});
    if (form.elements.note.value) q.set("note", form.elements.note.value);
    if (form.elements.personal.checked) q.set("personal", "true");
    const button = form.querySelector("#attach-submit");
    button.disabled = true;
    form.querySelector("#attach-error")?.remove();
    try {
      await api("POST", `/v1/cases/${encodeURIComponent(id)}/attachments?${q}`, file, mediaType(file));
      casePage(id);
    } catch (e) {
      button.disabled = false;
      form.append(h("p", {class: "error", id: "attach-error"}, e.message));
    }
  });
  return form;
}

function deniedPage() {
  show(h("div", {class: "denied", id: "denied"}, h("h1", {}, "403 · " + t("denied")), h("p", {}, t("denied_detail"))));
}

async function intakePage(result) {
  const grant = grantsWith("window", "hotline", "grid_inspector")[0];
  if (!grant) return deniedPage();
  const def = await api("GET", "/v1/workflows/petition-125");
  const intake = def.actions.find((a) => a.effect === "OPEN_CASE");
  const grids = await api("GET", "/v1/organisation/grids");
  const suggestion = h("p", {class: "hint", id: "suggestion"});
  const form = h("form", {id: "intake-form", class: "card"}, intake.fields.map((f) => fieldInput(f)),
                 suggestion, h("button", {class: "primary", type: "submit", id: "intake-submit"}, t("submit")));
  const channel = form.elements.channel;
  if (channel && channel.tagName === "SELECT") channel.value = grant.role;
  const cells = new Map(grids.map((g) => [g.code, g]));
  form.elements.grid?.addEventListener("change", () => {
    const cell = cells.get(form.elements.grid.value);
    suggestion.textContent = cell ? `${t("suggested")}: ${cell.station} (${cell.name})` : "";
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const day = new Date().toISOString().slice(0, 10).replaceAll("-", "");
    const id = `W-${day}-${randomHex().slice(0, 6).toUpperCase()}`;
    const answer = await send({case: id, action: intake.name, actor: {role: grant.role, unit: grant.unit},
                               data: formData(form, intake.fields)});
    intakePage(answer);
  });
  const receipt = result && (result.answer === "rejected"
    ? h("p", {class: "error", id: "intake-error"}, result.reason)
    : h("div", {class: "card", id: "receipt"},
        h("div", {}, `${t("case_number")}: `, h("strong", {id: "receipt-case"}, result.case_id)),
        h("div", {}, `${t("rating_code")}: `, h("strong", {id: "receipt-code"}, result.rating_code || "-")),
        h("a", {href: "#/case/" + encodeURIComponent(result.case_id)}, t("case"))));
  show(h("h1", {}, `${t("intake")} · ${roleName(grant.role)}`), receipt, form);
}

async function overduePage() {
  const o = await api("GET", "/v1/overdue?warnings=true");
  const list = o.overdue;
  const rows = list.map((d) => h("tr", {},
    h("td", {class: d.status === "breached" ? "breached" : "warned"}, time(d.due)),
    h("td", {}, h("a", {href: "#/case/" + encodeURIComponent(d.case_id)}, d.case_id)),
    h("td", {}, d.deadline), h("td", {}, d.unit), h("td", {}, d.state), h("td", {}, d.status)));
  show(h("h1", {}, t("overdue")),
       h("table", {id: "overdue"}, h("tr", {}, [t("due"), t("case"), t("deadline"), t("unit"), t("state"), ""].map((x) => h("th", {}, x))), rows));
}

function rate(n, d) { return d ? Math.round((100 * n) / d) + "%" : "-"; }

// A horizontal bar chart of on-time rates: one bar per row.
function barChart(rows) {
  const height = 22 * rows.length + 10;
  const svg = h("svg", {width: 480, height, viewBox: `0 0 480 ${height}`, id: "chart", role: "img"});
  rows.forEach(([name, c], i) => {
    const share = c.closed ? c.closed_on_time / c.closed : 0;
    svg.append(h("text", {x: 0, y: 22 * i + 18}, name),
               h("rect", {x: 160, y: 22 * i + 5, width: Math.round(260 * share), height: 16, fill: "#1e7b34"}),
               h("text", {x: 166 + Math.round(260 * share), y: 22 * i + 18}, rate(c.closed_on_time, c.closed)));
  });
  return svg;
}

// The towns ranked for assessment (GET /v1/scorecard): each with its
// stations, breaches charged to the unit the deadline bound.
function scorecardTable(sc) {
  const head = h("tr", {}, [t("rank"), t("town"), t("judged"), t("deadline_on_time"), t("breached"),
    t("escalated"), t("closed"), t("satisfaction")].map((x) => h("th", {}, x)));
  const pct = (r) => r === null || r === undefined ? "-" : `${Math.round(r * 1000) / 10}%`;
  return h("table", {id: "scorecard"}, head, sc.lines.map((l) =>
    h("tr", {class: "score-row", "data-code": l.code},
      h("td", {}, l.rank === null ? "-" : String(l.rank)), h("td", {}, `${l.code} ${l.name}`),
      h("td", {}, l.deadlines_judged), h("td", {}, pct(l.on_time_rate)), h("td", {}, l.breached),
      h("td", {}, l.escalated), h("td", {}, l.closed), h("td", {}, pct(l.satisfaction_rate)))));
}

async function dashboardPage() {
  const [s, sc] = await Promise.all([api("GET", "/v1/stats"), api("GET", "/v1/scorecard")]);
  const counters = (name, c, link) => h("tr", {class: "stats-row", "data-name": name},
    h("td", {}, link ? h("a", {href: link, class: "drill"}, name) : name), h("td", {}, c.received), h("td", {}, c.closed), h("td", {}, rate(c.closed_on_time, c.closed)),
    h("td", {}, c.escalated), h("td", {}, rate(c.satisfied, c.rated)));
  const head = h("tr", {}, ["", t("received"), t("closed"), t("on_time"), t("escalated"), t("satisfaction")].map((x) => h("th", {}, x)));
  const byLevel = Object.entries(s.by_level || {});
  const byUnit = Object.entries(s.by_unit || {});
  show(h("h1", {}, t("dashboard")),
       h("table", {id: "totals"}, head, counters(t("total"), s)),
       h("p", {id: "served"}, `${t("served")}: ${s.served || 0}`),
       h("h2", {}, t("scorecard")), scorecardTable(sc),
       h("h2", {}, t("by_level")), barChart(byLevel), h("table", {}, head.cloneNode(true), byLevel.map(([k, c]) => counters(k, c))),
       h("h2", {}, t("by_unit")), h("table", {id: "by-unit"}, head.cloneNode(true),
         byUnit.map(([k, c]) => counters(k, c, "#/cases/" + encodeURIComponent(k)))));
}

// The director's drill-down: a unit's cases (GET /v1/cases?unit=), a page
// of 100 at a time, the case ids linking to their pages.
async function casesPage(unit, after) {
  const q = new URLSearchParams({unit, limit: "100"});
  if (after) q.set("after", after);
  const page = await api("GET", "/v1/cases?" + q.toString());
  const head = h("tr", {}, [t("case"), t("state"), t("category"), t("level"), t("opened"), t("next_due")]
    .map((x) => h("th", {}, x)));
  const rows = page.cases.map((c) => h("tr", {class: "case-row", "data-case": c.case_id},
    h("td", {}, h("a", {href: "#/case/" + encodeURIComponent(c.case_id)}, c.case_id)),
    h("td", {}, c.state), h("td", {}, c.category), h("td", {}, c.level), h("td", {}, time(c.opened)),
    h("td", {}, time(c.next_due))));
  const more = page.next ? h("button", {id: "cases-more", onclick: () => casesPage(unit, page.next)}, t("more")) : null;
  show(h("h1", {}, `${t("cases_of")} · ${unit}`),
       rows.length ? h("table", {id: "cases"}, head, rows) : h("p", {id: "cases-empty"}, t("no_cases")), more);
}

async function workflowsPage(id) {
  if (!id) {
    const w = await api("GET", "/v1/workflows");
    show(h("h1", {}, t("workflows")), h("table", {}, w.workflows.map((d) => h("tr", {},
      h("td", {}, h("a", {href: "#/workflows/" + d.id}, d.id)), h("td", {}, "v" + d.version), h("td", {}, d.title), h("td", {}, d.source)))));
    return;
  }
  const d = await api("GET", "/v1/workflows/" + encodeURIComponent(id));
  // The diagram needs the token: fetched, then shown from a blob.
  const res = await fetch(`/v1/workflows/${encodeURIComponent(id)}/graph.svg`,
                          {headers: {Authorization: "Bearer " + token()}});
  const diagram = res.ok ? h("img", {src: URL.createObjectURL(await res.blob()), alt: d.id, id: "diagram"})
                         : h("p", {class: "error"}, res.statusText);
  show(h("h1", {}, `${d.id} v${d.version}`), h("p", {}, d.title),
       h("h2", {}, t("diagram")), diagram, diffForm(d), whatIfForm(d), h("pre", {class: "card"}, d.yaml));
}

// A supervisor's view of what changed between two versions (GET .../diff).
function diffForm(d) {
  const out = h("div", {id: "diff-result"});
  const form = h("form", {id: "diff", class: "card"}, h("h2", {}, t("diff")),
    h("label", {}, t("from"), h("input", {name: "from", id: "diff-from", type: "number", min: 1, value: Math.max(1, d.version - 1)})),
    h("label", {}, t("to"), h("input", {name: "to", id: "diff-to", type: "number", min: 1, value: d.version})),
    h("button", {type: "submit", id: "diff-submit"}, t("show")), out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("GET", `/v1/workflows/${encodeURIComponent(d.id)}/diff?from=${form.from.value}&to=${form.to.value}`);
      out.replaceChildren(r.changes.length
        ? h("ul", {}, r.changes.map((c) => h("li", {class: "change"}, `${c.kind} ${c.item} ${c.name}: ${c.details}`)))
        : h("p", {id: "diff-none"}, t("no_changes")));
    } catch (e) {
      out.replaceChildren(h("p", {class: "error"}, e.message));
    }
  });
  return form;
}

// What-if: a draft (the YAML, edited here) run over the recorded cases
// (POST /v1/workflows/whatif), the figures in force beside the draft's.
function whatIfForm(d) {
  const out = h("div", {id: "whatif-result"});
  const form = h("form", {id: "whatif", class: "card"}, h("h2", {}, t("whatif")),
    h("textarea", {name: "yaml", id: "whatif-yaml", rows: 12, spellcheck: "false"}, d.yaml),
    h("label", {}, t("from"), h("input", {name: "from", id: "whatif-from", type: "date"})),
    h("label", {}, t("to"), h("input", {name: "to", id: "whatif-to", type: "date"})),
    h("button", {type: "submit", id: "whatif-submit"}, t("run")), out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (form.from.value) q.set("from", form.from.value);
    if (form.to.value) q.set("to", form.to.value);
    out.replaceChildren(h("p", {}, t("loading")));
    const res = await fetch("/v1/workflows/whatif?" + q.toString(), {method: "POST", body: form.yaml.value,
      headers: {Authorization: "Bearer " + token(), "Content-Type": "application/yaml"}});
    const r = await res.json();
    if (!res.ok) {
      out.replaceChildren(h("p", {class: "error", id: "whatif-error"}, r.detail || r.title),
                          (r.problems || []).length ? h("ul", {}, r.problems.map((p) => h("li", {}, p))) : null);
      return;
    }
    const row = (label, a, b) => h("tr", {}, h("td", {}, label), h("td", {}, a), h("td", {}, b));
    const names = new Set([...Object.keys(r.in_force.breaches_by_deadline), ...Object.keys(r.draft.breaches_by_deadline)]);
    out.replaceChildren(h("table", {id: "whatif-table"},
      h("tr", {}, h("th", {}, ""), h("th", {}, t("in_force")), h("th", {}, t("draft"))),
      row(t("received"), r.in_force.cases, r.draft.cases),
      row(t("commands"), r.in_force.commands, r.draft.commands),
      row(t("refused"), r.in_force.rejected, r.draft.rejected),
      row(t("breached"), r.in_force.breaches, r.draft.breaches),
      [...names].map((n) => row(`  ${n}`, r.in_force.breaches_by_deadline[n] || 0, r.draft.breaches_by_deadline[n] || 0)),
      row(t("escalated"), r.in_force.escalations, r.draft.escalations),
      row(t("closed"), r.in_force.closed, r.draft.closed)),
      r.examples.length ? h("ul", {}, r.examples.map((x) => h("li", {}, x))) : null);
  });
  return form;
}

// A citizen's own demand, online (POST /v1/public/cases): the grid cell
// picked by its name, the receipt shown once.
async function demandForm() {
  const cells = await api("GET", "/v1/public/grids");  // [{code, name, station, town}]
  const list = h("datalist", {id: "demand-cells"},
    cells.map((g) => h("option", {value: g.code}, `${g.name} (${g.station})`)));
  const form = h("form", {id: "demand", class: "card"},
    h("h2", {}, t("new_demand")),
    h("label", {}, t("category"), h("input", {name: "category", id: "demand-category", required: true})),
    h("label", {}, t("grid"), h("input", {name: "grid", id: "demand-grid", list: "demand-cells", required: true})), list,
    h("label", {}, t("summary"), h("textarea", {name: "summary", id: "demand-summary", rows: 3, required: true})),
    h("label", {}, t("name"), h("input", {name: "name", id: "demand-name"})),
    h("label", {}, t("phone"), h("input", {name: "phone", id: "demand-phone"})),
    h("button", {class: "primary", type: "submit", id: "demand-submit"}, t("submit")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {category: form.category.value.trim(), grid: form.grid.value.trim(), summary: form.summary.value};
    if (form.name.value || form.phone.value) body.petitioner = {name: form.name.value, phone: form.phone.value};
    try {
      const r = await api("POST", "/v1/public/cases", body);
      form.replaceChildren(h("h2", {}, t("new_demand")), h("div", {id: "demand-receipt"},
        h("div", {}, `${t("case_number")}: `, h("strong", {id: "demand-case"}, r.case_id)),
        h("div", {}, `${t("rating_code")}: `, h("strong", {id: "demand-code"}, r.rating_code)),
        h("p", {}, t("keep_receipt"))));
    } catch (e) {
      form.querySelector("#demand-error")?.remove();
      form.append(h("p", {class: "error", id: "demand-error"}, e.message));
    }
  });
  return form;
}

// The citizen's page: no sign-in; the receipt's case number and rating code.
async function citizenPage(caseId, code, note) {
  const form = h("form", {id: "follow", class: "card"},
    h("label", {}, t("case_number"), h("input", {name: "case", id: "follow-case", required: true, value: caseId || ""})),
    h("label", {}, t("rating_code"), h("input", {name: "code", id: "follow-code", required: true, value: code || ""})),
    h("button", {class: "primary", type: "submit", id: "follow-submit"}, t("follow")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    citizenPage(form.case.value.trim(), form.code.value.trim());
  });
  if (!caseId) return show(h("h1", {}, t("citizen")), form, await demandForm());
  let c;
  try {
    c = await api("GET", `/v1/public/cases/${encodeURIComponent(caseId)}?code=${encodeURIComponent(code)}`);
  } catch (e) {
    return show(h("h1", {}, t("citizen")), h("p", {class: "error", id: "follow-error"}, e.message), form);
  }
  const status = h("div", {class: "card grid", id: "citizen-case"},
    h("div", {}, h("div", {class: "label"}, t("case_number")), h("div", {}, c.case_id)),
    h("div", {}, h("div", {class: "label"}, t("state")), h("div", {id: "citizen-state"}, c.state)),
    h("div", {}, h("div", {class: "label"}, t("opened")), h("div", {}, time(c.opened))),
    h("div", {}, h("div", {class: "label"}, t("summary")), h("div", {}, c.summary)),
    h("div", {}, h("div", {class: "label"}, "answer"), h("div", {id: "citizen-answer"}, c.answer || "-")),
    c.open_deadlines.map((d) => h("div", {}, h("div", {class: "label"}, `${t("deadline")} ${d.name}`),
                                  h("div", {class: d.breached ? "breached" : ""}, time(d.due)))));
  let rating = null;
  if (c.may_rate) {
    rating = h("form", {id: "rating", class: "card"},
      h("label", {}, h("input", {type: "radio", name: "satisfied", value: "true", id: "rate-yes", checked: true}), t("satisfied")),
      h("label", {}, h("input", {type: "radio", name: "satisfied", value: "false", id: "rate-no"}), t("unsatisfied")),
      h("label", {}, t("comment"), h("textarea", {name: "comment", rows: 2})),
      h("button", {class: "primary", type: "submit", id: "rate-submit"}, t("rate")));
    rating.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = {code, satisfied: rating.satisfied.value === "true"};
      if (rating.comment.value) body.comment = rating.comment.value;
      try {
        await api("POST", `/v1/public/cases/${encodeURIComponent(caseId)}/rating`, body);
        citizenPage(caseId, code, t("thanks"));
      } catch (e) {
        rating.append(h("p", {class: "error"}, e.message));
      }
    });
  }
  form.case.value = "";
  form.code.value = "";
  show(h("h1", {}, t("citizen")), note ? h("p", {class: "ok", id: "citizen-note"}, note) : null, status, rating,
       h("h2", {}, t("follow")), form);
}

// ---- the router ----

async function route() {
  const [page, arg] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (page === "citizen") {
    drawHeader();
    return citizenPage();
  }
  if (page === "login") {  // the sign-in page signs out whoever was signed in
    sessionStorage.removeItem("casegrid.token");
    me = null;
    drawHeader();
    return loginPage();
  }
  if (!(await signedIn()) && page !== "login") {
    drawHeader();
    return loginPage();
  }
  drawHeader();
  try {
    switch (page || "") {
      case "login": return loginPage();
      case "": return await homePage();
      case "inbox": return await inboxPage(arg);
      case "case": return await casePage(arg);
      case "intake": return await intakePage();
      case "overdue": return await overduePage();
      case "dashboard": return await dashboardPage();
      case "workflows": return await workflowsPage(arg);
      case "cases": return await casesPage(arg);
      default: return show(h("p", {}, t("not_found")));
    }
  } catch (e) {
    if (e.status === 403) return deniedPage();
    if (e.status === 401) { sessionStorage.removeItem("casegrid.token"); me = null; return route(); }
    show(h("p", {class: "error", id: "page-error"}, e.message));
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  document.getElementById("lang").addEventListener("click", () => {
    localStorage.setItem("casegrid.lang", lang() === "zh" ? "en" : "zh");
    route();
  });
  document.getElementById("signout").addEventListener("click", () => {
    sessionStorage.removeItem("casegrid.token");
    me = null;
    location.hash = "#/login";
  });
  route();
});
