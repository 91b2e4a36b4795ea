// The Forgeline console. Everything it shows comes from the gateway's API, called with the key
// the user signed in with (session storage, bearer header). No framework: the page is small, and
// EventSource cannot send a bearer header, so live updates are read with fetch anyway.

const KEY = "forgeline.console.key";
const FINAL = new Set(["succeeded", "failed", "rejected", "cancelled"]);
const VIEWS = ["images", "moderation", "email", "codereview", "drills", "system"];
const ADMIN_VIEWS = new Set(["codereview", "drills", "system"]);
const VERDICTS = new Set(["passed", "failed", "deviated", "inconclusive", "aborted", "skipped"]);
const $ = (id) => document.getElementById(id);

let live = null; // AbortController of the live stream
let me = null; // GET /v1/tenants/me
let adminTimer = null; // re-reads the open admin view (refreshAdminView)
const submitted = new Map(); // content id -> text, for the items submitted from this tab

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `the gateway answered ${status}`);
    this.status = status;
    this.body = body;
  }
}

function authorization() {
  return { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` };
}

async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: { ...authorization(), ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: "unreadable", message: `the gateway answered ${response.status} with something that is not JSON` };
  }
  if (response.status === 401 && me) signOut("Your key is no longer accepted: sign in again.");
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// Build elements from data with textContent only: nothing the API returns is parsed as HTML.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
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

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- errors next to their fields -------------------------------------------------------------

function clearErrors(form) {
  for (const p of form.querySelectorAll(".error")) p.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function showError(form, error) {
  const details = error instanceof ApiError ? error.body?.details || [] : [];
  let placed = false;
  for (const problem of details) {
    const field = problem.loc?.[0] === "body" ? problem.loc[1] : problem.loc?.[1];
    const slot = form.querySelector(`[data-error-for="${CSS.escape(String(field))}"]`);
    if (slot) {
      slot.textContent = problem.msg;
      form.elements[field]?.setAttribute("aria-invalid", "true");
      placed = true;
    }
  }
  if (!placed) form.querySelector('[data-error-for="form"]').textContent = error.message;
}

// --- live updates (SSE over fetch) -----------------------------------------------------------

async function follow(path, onEvent, signal) {
  let delay = 1000;
  while (!signal.aborted) {
    try {
      const response = await fetch(path, { headers: { ...authorization(), Accept: "text/event-stream" }, signal });
      if (response.status === 401) return signOut("Your key is no longer accepted: sign in again.");
      if (!response.ok) throw new Error(`live stream answered ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      let event = "";
      let data = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, end).replace(/\r$/, "");
          buffer = buffer.slice(end + 1);
          if (line === "") {
            if (data) onEvent(event || "message", JSON.parse(data));
            event = "";
            data = "";
          } else if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trim();
        }
      }
    } catch (error) {
      if (signal.aborted) return;
    }
    setLive(false);
    await sleep(delay);
    delay = Math.min(delay * 2, 15000);
  }
}

function setLive(on) {
  $("live").hidden = false;
  $("live").textContent = on ? "live" : "reconnecting…";
  $("live").classList.toggle("off", !on);
}

function onLive(topic, event) {
  if (topic === "ready") return setLive(true);
  if (topic.startsWith("image.")) return refreshJob(event.job_id);
  if (topic === "moderation.decided") return showDecision(event);
  if (topic === "moderation.review") return showReviewRequest(event);
  if (topic.startsWith("email.")) return soon(loadEmails);
}

// Several events of one cart arrive together: reload once for all of them.
const scheduled = new Map();
function soon(load) {
  if (!scheduled.has(load)) scheduled.set(load, setTimeout(() => scheduled.delete(load) && load(), 300));
}

// --- sign-in and views -----------------------------------------------------------------------

