// The officer UI: plain ES modules over the /v1 API. Everything shown comes from the API;
// text goes in with textContent only, so nothing a lane submits can run as script here.

const pages = ["login", "lane", "reviews", "dashboard", "audit"];
const state = { me: null, stream: null, review: null };

async function api(path, options = {}) {
  const response = await fetch(`/v1${path}`, { credentials: "same-origin", ...options });
  if (response.status === 401 && path !== "/sessions") { show("login"); throw new Error("logged out"); }
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
    throw new Error(detail);
  }
  return response.status === 204 ? null : response.json();
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value; else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function show(page) {
  for (const name of pages) document.getElementById(`page-${name}`).hidden = name !== page;
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.page === page);
  const loggedIn = page !== "login";
  document.getElementById("nav").hidden = !loggedIn;
  document.getElementById("logout").hidden = !loggedIn;
}

// --- lane live view ---------------------------------------------------------------------

function occupantCard(occupant) {
  const card = el("div", { class: "occupant", "data-occupant": occupant.occupant_id });
  const image = el("img", { alt: `capture of ${occupant.occupant_id}` });
  if (occupant.capture_id) image.src = `/v1/captures/${encodeURIComponent(occupant.capture_id)}/thumbnail?purpose=${encodeURIComponent("lane monitoring")}`;
  card.append(image, el("div", { class: `status-${occupant.status}`, text: occupant.status.replace("_", " ") }));
  if (occupant.identity) card.append(el("div", { text: occupant.identity }));
  if (occupant.score !== null && occupant.score !== undefined) card.append(el("div", { text: `score ${occupant.score.toFixed(3)}` }));
  return card;
}

function vehicleCard(vehicle) {
  const verdict = vehicle.all_confirmed ? "all confirmed" : "needs an officer";
  const card = el("article", { class: "vehicle", "data-encounter": vehicle.encounter_id });
  card.append(
    el("h3", { text: `${vehicle.port} / ${vehicle.lane} · ${new Date(vehicle.started_at).toISOString().slice(11, 19)} UTC · ${vehicle.occupants.length} occupant(s) · ${verdict}` }),
    el("div", { class: "occupants" }, ...vehicle.occupants.map(occupantCard)),
  );
  return card;
}

function addVehicle(vehicle) {
  const list = document.getElementById("vehicles");
  list.querySelector(`[data-encounter="${CSS.escape(vehicle.encounter_id)}"]`)?.remove();
  list.prepend(vehicleCard(vehicle));
  while (list.children.length > 30) list.lastChild.remove();
}

async function openLane() {
  const list = document.getElementById("vehicles");
  list.replaceChildren();
  for (const vehicle of (await api("/vehicles?limit=20")).reverse()) addVehicle(vehicle);
  if (!state.stream) {
    const badge = document.getElementById("live-state");
    state.stream = new EventSource("/v1/stream");
    state.stream.onopen = () => { badge.textContent = "live"; };
    state.stream.onerror = () => { badge.textContent = "reconnecting"; };
    state.stream.addEventListener("vehicle", (event) => addVehicle(JSON.parse(event.data)));
  }
}

// --- review queue -------------------------------------------------------------------------

async function openReviews() {
  document.getElementById("review-detail").hidden = true;
  const body = document.querySelector("#review-list tbody");
  body.replaceChildren();
  for (const review of await api("/reviews")) {
    const open = el("button", { text: "Open", "data-review": review.review_id });
    open.addEventListener("click", () => openReview(review.review_id));
    body.append(el("tr", {}, el("td", { text: review.waiting_since }), el("td", { text: `${review.port} / ${review.lane}` }),
      el("td", { text: review.encounter_id }), el("td", { text: review.occupant_id }), el("td", {}, open)));
  }
  if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: "5", text: "Nothing waiting." })));
}

async function openReview(reviewId) {
  const review = await api(`/reviews/${encodeURIComponent(reviewId)}`);
  state.review = review;
  document.getElementById("review-occupant").textContent = `${review.occupant_id} of ${review.encounter_id}`;
  const capture = document.getElementById("review-capture");
  if (review.capture_url) capture.src = review.capture_url; else capture.removeAttribute("src");
  const box = document.getElementById("review-candidates");
  box.replaceChildren();
  if (!review.candidates.length) box.append(el("p", { class: "hint", text: "No candidate in the records: confirm only against a document in hand." }));
  for (const candidate of review.candidates) {
    // The candidate's document photo (its read is audited as adjudication), beside the capture.
    const photo = el("img", { alt: `document photo of ${candidate.traveller_id}` });
    if (candidate.document_photo_url) photo.src = candidate.document_photo_url; else photo.classList.add("missing");
    const figure = el("figure", { class: "candidate", "data-traveller": candidate.traveller_id }, photo,
      el("figcaption", { text: `${candidate.traveller_id} · score ${candidate.score.toFixed(3)}` }));
    figure.addEventListener("click", () => {
      for (const other of box.children) other.classList.remove("selected");
      figure.classList.add("selected");
      document.getElementById("review-traveller").value = candidate.traveller_id;
      document.getElementById("confirm-button").disabled = false;
    });
    box.append(figure);
  }
  document.getElementById("confirm-button").disabled = true;
  document.getElementById("review-error").textContent = "";
  document.getElementById("review-detail").hidden = false;
}

