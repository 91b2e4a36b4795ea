// The Forgeline console. Everything it shows comes from the gateway's API, called with the key
// the user signed in with (session storage, bearer header). No framework: the page is small, and
// EventSource cannot send a bearer header, so live updates are read with fetch anyway.

const KEY = "forgeline.console.key";
const FINAL = new Set(["succeeded", "failed", "rejected", "cancelled"]);
const VIEWS = ["images", "moderation", "email", "codereview"];
const $ = (id) => document.getElementById(id);

let live = null; // AbortController of the live stream
let me = null; // GET /v1/tenants/me
let runsTimer = null; // review runs belong to no tenant, so no stream carries them: an admin's view polls
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
  $("tabs").querySelector('[data-view="codereview"]').hidden = !admin;
  if (admin) runsTimer = setInterval(loadRuns, 5000);
  show(location.hash.slice(1) || "images");
  live = new AbortController();
  follow("/v1/events", onLive, live.signal);
  await Promise.all([loadJobs(), loadEmails(), $("review").hidden ? null : loadQueue(), admin ? loadRuns() : null]);
}

function signOut(why = "") {
  sessionStorage.removeItem(KEY);
  live?.abort();
  clearInterval(runsTimer);
  me = null;
  for (const id of [...VIEWS, "tabs", "signout", "who", "live"]) $(id).hidden = true;
  $("jobs").replaceChildren();
  $("emails").replaceChildren();
  $("runs").replaceChildren();
  $("decisions").querySelector("tbody").replaceChildren();
  submitted.clear();
  $("signin").hidden = false;
  $("key").value = "";
  $("key-error").textContent = why;
}

function show(view) {
  if (!VIEWS.includes(view) || (view === "codereview" && me?.role !== "admin")) view = "images";
  for (const name of VIEWS) $(name).hidden = name !== view;
  for (const button of $("tabs").querySelectorAll("button")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  history.replaceState(null, "", `#${view}`);
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

function showDecision(event) {
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
  if (!$("review").hidden) loadQueue();
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