async function signIn(key) {
  sessionStorage.setItem(KEY, key);
  me = await api("/v1/tenants/me");
  const document_ = await api("/openapi.json");
  configureForms(document_.components.schemas);
  $("signin").hidden = true;
  $("tabs").hidden = false;
  $("signout").hidden = false;
  $("who").hidden = false;
  $("who").textContent = `${me.name} · ${me.role}`;
  $("credits").textContent = me.credits;
  $("review").hidden = !["reviewer", "admin"].includes(me.role);
  const admin = me.role === "admin";
  for (const view of ADMIN_VIEWS) $("tabs").querySelector(`[data-view="${view}"]`).hidden = !admin;
  if (admin) adminTimer = setInterval(refreshAdminView, 5000);
  show(location.hash.slice(1) || "images");
  live = new AbortController();
  follow("/v1/events", onLive, live.signal);
  // One view that cannot load must not undo the sign-in: say so, and let the others load.
  const loads = await Promise.allSettled([loadJobs(), loadDecisions(), loadEmails(), $("review").hidden ? null : loadQueue(), admin ? loadRuns() : null]);
  const failed = loads.filter((l) => l.status === "rejected").map((l) => l.reason.message);
  if (failed.length) alertIn($("images"), `Some of your data could not be loaded: ${failed.join("; ")}`);
}

// The open admin view is read again: review runs, drills and the system's state are no
// tenant's, so no stream carries them.
function refreshAdminView() {
  if (!$("system").hidden) return loadSystem();
  if (!$("drills").hidden) return loadDrills();
  return loadRuns();
}

function signOut(why = "") {
  sessionStorage.removeItem(KEY);
  live?.abort();
  clearInterval(adminTimer);
  me = null;
  for (const id of [...VIEWS, "tabs", "signout", "who", "live"]) $(id).hidden = true;
  $("jobs").replaceChildren();
  $("emails").replaceChildren();
  $("runs").replaceChildren();
  for (const id of ["parts", "lag", "dead", "server-errors", "drill-list"]) $(id).querySelector("tbody").replaceChildren();
  $("letters").hidden = true;
  $("drill-runs").replaceChildren();
  $("drill-run").hidden = true;
  clearTimeout(runTimer);
  shownRun = null;
  $("decisions").querySelector("tbody").replaceChildren();
  submitted.clear();
  $("signin").hidden = false;
  $("key").value = "";
  $("key-error").textContent = why;
}