async function decide(event) {
  event.preventDefault();
  const outcome = event.submitter.value;
  const form = new FormData(event.target);
  const reason = form.get("reason");
  const traveller = (form.get("traveller_id") || "").trim();
  try {
    await api(`/decisions/${encodeURIComponent(state.review.review_id)}`, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ outcome, reason, traveller_id: outcome === "confirmed" ? traveller : null }),
    });
    event.target.reset();
    await openReviews();
  } catch (error) { document.getElementById("review-error").textContent = error.message; }
}

// --- departures dashboard -----------------------------------------------------------------

async function openDashboard() {
  const rows = await api("/departures/counts");
  const body = document.querySelector("#counts tbody");
  body.replaceChildren(...rows.map((r) => el("tr", {}, el("td", { text: r.day }), el("td", { text: r.port }),
    el("td", { text: r.lane }), el("td", { text: r.citizenship }), el("td", { text: String(r.departures) }))));
  const perDay = new Map();
  for (const r of rows) perDay.set(r.day, (perDay.get(r.day) || 0) + r.departures);
  const days = [...perDay.keys()].sort().slice(-14);
  const chart = document.getElementById("chart");
  chart.replaceChildren();
  const most = Math.max(1, ...perDay.values());
  const width = 720 / Math.max(days.length, 1);
  days.forEach((day, i) => {
    const height = (perDay.get(day) / most) * 190;
    const svg = (tag, attrs) => { const n = document.createElementNS("http://www.w3.org/2000/svg", tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); return n; };
    const bar = svg("rect", { x: i * width + 8, y: 210 - height, width: width - 16, height, "data-day": day });
    const label = svg("text", { x: i * width + 8, y: 228 }); label.textContent = day.slice(5);
    const value = svg("text", { x: i * width + 8, y: 205 - height }); value.textContent = String(perDay.get(day));
    chart.append(bar, label, value);
  });
}

// --- audit viewer -------------------------------------------------------------------------

async function openAudit() {
  const [entries, check] = await Promise.all([api("/audit?limit=200"), api("/audit/verify")]);
  document.getElementById("audit-state").textContent = check.ok ? `chain intact · ${check.entries} entries` : `BROKEN at #${check.first_bad}`;
  const body = document.querySelector("#audit tbody");
  body.replaceChildren(...entries.map((e) => el("tr", {}, ...[e.sequence, e.at, e.actor, e.role, e.action, e.purpose || "", e.subject_ref, e.outcome]
    .map((v) => el("td", { text: String(v) })))));
}

// --- wiring -------------------------------------------------------------------------------

const openers = { lane: openLane, reviews: openReviews, dashboard: openDashboard, audit: openAudit };

async function route() {
  const page = location.hash.replace(/^#\//, "") || "lane";
  if (!state.me) {
    try { state.me = await api("/me"); } catch { show("login"); return; }
    document.getElementById("who").textContent = `${state.me.subject} (${state.me.roles.join(", ")})`;
  }
  const target = openers[page] ? page : "lane";
  show(target);
  try { await openers[target](); } catch (error) { console.error(error); }
}

document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    await api("/sessions", { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: form.get("username"), password: form.get("password") }) });
    event.target.reset();
    document.getElementById("login-error").textContent = "";
    await route();
  } catch (error) { document.getElementById("login-error").textContent = error.message; }
});
document.getElementById("logout").addEventListener("click", async () => {
  await api("/sessions/current", { method: "DELETE" }).catch(() => {});
  state.me = null; state.stream?.close(); state.stream = null;
  show("login");
});
document.getElementById("review-form").addEventListener("submit", decide);
document.getElementById("review-traveller").addEventListener("input", (event) => {
  document.getElementById("confirm-button").disabled = !event.target.value.trim();
});
window.addEventListener("hashchange", route);
route();
