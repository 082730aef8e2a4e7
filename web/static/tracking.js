// The tracking page, /t/{tracking_code}: the parcel's journey from the
// public tracking API (GET /v1/tracking/{code}), in the reader's language,
// updated every 30 s while the page is visible. It shows what public
// tracking shows: no name, phone, address of the recipient or code.
(function () {
  "use strict";
  var root = document.getElementById("tracking");
  if (!root) return;
  var code = root.dataset.code;
  var lang = root.dataset.lang;
  var POLL_MS = 30000;
  var T = {
    fi: { title: "Lähetys", loading: "Haetaan…", notFound: "Lähetystä ei löytynyt. Tarkista seurantakoodi.",
      failed: "Seurantatietoja ei saatu juuri nyt. Yritetään uudelleen hetken kuluttua.", pickupBy: "Nouda viimeistään",
      estimated: "Arvioitu toimituspäivä", where: "Noutopaikka", journey: "Vaiheet", updated: "Päivitetty",
      types: { LOCKER: "Taloyhtiön pakettiautomaatti", SMARTPOST: "Pakettiautomaatti", POSTOFFICE: "Posti", PICKUPPOINT: "Noutopiste" },
      days: ["ma", "ti", "ke", "to", "pe", "la", "su"], closed: "suljettu", allDay: "avoinna ympäri vuorokauden", map: "Noutopaikka kartalla",
      qrTitle: "Avaa QR-koodilla", qrPostcode: "Postinumerosi", qrShow: "Näytä QR-koodi", qrAlt: "QR-koodi automaatin lukijalle",
      qrHint: "Näytä koodi automaatin lukijalle: luukku aukeaa.", qrWrong: "Postinumero ei ole vastaanottajan.", qrTooMany: "Liian monta yritystä. Odota hetki." },
    sv: { title: "Försändelse", loading: "Hämtar…", notFound: "Försändelsen hittades inte. Kontrollera spårningskoden.",
      failed: "Spårningen kunde inte hämtas just nu. Vi försöker igen om en stund.", pickupBy: "Hämta senast",
      estimated: "Beräknad leveransdag", where: "Utlämningsställe", journey: "Händelser", updated: "Uppdaterad",
      types: { LOCKER: "Husbolagets paketautomat", SMARTPOST: "Paketautomat", POSTOFFICE: "Posten", PICKUPPOINT: "Utlämningsställe" },
      days: ["mån", "tis", "ons", "tor", "fre", "lör", "sön"], closed: "stängt", allDay: "öppet dygnet runt", map: "Utlämningsstället på kartan",
      qrTitle: "Öppna med QR-kod", qrPostcode: "Ditt postnummer", qrShow: "Visa QR-koden", qrAlt: "QR-kod för automatens läsare",
      qrHint: "Visa koden för automatens läsare: luckan öppnas.", qrWrong: "Postnumret är inte mottagarens.", qrTooMany: "För många försök. Vänta en stund." },
    en: { title: "Parcel", loading: "Loading…", notFound: "No parcel with this tracking code. Check the code.",
      failed: "Tracking could not be fetched just now. Trying again shortly.", pickupBy: "Pick up by",
      estimated: "Estimated delivery", where: "Pickup point", journey: "Journey", updated: "Updated",
      types: { LOCKER: "Building's parcel locker", SMARTPOST: "Parcel locker", POSTOFFICE: "Post office", PICKUPPOINT: "Pickup point" },
      days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], closed: "closed", allDay: "open 24 h", map: "The pickup point on a map",
      qrTitle: "Open with a QR code", qrPostcode: "Your postcode", qrShow: "Show the QR code", qrAlt: "QR code for the locker's scanner",
      qrHint: "Show the code to the locker's scanner: the door opens.", qrWrong: "That postcode is not the recipient's.", qrTooMany: "Too many tries. Wait a moment." }
  }[lang] || null;
  var locale = { fi: "fi-FI", sv: "sv-FI", en: "en-GB" }[lang];
  var dateTime = new Intl.DateTimeFormat(locale, { timeZone: "Europe/Helsinki", weekday: "short", day: "numeric", month: "numeric", hour: "2-digit", minute: "2-digit" });
  var dateOnly = new Intl.DateTimeFormat(locale, { timeZone: "UTC", weekday: "long", day: "numeric", month: "numeric", year: "numeric" });
  var last = "";
  var outline = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function svg(tag, attrs) {
    var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  function hours(days) {
    if (!days || !days.length) return null;
    var list = el("ul", "hours");
    for (var d = 1; d <= 7; d++) {
      var today = days.filter(function (h) { return h.weekday === d; });
      var text = today.length === 0 ? T.closed : today.map(function (h) {
        return h.from === "00:00" && h.to === "24:00" ? T.allDay : h.from + "–" + h.to;
      }).join(", ");
      list.append(el("li", null, T.days[d - 1] + " " + text));
    }
    return list;
  }

  // map draws Finland's outline and the point (equirectangular, x shrunk
  // by cos 64°, as the pickup-point selector's map).
  function map(lat, lon) {
    var k = Math.cos(64 * Math.PI / 180);
    var px = function (lo, la) { return [(lo - 19) * k * 100, (70.1 - la) * 100]; };
    var s = svg("svg", { viewBox: "0 0 " + (13 * k * 100).toFixed(0) + " 1060", role: "img", "aria-label": T.map, class: "map" });
    (outline || []).forEach(function (ring) {
      var d = ring.map(function (p, i) { var q = px(p[0], p[1]); return (i ? "L" : "M") + q[0].toFixed(1) + " " + q[1].toFixed(1); }).join("") + "Z";
      s.append(svg("path", { d: d, class: "land" }));
    });
    var q = px(lon, lat);
    s.append(svg("circle", { cx: q[0].toFixed(1), cy: q[1].toFixed(1), r: "14", class: "point" }));
    return s;
  }

  function render(t) {
    var frag = document.createDocumentFragment();
    frag.append(el("h1", null, T.title + " " + t.tracking_code));
    var status = el("p", "status", t.status_name);
    status.setAttribute("role", "status"); // a change is announced
    status.dataset.status = t.status;
    frag.append(status);
    if (t.pickup_by) {
      frag.append(el("p", "deadline", T.pickupBy + " " + dateTime.format(new Date(t.pickup_by))));
    } else if (t.estimated_delivery && ["CREATED", "IN_TRANSIT"].indexOf(t.status) >= 0) {
      frag.append(el("p", "estimated", T.estimated + ": " + dateOnly.format(new Date(t.estimated_delivery + "T00:00:00Z"))));
    }
    var d = t.destination;
    if (d) {
      var card = el("section", "destination");
      card.setAttribute("aria-labelledby", "where");
      var h = el("h2", null, T.where);
      h.id = "where";
      card.append(h);
      if (d.name) card.append(el("p", "name", d.name));
      card.append(el("p", "type", T.types[d.type] || d.type));
      if (d.street) card.append(el("p", "address", d.street + ", " + d.postcode + " " + d.city));
      else if (d.city) card.append(el("p", "address", d.city));
      var hl = hours(d.opening_hours);
      if (hl) card.append(hl);
      if (typeof d.lat === "number" && typeof d.lon === "number" && d.lat) card.append(map(d.lat, d.lon));
      frag.append(card);
    }
    if (t.status === "READY_FOR_PICKUP" && d && (d.type === "LOCKER" || d.type === "SMARTPOST")) frag.append(qrSection());
    var journey = el("section", "journey");
    journey.setAttribute("aria-labelledby", "journey");
    var jh = el("h2", null, T.journey);
    jh.id = "journey";
    journey.append(jh);
    var ol = el("ol", "timeline");
    (t.events || []).slice().reverse().forEach(function (e) {
      var li = el("li");
      var time = el("time", null, dateTime.format(new Date(e.at)));
      time.setAttribute("datetime", e.at);
      li.append(time, el("strong", null, e.status_name), el("span", null, e.text || e.reason || ""));
      ol.append(li);
    });
    journey.append(ol);
    frag.append(journey);
    frag.append(el("p", "updated", T.updated + " " + dateTime.format(new Date())));
    root.replaceChildren(frag);
    root.dataset.state = "ready";
    root.dataset.status = t.status;
  }

  // qrSection asks the recipient's postcode and shows the QR code that
  // opens the compartment at the locker's scanner (POST …/qr).
  function qrSection() {
    var sec = el("section", "qr");
    sec.setAttribute("aria-labelledby", "qr-title");
    var h = el("h2", null, T.qrTitle);
    h.id = "qr-title";
    var form = el("form", "qr-form");
    var label = el("label", null, T.qrPostcode);
    label.setAttribute("for", "qr-postcode");
    var input = el("input");
    input.id = "qr-postcode";
    input.setAttribute("inputmode", "numeric");
    input.setAttribute("maxlength", "5");
    input.setAttribute("autocomplete", "postal-code");
    input.required = true;
    var button = el("button", null, T.qrShow);
    button.type = "submit";
    var out = el("div", "qr-out");
    out.setAttribute("role", "status");
    form.append(label, input, button);
    sec.append(h, form, out);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      out.replaceChildren(); // the last answer goes
      fetch("/v1/tracking/" + encodeURIComponent(code) + "/qr", {
        method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ postcode: input.value.trim() })
      }).then(function (res) {
        if (res.status === 429) { out.replaceChildren(el("p", null, T.qrTooMany)); return; }
        if (!res.ok) { out.replaceChildren(el("p", null, T.qrWrong)); return; }
        return res.json().then(function (q) {
          var img = el("img", "qr-image");
          img.src = q.image;
          img.alt = T.qrAlt;
          img.width = 264;
          img.height = 264;
          out.replaceChildren(img, el("p", null, T.qrHint));
        });
      }, function () { out.replaceChildren(el("p", null, T.failed)); });
    });
    return sec;
  }

  function message(text, state) {
    root.replaceChildren(el("h1", null, T.title + " " + code), el("p", "message", text));
    root.dataset.state = state;
  }

  function load() {
    return fetch("/v1/tracking/" + encodeURIComponent(code) + "?lang=" + lang, { headers: { Accept: "application/json" } })
      .then(function (res) {
        if (res.status === 404 || res.status === 400) { message(T.notFound, "not_found"); return; }
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.text().then(function (body) {
          if (body === last) return; // unchanged: keep the page as it is
          last = body;
          render(JSON.parse(body));
        });
      })
      .catch(function () {
        if (!last) message(T.failed, "error");
      });
  }

  if (!T) return;
  message(T.loading, "loading");
  fetch("/static/finland-outline.json").then(function (r) { return r.ok ? r.json() : null; })
    .then(function (o) { outline = o && o.rings; }, function () {})
    .then(load);
  setInterval(function () { if (document.visibilityState === "visible") load(); }, POLL_MS);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") load(); });
})();
