// The counter (/counter): a clerk signs in with their token (POST
// /v1/session; the page keeps nothing, the HttpOnly cookie authenticates
// every call after), scans parcels in (POST /v1/outlets/{id}/arrivals: the
// shelf place, large) and hands them over (POST /v1/outlets/{id}/pickups:
// the ID checked, a representative with a power of attorney, cash on
// delivery in cash or by card). Made for a USB scanner, which types the
// code and presses Enter, and for the keyboard alone: F2 arrival, F3
// pickup, Esc cancels a pickup; focus comes back to the scan field.
(() => {
  "use strict";
  const root = document.getElementById("counter");
  if (!root) return;
  const T = JSON.parse(root.dataset.t);
  const locale = { fi: "fi-FI", sv: "sv-FI", en: "en-GB" }[root.dataset.lang] || "fi-FI";
  const $ = (id) => document.getElementById(id);
  const alertBox = $("counter-alert");
  const deskAlert = $("desk-alert");
  const pickupAlert = $("pickup-alert");
  const heading = $("counter-heading");
  const signinForm = $("signin-form");
  const tokenInput = $("signin-token");
  const notClerk = $("not-clerk");
  const desk = $("desk");
  const scanForm = $("scan-form");
  const scan = $("scan");
  const pickupForm = $("pickup-form");
  const result = $("result");
  const recent = $("recent");
  const trackingShape = /^[A-Z]{2}[0-9]{9}[A-Z]{2}$/;
  const title = document.title;

  let outlet = ""; // the clerk's outlet (location ID)
  let pending = null; // the pickup being confirmed
  let queue = Promise.resolve(); // scans, one after the other (a scanner is fast)

  const fmt = (key, vars) => (T[key] || key).replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));

  function money(cents, currency) {
    try {
      return new Intl.NumberFormat(locale, { style: "currency", currency: currency || "EUR" }).format(cents / 100);
    } catch {
      return (cents / 100).toFixed(2) + " " + (currency || "EUR");
    }
  }

  // day is the last day of a storage period that ends at midnight.
  function day(iso) {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) return "";
    return new Date(t - 60000).toLocaleDateString(locale, { timeZone: "Europe/Helsinki", weekday: "short", day: "numeric", month: "numeric", year: "numeric" });
  }

  // say shows a refusal (or clears it) in the alert next to the work at
  // hand: the pickup's panel, the scan field, or the sign-in form.
  function say(text) {
    const target = pending ? pickupAlert : root.dataset.state === "ready" ? deskAlert : alertBox;
    for (const box of [alertBox, deskAlert, pickupAlert]) box.textContent = box === target ? text || "" : "";
  }

  async function api(method, path, body) {
    const init = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    let data = {};
    if (res.status !== 204) {
      try { data = await res.json(); } catch { data = {}; }
    }
    return { status: res.status, ok: res.ok, data };
  }

  // problem is the text of a refusal, in the page's language where the
  // reason is known, else the API's own message.
  function problem(res, code) {
    const e = (res.data && res.data.error) || {};
    switch (e.code) { // the reason: the API's error body is {"error": {"code", "message", "field"}}
      case "unknown_tracking_code": return fmt("unknownCode", { code });
      case "not_on_shelf": return fmt("notOnShelf", { code });
      case "unknown_pickup_code": return T.unknownPickupCode;
      case "shelf_full": return T.shelfFull;
      case "wrong_outlet": return fmt("wrongOutlet", { code }) + " (" + e.message + ")";
      case "illegal_transition": return fmt("notInTransit", { code }) + " (" + e.message + ")";
      case "expired":
        if (pending && pending.place) return fmt("expired", { code, place: pending.place });
        break;
      case "malformed":
        if (e.field === "tracking_code") return fmt("malformed", { code });
        break;
    }
    if (res.status === 429) return T.tooMany;
    return e.message || T.failed;
  }

  // refused handles a refusal: a session that ended goes back to sign-in.
  function refused(res, code) {
    if (res.status === 401) {
      signedOut(T.sessionEnded);
      return;
    }
    say(problem(res, code));
  }

  function show(state) {
    root.dataset.state = state;
    signinForm.hidden = state !== "signed-out";
    notClerk.hidden = state !== "not-clerk";
    desk.hidden = state !== "ready";
  }

  function signedOut(message) {
    outlet = "";
    closePickup();
    result.replaceChildren();
    recent.replaceChildren();
    $("recent-heading").hidden = true;
    heading.textContent = T.title;
    document.title = title;
    show("signed-out");
    say(message);
    tokenInput.value = "";
    tokenInput.focus();
  }

  async function signedIn(c) {
    say("");
    if (c.kind !== "clerk" || !c.location_id) {
      $("not-clerk-text").textContent = fmt("notClerk", { name: c.name });
      show("not-clerk");
      notClerk.querySelector("button").focus();
      return;
    }
    outlet = c.location_id;
    $("clerk-name").textContent = fmt("signedInAs", { name: c.name });
    show("ready");
    paintMode();
    scan.focus();
    await refresh();
  }

  // refresh reads the outlet's view: its name and what is on its shelf.
  async function refresh() {
    if (!outlet) return null;
    let res;
    try {
      res = await api("GET", "/v1/outlets/" + encodeURIComponent(outlet));
    } catch {
      say(T.failed);
      return null;
    }
    if (!res.ok) {
      refused(res, "");
      return null;
    }
    const v = res.data;
    const loc = v.location || {};
    heading.textContent = T.title + ": " + (loc.name || outlet);
    document.title = T.title + ": " + (loc.name || outlet) + " · lokero";
    $("outlet-address").textContent = [loc.street, [loc.postcode, loc.city].filter(Boolean).join(" ")].filter(Boolean).join(", ");
    const onShelf = v.on_shelf || [];
    const expiring = v.expiring_today || [];
    const shelf = v.shelf || {};
    $("count-on-shelf").textContent = fmt("onShelf", { n: onShelf.length });
    $("count-on-shelf").dataset.count = String(onShelf.length);
    $("count-expiring").textContent = fmt("expiringToday", { n: expiring.length });
    $("count-expiring").hidden = expiring.length === 0;
    $("count-free").textContent = fmt("free", { free: shelf.free ?? "?", places: shelf.places ?? "?" });
    return v;
  }

  // Modes: arrival or pickup, by the radio group or F2 and F3.
  const mode = () => scanForm.elements.mode.value;

  function paintMode() {
    const m = mode();
    root.dataset.mode = m;
    $("scan-label").textContent = m === "arrival" ? T.scanArrival : T.scanPickup;
    $("scan-submit").textContent = m === "arrival" ? T.submitArrival : T.submitPickup;
  }

  function setMode(m) {
    $(m === "arrival" ? "mode-arrival" : "mode-pickup").checked = true;
    paintMode();
  }

  scanForm.addEventListener("change", (e) => {
    if (e.target.name !== "mode") return;
    paintMode();
    if (pending) closePickup();
  });

  document.addEventListener("keydown", (e) => {
    if (root.dataset.state !== "ready" || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === "F2" || e.key === "F3") {
      e.preventDefault();
      if (pending) closePickup();
      setMode(e.key === "F2" ? "arrival" : "pickup");
      say("");
      scan.focus();
    } else if (e.key === "Escape" && pending) {
      e.preventDefault();
      closePickup();
      say("");
      scan.focus();
    }
  });

  scanForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const code = scan.value.replace(/\s+/g, "").toUpperCase();
    scan.value = "";
    scan.focus();
    if (!code || !outlet) return;
    const m = mode();
    queue = queue.then(() => (m === "arrival" ? arrive(code) : find(code))).catch(() => say(T.failed));
  });

  // showResult puts an action's outcome in the status region: the shelf
  // place, large, and what happened.
  function showResult(kind, place, caption, lines, tracking) {
    const card = document.createElement("div");
    card.className = "result-card result-" + kind;
    card.dataset.kind = kind;
    card.dataset.tracking = tracking;
    card.dataset.place = place || "";
    if (place) {
      const box = document.createElement("div");
      box.className = "place-box";
      const cap = document.createElement("p");
      cap.className = "place-caption";
      cap.textContent = caption;
      const big = document.createElement("p");
      big.className = "place";
      big.textContent = place;
      box.append(cap, big);
      card.append(box);
    }
    for (const line of lines) {
      if (!line) continue;
      const p = document.createElement("p");
      p.textContent = line;
      card.append(p);
    }
    result.replaceChildren(card);
  }

  function remember(kind, tracking, place) {
    const li = document.createElement("li");
    const time = document.createElement("time");
    const now = new Date();
    time.dateTime = now.toISOString();
    time.textContent = now.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
    const what = document.createElement("span");
    what.textContent = T[kind] + " · " + tracking;
    const where = document.createElement("strong");
    where.textContent = place || "";
    li.append(time, " ", what, " ", where);
    recent.prepend(li);
    while (recent.children.length > 8) recent.lastElementChild.remove();
    $("recent-heading").hidden = false;
  }

  async function arrive(code) {
    say("");
    result.replaceChildren();
    root.dataset.busy = "true";
    let res;
    try {
      res = await api("POST", "/v1/outlets/" + encodeURIComponent(outlet) + "/arrivals", { tracking_code: code });
    } finally {
      delete root.dataset.busy;
    }
    if (!res.ok) {
      refused(res, code);
      return;
    }
    const p = res.data;
    showResult("arrival", p.shelf_place, T.placeOn, [
      fmt("arrived", { code: p.tracking_code }),
      p.recipient ? T.recipient + ": " + p.recipient : "",
      p.storage_deadline ? fmt("pickUpBy", { date: day(p.storage_deadline) }) : "",
      p.amount_due_cents ? fmt("codDue", { amount: money(p.amount_due_cents, p.currency) }) : "",
    ], p.tracking_code);
    remember("arrival", p.tracking_code, p.shelf_place);
    await refresh();
  }

  // find looks a scanned code up for a pickup: a tracking code on the
  // shelf (its place, recipient and any cash on delivery are shown at
  // once), or a pickup code from the notice of arrival (digits: what it
  // opens shows when the pickup is confirmed).
  async function find(code) {
    if (pending) closePickup();
    say("");
    result.replaceChildren();
    const digits = code.replace(/[-.]/g, "");
    if (/^[0-9]+$/.test(digits)) {
      openPickup({ pickup_code: digits });
      return;
    }
    if (!trackingShape.test(code)) {
      say(fmt("malformed", { code }));
      return;
    }
    root.dataset.busy = "true";
    let v;
    try {
      v = await refresh();
    } finally {
      delete root.dataset.busy;
    }
    if (!v) return;
    const p = (v.on_shelf || []).find((x) => x.tracking_code === code);
    if (!p) say(fmt("notOnShelf", { code }));
    else if (p.status === "EXPIRED") say(fmt("expired", { code, place: p.shelf_place }));
    else if (p.status !== "READY_FOR_PICKUP") say(fmt("droppedOff", { code, place: p.shelf_place }));
    else openPickup({ tracking_code: code, place: p.shelf_place, recipient: p.recipient, amount: p.amount_due_cents || 0, currency: p.currency });
  }

  function paintPickup() {
    const p = pending;
    $("pickup-title").textContent = p.tracking_code ? fmt("pickupTitle", { code: p.tracking_code }) : T.pickupTitleCode;
    $("pickup-place-box").hidden = !p.place;
    $("pickup-place").textContent = p.place || "";
    $("pickup-recipient").textContent = p.recipient ? T.recipient + ": " + p.recipient + ". " + T.compareId : "";
    $("pickup-recipient").hidden = !p.recipient;
    $("pickup-later").hidden = !!p.place;
    $("payment").hidden = !p.amount;
    $("payment-title").textContent = p.amount ? fmt("payTitle", { amount: money(p.amount, p.currency) }) : "";
  }

  function openPickup(p) {
    pending = p;
    pickupForm.reset();
    $("representative").hidden = true;
    paintPickup();
    pickupForm.hidden = false;
    root.dataset.pickup = p.tracking_code ? "tracking" : "code";
    $("pickup-id").focus();
  }

  function closePickup() {
    pending = null;
    pickupAlert.textContent = "";
    pickupForm.hidden = true;
    pickupForm.reset();
    $("representative").hidden = true;
    delete root.dataset.pickup;
  }

  pickupForm.addEventListener("change", (e) => {
    if (e.target.name === "by") $("representative").hidden = e.target.value !== "representative";
  });

  // Enter on a checkbox or a radio button confirms, as in a text field;
  // a code typed there (a scanner's next parcel) goes to the scan field.
  pickupForm.addEventListener("keydown", (e) => {
    if (!e.target.matches("input[type=checkbox], input[type=radio]") || e.ctrlKey || e.altKey || e.metaKey) return;
    if (e.key === "Enter") {
      e.preventDefault();
      pickupForm.requestSubmit();
    } else if (e.key.length === 1 && e.key !== " ") {
      scan.focus(); // the key's character lands there
    }
  });

  $("pickup-cancel").addEventListener("click", () => {
    closePickup();
    say("");
    scan.focus();
  });

  pickupForm.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!pending) return;
    const f = pickupForm.elements;
    if (!f.identity_checked.checked) {
      say(T.needId);
      f.identity_checked.focus();
      return;
    }
    const body = { identity_checked: true };
    if (pending.tracking_code) body.tracking_code = pending.tracking_code;
    else body.pickup_code = pending.pickup_code;
    if (f.by.value === "representative") {
      const name = f.representative.value.trim();
      if (!name) {
        say(T.needRep);
        f.representative.focus();
        return;
      }
      if (!f.power_of_attorney.checked) {
        say(T.needPoa);
        f.power_of_attorney.focus();
        return;
      }
      body.representative = name;
      body.power_of_attorney = true;
    }
    if (pending.amount) {
      if (!f.method.value) {
        say(T.needMethod);
        $("pay-cash").focus();
        return;
      }
      body.payment = { method: f.method.value, amount_cents: pending.amount, reference: f.reference.value.trim() };
    }
    say("");
    const p = pending;
    queue = queue.then(() => pickUp(p, body)).catch(() => say(T.failed));
  });

  async function pickUp(p, body) {
    const confirm = $("pickup-confirm");
    confirm.disabled = true;
    root.dataset.busy = "true";
    let res;
    try {
      res = await api("POST", "/v1/outlets/" + encodeURIComponent(outlet) + "/pickups", body);
    } finally {
      confirm.disabled = false;
      delete root.dataset.busy;
    }
    if (pending !== p) return; // cancelled meanwhile
    const code = p.tracking_code || "";
    if (!res.ok) {
      if (res.status === 401) {
        signedOut(T.sessionEnded);
        return;
      }
      const text = problem(res, code);
      if (res.status === 404 || res.status === 409) { // nothing to hand over: back to scanning
        closePickup();
        scan.focus();
      }
      say(text);
      if (pending) confirm.focus();
      return;
    }
    const r = res.data;
    if (r.result === "payment_required") {
      p.amount = r.amount_cents;
      p.currency = r.currency;
      p.place = r.shelf_place;
      paintPickup();
      say(fmt("paymentRequired", { amount: money(r.amount_cents, r.currency) }));
      $("pay-cash").focus();
      return;
    }
    const lines = [fmt("handedOver", { code: r.tracking_code })];
    if (r.picked_up && r.picked_up.by === "representative") lines.push(fmt("byRep", { name: r.picked_up.representative }));
    if (r.cod && r.cod.collected_at) {
      lines.push(fmt(r.cod.method === "card" ? "paidCard" : "paidCash", { amount: money(r.cod.amount_cents, r.cod.currency) }));
    }
    closePickup();
    showResult("pickup", r.shelf_place, T.fetchFrom, lines, r.tracking_code);
    remember("pickup", r.tracking_code, r.shelf_place);
    scan.focus();
    await refresh();
  }

  signinForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const token = tokenInput.value.trim();
    tokenInput.value = ""; // the page keeps no token, not even in the field
    if (!token) {
      tokenInput.focus();
      return;
    }
    say("");
    let res;
    try {
      res = await api("POST", "/v1/session", { token });
    } catch {
      say(T.failed);
      tokenInput.focus();
      return;
    }
    if (res.ok) {
      await signedIn(res.data.credential);
      return;
    }
    say(res.status === 401 ? T.wrongToken : problem(res, ""));
    tokenInput.focus();
  });

  for (const b of document.querySelectorAll("#counter .signout")) {
    b.addEventListener("click", async () => {
      try { await api("DELETE", "/v1/session"); } catch { /* the cookie ends with its session anyway */ }
      signedOut("");
    });
  }

  (async () => {
    let res;
    try {
      res = await api("GET", "/v1/session");
    } catch {
      signedOut(T.failed);
      return;
    }
    if (res.ok && res.data.credential) await signedIn(res.data.credential);
    else signedOut("");
  })();
})();