function show(view) {
  if (!VIEWS.includes(view) || (ADMIN_VIEWS.has(view) && me?.role !== "admin")) view = "images";
  for (const name of VIEWS) $(name).hidden = name !== view;
  for (const button of $("tabs").querySelectorAll("button")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  history.replaceState(null, "", `#${view}`);
  if (view === "system") loadSystem();
  if (view === "drills") loadDrills();
}

// The limits this deployment enforces come from its own OpenAPI document.
function configureForms(schemas) {
  const image = schemas.ImageRequest.properties;
  for (const name of ["width", "height"]) {
    const { minimum = 64, maximum = 512, multipleOf = 8 } = image[name];
    const select = $(name);
    select.replaceChildren();
    const sizes = new Set([minimum]);
    for (let size = Math.ceil(minimum / 64) * 64; size <= maximum; size += 64) sizes.add(size);
    for (const size of [...sizes].filter((s) => s % multipleOf === 0).sort((a, b) => a - b)) {
      select.append(el("option", { value: size, selected: size === 128 }, `${size} px`));
    }
  }
  $("steps").min = image.steps.minimum ?? 1;
  $("steps").max = image.steps.maximum ?? 50;
  const countries = schemas.ContentRequest.properties.country.enum || ["US"];
  $("country").replaceChildren(...countries.map((c) => el("option", { value: c, selected: c === "US" }, c)));
}

// --- images ----------------------------------------------------------------------------------

let idempotencyKey = null; // kept until the job is accepted, so a retried submit is one job

async function loadJobs() {
  const jobs = await api("/v1/images?limit=20");
  $("jobs").replaceChildren(...jobs.map(jobCard));
  $("jobs-empty").hidden = jobs.length > 0;
}

function jobCard(job) {
  const seconds = (ms) => (ms === null || ms === undefined ? "–" : `${(ms / 1000).toFixed(1)} s`);
  const p = job.params;
  const picture = job.image_url
    ? el("img", { src: job.image_url, alt: `Generated: ${p.prompt}`, width: p.width, height: p.height })
    : el("div", { class: "placeholder" }, job.status === "succeeded" ? "stored" : FINAL.has(job.status) ? "no image" : "…");
  const cancel =
    !FINAL.has(job.status) &&
    el("button", { type: "button", class: "quiet", onclick: () => cancelJob(job.job_id) }, "Cancel");
  return el(
    "li",
    { class: "job card", "data-job": job.job_id },
    picture,
    el(
      "div",
      { class: "job-text" },
      el("p", { class: "prompt" }, p.prompt),
      el("p", {}, el("span", { class: `badge ${job.status}` }, job.status), job.cached ? el("span", { class: "badge cached" }, "cache hit") : null),
      el(
        "p",
        { class: "meta" },
        `${p.width}×${p.height}, ${p.steps} steps · queued ${seconds(job.queued_ms)} · ran ${seconds(job.run_ms)} · ${job.credits_charged} credits`,
      ),
      job.reason ? el("p", { class: "reason" }, job.reason) : null,
      cancel,
    ),
  );
}

async function refreshJob(jobId) {
  if (!jobId || !me) return;
  const job = await api(`/v1/images/${jobId}`);
  const card = jobCard(job);
  const old = $("jobs").querySelector(`[data-job="${CSS.escape(jobId)}"]`);
  if (old) old.replaceWith(card);
  else $("jobs").prepend(card);
  $("jobs-empty").hidden = true;
  if (FINAL.has(job.status)) $("credits").textContent = (await api("/v1/tenants/me")).credits;
}

async function cancelJob(jobId) {
  try {
    await api(`/v1/images/${jobId}/cancel`, { method: "POST" });
  } catch (error) {
    alertIn($("images"), error.message);
  }
  await refreshJob(jobId);
}

function alertIn(section, message) {
  section.querySelector('[data-error-for="form"]').textContent = message;
}

async function submitImage(form) {
  clearErrors(form);
  const data = new FormData(form);
  const body = {
    prompt: data.get("prompt"),
    width: Number(data.get("width")),
    height: Number(data.get("height")),
    steps: Number(data.get("steps")),
  };
  if (data.get("seed") !== "") body.seed = Number(data.get("seed"));
  idempotencyKey ??= crypto.randomUUID();
  try {
    const accepted = await api("/v1/images", { method: "POST", body, headers: { "Idempotency-Key": idempotencyKey } });
    idempotencyKey = null;
    form.elements.prompt.value = "";
    await refreshJob(accepted.job_id);
    $("credits").textContent = (await api("/v1/tenants/me")).credits;
  } catch (error) {
    if (error instanceof ApiError && error.status < 500) idempotencyKey = null; // refused: a new request next time
    showError(form, error);
  }
}

// --- moderation ------------------------------------------------------------------------------

async function submitContent(form) {
  clearErrors(form);
  const data = new FormData(form);
  const body = { text: data.get("text"), author_id: `console:${me.name}`, country: data.get("country") };
  if (data.get("links")) body.links = [data.get("links")];
  try {
    const accepted = await api("/v1/content", { method: "POST", body });
    submitted.set(accepted.content_id, body.text);
    decisionRow(accepted.content_id, { tier: "…", decision: "pending", why: "waiting for the tiers" });
    form.elements.text.value = "";
    form.elements.links.value = "";
  } catch (error) {
    showError(form, error);
  }
}

function decisionRow(contentId, { tier, decision, why, scores = "", policy = "" }) {
  const table = $("decisions");
  const body = table.querySelector("tbody");
  const item = submitted.get(contentId) || `item ${contentId.slice(0, 8)}`;
  const row = el(
    "tr",
    { "data-content": contentId },
    el("td", { class: "item", "data-label": "Item" }, item),
    el("td", { "data-label": "Tier" }, tier),
    el("td", { "data-label": "Decision" }, el("span", { class: `badge ${decision}` }, decision)),
    el("td", { class: "why", "data-label": "Why" }, why),
    el("td", { class: "scores", "data-label": "Scores" }, scores),
    el("td", { "data-label": "Policy" }, policy),
  );
  const old = body.querySelector(`[data-content="${CSS.escape(contentId)}"]`);
  if (old) old.replaceWith(row);
  else body.prepend(row);
  table.hidden = false;
  $("decisions-empty").hidden = true;
}

// The tenant's latest items and their decisions, oldest first so the newest ends on top.
async function loadDecisions() {
  const items = await api("/v1/content?limit=20");
  for (const item of items.reverse()) {
    submitted.set(item.content_id, item.text);
    if (item.decision) showDecision(item.decision, false);
    else decisionRow(item.content_id, { tier: "…", decision: item.status === "in_review" ? "review" : "pending", why: item.status === "in_review" ? "waiting for a human" : "waiting for the tiers" });
  }
}

function showDecision(event, live = true) {
  const scores = event.scores
    ? Object.entries(event.scores)
        .filter(([, v]) => typeof v === "number")
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(", ")
    : "";
  decisionRow(event.content_id, {
    tier: event.tier,
    decision: event.decision,
    why: (event.reasons || []).join("; "),
    scores,
    policy: event.policy_version,
  });
  if (live && !$("review").hidden) loadQueue();
}

function showReviewRequest(event) {
  decisionRow(event.content_id, { tier: "human", decision: "review", why: event.reason });
  if (!$("review").hidden) loadQueue();
}

async function loadQueue() {
  const queue = await api("/v1/review/queue?limit=50");
  $("queue").replaceChildren(...queue.map(queueItem));
  $("queue-empty").hidden = queue.length > 0;
}

function queueItem(item) {
  const reason = el("input", { type: "text", "aria-label": "Reason for the decision", placeholder: "Reason (required)" });
  const error = el("p", { class: "error", role: "alert" });
  const decide = async (decision) => {
    error.textContent = "";
    try {
      await api(`/v1/review/${item.content_id}/decision`, {
        method: "POST",
        body: { decision, reason: reason.value, lane: item.lane },
      });
      await loadQueue();
    } catch (failure) {
      error.textContent = failure.message;
    }
  };
  const actions = el("div", { class: "actions", hidden: true }, reason,
    el("button", { type: "button", onclick: () => decide("approve") }, "Approve"),
    el("button", { type: "button", class: "danger", onclick: () => decide("reject") }, "Reject"));
  const claim = el("button", {
    type: "button",
    onclick: async () => {
      error.textContent = "";
      try {
        const claimed = await api(`/v1/review/${item.content_id}/claim?lane=${item.lane}`, { method: "POST" });
        claim.hidden = true;
        actions.hidden = false;
        claim.after(el("p", { class: "meta" }, `Claimed until ${new Date(claimed.claimed_until).toLocaleTimeString()}`));
      } catch (failure) {
        error.textContent = failure.message;
      }
    },
  }, "Claim");
  return el(
    "li",
    { class: "card", "data-queue": item.content_id },
    el("p", { class: "prompt" }, item.text),
    el("p", { class: "meta" }, `${item.lane} · ${item.country} · ${item.reason}`),
    claim,
    actions,
    error,
  );
}

// --- email ----------------------------------------------------------------------------------

async function loadEmails() {
  if (!me) return;
  const emails = await api("/v1/emails?limit=20");
  $("emails").replaceChildren(...emails.map(emailCard));
  $("emails-empty").hidden = emails.length > 0;
}

function emailCard(mail) {
  const sent = { sent: "sent", sending: "sending", suppressed: "not sent: address suppressed", capped: "not sent: frequency cap" };
  const stages = Object.entries(mail.stage_ms)
    .map(([stage, ms]) => `${stage} ${Math.round(ms)} ms`)
    .join(" · ");
  // The email's own HTML, in a frame that may run nothing and reach nothing (sandbox, and the
  // page's CSP applies to it).
  const frame = el("iframe", { sandbox: "", title: `The email for cart ${mail.cart_id}`, class: "email-frame" });
  frame.srcdoc = mail.html;
  return el(
    "li",
    { class: "card email", "data-cart": mail.cart_id },
    el("p", { class: "prompt" }, mail.subject || "(no subject)"),
    el(
      "p",
      {},
      el("span", { class: `badge ${mail.status}` }, sent[mail.status] || mail.status),
      mail.fallback ? el("span", { class: "badge fallback" }, "fallback") : null,
    ),
    el("p", { class: "meta" }, `cart ${mail.cart_id} · user ${mail.user_id} · template ${mail.template_id}`),
    stages ? el("p", { class: "meta" }, stages) : null,
    mail.fallback ? el("p", { class: "reason" }, `Guardrails failed: ${mail.failed_checks.join("; ")}`) : null,
    el("details", {}, el("summary", {}, mail.status === "sent" ? "The email as sent" : "The email that was composed"), frame),
  );
}

// --- code review ----------------------------------------------------------------------------

async function loadRuns() {
  if (me?.role !== "admin") return;
  const runs = await api("/v1/code-reviews?limit=10");
  const open = new Set([...$("runs").querySelectorAll("details[open]")].map((d) => d.dataset.run));
  $("runs").replaceChildren(...runs.map((run) => runCard(run, open)));
  $("runs-empty").hidden = runs.length > 0;
}

function runCard(run, open) {
  const name = `${run.repo}#${run.number}@${run.head_sha.slice(0, 7)}`;
  const findings = run.reports.flatMap((report) => report.findings);
  const rows = findings
    .sort((a, b) => a.path.localeCompare(b.path) || a.line - b.line)
    .map((f) =>
      el(
        "tr",
        {},
        el("td", { "data-label": "Line" }, `${f.path}:${f.line}`),
        el("td", { "data-label": "Agent" }, f.agent),
        el("td", { "data-label": "Severity" }, el("span", { class: `badge ${f.severity}` }, f.severity)),
        el("td", { "data-label": "Rule" }, f.rule),
        el("td", { class: "why", "data-label": "Comment" }, f.message),
      ),
    );
  const table = el(
    "table",
    { class: "findings stack" },
    el("thead", {}, el("tr", {}, ...["Line", "Agent", "Severity", "Rule", "Comment"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows),
  );
  return el(
    "li",
    { class: "card run", "data-run": name },
    el("p", { class: "prompt" }, `${run.repo}#${run.number}: ${run.title || "(untitled)"}`),
    el(
      "p",
      {},
      el("span", { class: `badge ${run.status}` }, run.status),
      run.review_event ? el("span", { class: `badge ${run.review_event.toLowerCase()}` }, run.review_event.replace("_", " ").toLowerCase()) : null,
    ),
    el("p", { class: "meta" }, `head ${run.head_sha.slice(0, 7)} · by ${run.author || "?"} · review #${run.review_id ?? "–"}`),
    el(
      "ul",
      { class: "agents" },
      run.reports.map((r) =>
        el("li", {}, `${r.agent}: ${r.error ? `gave up (${r.error})` : `${r.findings.length} finding(s)`} in ${r.seconds.toFixed(2)} s`),
      ),
    ),
    findings.length
      ? el("details", { "data-run": name, open: open.has(name) }, el("summary", {}, `${findings.length} inline comment(s)`), el("div", { class: "table-wrap" }, table))
      : null,
  );
}

// --- system ---------------------------------------------------------------------------------

async function loadSystem() {
  if (me?.role !== "admin") return;
  let status;
  try {
    status = await api("/v1/system");
  } catch (error) {
    $("system-error").textContent = `Could not read the system's state: ${error.message}`;
    return;
  }
  const ready = status.parts.filter((p) => p.ready).length;
  $("system-read").textContent = `${ready} of ${status.parts.length} parts ready · read ${new Date(status.read_at).toLocaleTimeString()}`;
  $("system-error").textContent = status.kafka_error ? `Kafka could not be read, so lag and dead letters are missing: ${status.kafka_error}` : "";
  $("parts").querySelector("tbody").replaceChildren(...status.parts.map(partRow));
  $("lag").querySelector("tbody").replaceChildren(...lagRows(status.consumers));
  $("dead").querySelector("tbody").replaceChildren(...status.dead_letters.map(deadRow));
  const errors = status.errors.map((e) =>
    el(
      "tr",
      {},
      el("td", { "data-label": "When" }, new Date(e.at).toLocaleString()),
      el("td", { "data-label": "Request" }, `${e.method} ${e.route}`),
      el("td", { "data-label": "Status" }, el("span", { class: "badge failed" }, e.status)),
    ),
  );
  $("server-errors").querySelector("tbody").replaceChildren(...errors);
  $("server-errors").hidden = errors.length === 0;
  $("server-errors-empty").hidden = errors.length > 0;
}

function partRow(part) {
  const checks = Object.entries(part.checks).map(([name, state]) => (state === "ok" ? `${name} ok` : `${name}: ${state}`));
  return el(
    "tr",
    { "data-part": part.name },
    el("td", { "data-label": "Part" }, part.name),
    el("td", { "data-label": "State" }, el("span", { class: `badge ${part.ready ? "healthy" : "failed"}` }, part.ready ? "ready" : "not ready")),
    el("td", { class: "why", "data-label": "Checks" }, part.detail || checks.join(" · ") || "–"),
  );
}

// A topic and its retry topic on one row: the retry topic holds what waits for another attempt.
function lagRows(consumers) {
  const rows = new Map();
  for (const c of consumers) {
    const topic = c.topic.replace(/\.retry$/, "");
    const key = `${c.group} ${topic}`;
    const row = rows.get(key) || { group: c.group, topic, behind: 0, retrying: 0 };
    if (topic === c.topic) row.behind = c.lag;
    else row.retrying = c.lag;
    rows.set(key, row);
  }
  return [...rows.values()].map((r) =>
    el(
      "tr",
      { "data-group": r.group, "data-topic": r.topic },
      el("td", { "data-label": "Group" }, r.group),
      el("td", { "data-label": "Topic" }, r.topic),
      el("td", { "data-label": "Behind", class: r.behind ? "warn" : "" }, r.behind),
      el("td", { "data-label": "Retrying", class: r.retrying ? "warn" : "" }, r.retrying),
    ),
  );
}

function deadRow(dead) {
  const actions = dead.waiting
    ? [
        el("button", { type: "button", class: "quiet", onclick: () => showLetters(dead.topic) }, "Show"),
        el("button", { type: "button", onclick: () => replay(dead.topic) }, "Replay"),
      ]
    : ["–"];
  return el(
    "tr",
    { "data-dead": dead.topic },
    el("td", { "data-label": "Topic" }, dead.topic),
    el("td", { "data-label": "Kept" }, dead.total),
    el("td", { "data-label": "Waiting", class: dead.waiting ? "warn" : "" }, dead.waiting),
    el("td", { "data-label": "Actions", class: "row-actions" }, ...actions),
  );
}

function showLetterList(title, letters) {
  $("letters-title").textContent = title;
  $("letters-list").replaceChildren(
    ...letters.map((l) => el("li", {}, el("span", { class: "meta" }, `#${l.offset} · ${l.group} · key ${l.key}`), el("span", { class: "reason" }, l.error))),
  );
  $("letters").hidden = false;
}

async function showLetters(topic) {
  try {
    showLetterList(`Waiting in ${topic}.dlq`, await api(`/v1/system/dead-letters/${encodeURIComponent(topic)}`));
  } catch (error) {
    $("system-error").textContent = error.message;
  }
}

async function replay(topic) {
  try {
    const result = await api(`/v1/system/dead-letters/${encodeURIComponent(topic)}/replay`, { method: "POST" });
    showLetterList(`Replayed from ${topic}.dlq: ${result.replayed.length}`, result.replayed);
  } catch (error) {
    $("system-error").textContent = error.message;
  }
  await loadSystem();
}

// --- drills ---------------------------------------------------------------------------------

let shownRun = null; // the run whose journal is on show
let runTimer = null; // re-reads that journal every 2 s while it runs

async function loadDrills() {
  if (me?.role !== "admin") return;
  let catalogue;
  try {
    catalogue = await api("/v1/drills?limit=10");
  } catch (error) {
    $("drills-error").textContent = `Could not read the drills: ${error.message}`;
    return;
  }
  $("drills-error").textContent = catalogue.why_not || "";
  const busy = catalogue.runs.some((r) => r.status === "starting" || r.status === "running");
  $("drill-list").querySelector("tbody").replaceChildren(...catalogue.drills.map((d) => drillRow(d, catalogue.runs_here && !busy)));
  $("drill-runs").replaceChildren(...catalogue.runs.map(runItem));
  $("drill-runs-empty").hidden = catalogue.runs.length > 0;
  if (!shownRun && catalogue.runs.length) showRun(catalogue.runs[0].run_id);
}

function drillRow(drill, canRun) {
  const load = Object.entries(drill.pipelines).map(([name, rate]) => `${name} ${rate}/s`).join(", ");
  return el(
    "tr",
    { "data-drill": drill.name },
    el("td", { "data-label": "Drill" }, el("strong", {}, drill.name), el("br"), el("span", { class: "meta" }, drill.proves)),
    el("td", { "data-label": "Load" }, `${load} for ${drill.duration_s} s`),
    el("td", { "data-label": "Faults" }, drill.method.map((f) => `${f.name} (${f.kind})`).join("; ")),
    el("td", { "data-label": "Invariants" }, drill.invariants.join(", ")),
    el("td", { "data-label": "Run" }, el("button", { type: "button", disabled: !canRun, onclick: () => startDrill(drill.name) }, "Run")),
  );
}

function runItem(run) {
  return el(
    "li",
    { "data-run": run.run_id },
    el("button", { type: "button", class: "link", onclick: () => showRun(run.run_id) }, run.drill),
    " ",
    el("span", { class: `badge ${run.status}` }, run.status),
    el("span", { class: "meta" }, ` ${new Date(run.started_at).toLocaleString()} · ${Math.round(run.duration_s)} s`),
  );
}

async function startDrill(name) {
  $("drills-error").textContent = "";
  try {
    const started = await api(`/v1/drills/${encodeURIComponent(name)}/runs`, { method: "POST" });
    await loadDrills();
    showRun(started.run_id);
  } catch (error) {
    $("drills-error").textContent = error.message;
  }
}

async function showRun(runId) {
  clearTimeout(runTimer);
  shownRun = runId;
  let journal;
  try {
    journal = await api(`/v1/drills/runs/${encodeURIComponent(runId)}`);
  } catch (error) {
    $("drills-error").textContent = error.message;
    return;
  }
  if (shownRun !== runId) return;
  renderRun(runId, journal);
  if (!VERDICTS.has(journal.status)) runTimer = setTimeout(() => !$("drills").hidden && showRun(runId), 2000);
  else loadDrills();
}

function renderRun(runId, journal) {
  $("drill-run").hidden = false;
  $("drill-run").dataset.run = runId;
  $("drill-run-title").textContent = `${journal.drill} · ${runId.split("-")[0]}`;
  $("drill-run-status").replaceChildren(
    el("span", { class: `badge ${journal.status}` }, journal.status),
    ` ${Math.round(journal.duration || 0)} s`,
    journal.recovery_s !== null && journal.recovery_s !== undefined ? ` · recovered ${journal.recovery_s} s after the last fault` : "",
    journal.reason ? el("span", { class: "reason" }, ` ${journal.reason}`) : "",
  );
  $("drill-faults").replaceChildren(
    ...(journal.run || []).map((f) =>
      el(
        "li",
        {},
        el("span", { class: `badge ${f.outcome === "struck" ? "passed" : "failed"}` }, f.outcome === "struck" ? "struck" : "missed"),
        ` ${f.fault} (${f.kind})`,
        f.at_s !== undefined ? el("span", { class: "meta" }, ` at ${f.at_s} s, in flight: ${inFlight(f.in_flight)}`) : "",
        f.outcome !== "struck" ? el("span", { class: "reason" }, ` ${f.outcome}`) : "",
      ),
    ),
  );
  const phases = ["before", "during", "after"].map((phase) => {
    const readings = journal.steady_states?.[phase] || [];
    if (!readings.length) return el("li", {}, `${phase}: –`);
    const ok = readings.filter((r) => r.ok).length;
    return el("li", {}, `${phase}: ${ok} of ${readings.length} ${phase === "during" ? "readings held" : "probes held"}`);
  });
  $("drill-steady").replaceChildren(...phases);
  $("drill-invariants").replaceChildren(
    ...(journal.invariants || []).map((v) =>
      el("li", {}, el("span", { class: `badge ${v.ok ? "passed" : "failed"}` }, v.ok ? "held" : "broken"), ` ${v.name}`, v.detail ? el("span", { class: "meta" }, ` ${v.detail}`) : ""),
    ),
  );
  if (!(journal.invariants || []).length) $("drill-invariants").append(el("li", { class: "meta" }, "checked once the load has drained"));
  const load = journal.load || {};
  const accepted = Object.entries(load.accepted || {}).map(([name, n]) => `${n} ${name}`).join(", ");
  $("drill-load").textContent = load.sent === undefined
    ? "The load's counts come once it has been sent."
    : `Load: ${load.sent} requests sent, accepted ${accepted || "none"}; ${load.server_errors} answered 5xx or not at all, ${load.retried} resent.`;
  drawTimeline(journal);
}

function inFlight(flight) {
  const entries = Object.entries(flight || {});
  return entries.length ? entries.map(([k, v]) => `${v} ${k}`).join(", ") : "nothing";
}

// An SVG drawn from the journal's numbers (elements and attributes only: nothing parsed).
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawTimeline(journal) {
  const W = 800, H = 240, left = 40, right = 10, mid = 110, bottom = 220;
  const timeline = journal.timeline || {};
  const requests = timeline.requests || [];
  const lag = timeline.lag || [];
  const windows = (timeline.faults || []).length
    ? timeline.faults
    : (journal.run || []).filter((f) => f.at_s !== undefined).map((f) => [f.at_s, f.ended_s ?? f.at_s, f.fault]);
  const span = Math.max(10, journal.duration || 0, ...requests.map((r) => r[1]), ...lag.map((l) => l[0]));
  const x = (s) => left + (s / span) * (W - left - right);
  const parts = [];
  for (const [start, end, name] of windows) {
    parts.push(svg("rect", { x: x(start), y: 5, width: Math.max(2, x(end) - x(start)), height: bottom - 5, class: "fault-window" }, undefined));
    parts.push(svg("text", { x: x(start) + 3, y: 16, class: "axis" }, name));
  }
  // Requests per second, errors (5xx, or no answer) on top in red.
  const seconds = new Map();
  for (const [, at, status] of requests) {
    const s = Math.floor(at);
    const bucket = seconds.get(s) || { ok: 0, bad: 0 };
    if (status === 0 || status >= 500) bucket.bad += 1;
    else bucket.ok += 1;
    seconds.set(s, bucket);
  }
  const most = Math.max(1, ...[...seconds.values()].map((b) => b.ok + b.bad));
  const barW = Math.max(1, (W - left - right) / span - 1);
  for (const [s, b] of seconds) {
    const okH = (b.ok / most) * (mid - 25);
    const badH = (b.bad / most) * (mid - 25);
    parts.push(svg("rect", { x: x(s), y: mid - okH, width: barW, height: okH, class: "bar-ok" }));
    if (b.bad) parts.push(svg("rect", { x: x(s), y: mid - okH - badH, width: barW, height: badH, class: "bar-bad" }));
  }
  parts.push(svg("text", { x: 2, y: 30, class: "axis" }, `${most}/s`));
  // Intake lag per pipeline, as read during the run.
  const maxLag = Math.max(1, ...lag.map((l) => l[2]));
  const byPipeline = new Map();
  for (const [at, pipeline, value] of lag) {
    if (!byPipeline.has(pipeline)) byPipeline.set(pipeline, []);
    byPipeline.get(pipeline).push(`${x(at).toFixed(1)},${(bottom - (value / maxLag) * (bottom - mid - 15)).toFixed(1)}`);
  }
  let legend = 0;
  for (const [pipeline, points] of byPipeline) {
    parts.push(svg("polyline", { points: points.join(" "), class: `lag-line lag-${legend % 4}` }));
    parts.push(svg("text", { x: W - right - 150, y: mid + 15 + legend * 12, class: `axis lag-label-${legend % 4}` }, `${pipeline} lag`));
    legend += 1;
  }
  parts.push(svg("text", { x: 2, y: mid + 20, class: "axis" }, `lag ${maxLag}`));
  parts.push(svg("line", { x1: left, y1: mid, x2: W - right, y2: mid, class: "axis-line" }));
  parts.push(svg("line", { x1: left, y1: bottom, x2: W - right, y2: bottom, class: "axis-line" }));
  const step = span > 120 ? 30 : 10;
  for (let s = 0; s <= span; s += step) parts.push(svg("text", { x: x(s), y: H - 4, class: "axis" }, `${s}s`));
  $("drill-timeline").replaceChildren(...parts);
}

// --- wiring ----------------------------------------------------------------------------------

function boot() {
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("key").value.trim();
    if (!key) {
      $("key-error").textContent = "Paste an API key first.";
      return;
    }
    try {
      await signIn(key);
    } catch (error) {
      sessionStorage.removeItem(KEY);
      me = null;
      $("key-error").textContent = error.status === 401 ? "That key is not known to this gateway." : error.message;
    }
  });
  $("signout").addEventListener("click", () => signOut());
  for (const button of $("tabs").querySelectorAll("button")) button.addEventListener("click", () => show(button.dataset.view));
  $("image-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitImage(event.target);
  });
  $("image-form").addEventListener("input", () => (idempotencyKey = null)); // a changed request is a new one
  $("content-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitContent(event.target);
  });
  const key = sessionStorage.getItem(KEY);
  if (key) signIn(key).catch(() => signOut("Sign in again."));
}

boot();
