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
      noticeTitle: "Saapumisilmoitus hukassa?", noticeHint: "Lähetämme sen koodeineen uudelleen puhelimeesi ja sähköpostiisi, jotka verkkokauppa antoi.",
      noticePostcode: "Postinumerosi", noticeSend: "Lähetä uudelleen", noticeSent: "Saapumisilmoitus lähetettiin uudelleen: katso puhelimesi tai sähköpostisi.",
      noticeWrong: "Postinumero ei ole vastaanottajan.", noticeTooMany: "Ilmoitusta ei voi lähettää nyt uudelleen. Yritä myöhemmin.",
      pushTitle: "Ilmoitukset tälle laitteelle", pushHint: "Saat ilmoituksen, kun lähetys on noudettavissa ja ennen kuin säilytysaika päättyy.",
      pushPostcode: "Postinumerosi", pushOn: "Tilaa ilmoitukset", pushOff: "Lopeta ilmoitukset", pushDone: "Ilmoitukset tulevat tälle laitteelle.",
      pushDenied: "Selain ei salli ilmoituksia tältä sivulta.", pushUnsupported: "Tämä selain ei vastaanota ilmoituksia.",
      pushFailed: "Ilmoituksia ei saatu päälle:", pushTooMany: "Liian monta yritystä. Odota hetki.", pushStopped: "Ilmoitukset on lopetettu." },
    sv: { title: "Försändelse", loading: "Hämtar…", notFound: "Försändelsen hittades inte. Kontrollera spårningskoden.",
      failed: "Spårningen kunde inte hämtas just nu. Vi försöker igen om en stund.", pickupBy: "Hämta senast",
      estimated: "Beräknad leveransdag", where: "Utlämningsställe", journey: "Händelser", updated: "Uppdaterad",
      types: { LOCKER: "Husbolagets paketautomat", SMARTPOST: "Paketautomat", POSTOFFICE: "Posten", PICKUPPOINT: "Utlämningsställe" },
      days: ["mån", "tis", "ons", "tor", "fre", "lör", "sön"], closed: "stängt", allDay: "öppet dygnet runt", map: "Utlämningsstället på kartan",
      noticeTitle: "Har du tappat bort ankomstaviseringen?", noticeHint: "Vi skickar den med koderna igen till din telefon och e-post som webbutiken gav.",
      noticePostcode: "Ditt postnummer", noticeSend: "Skicka igen", noticeSent: "Ankomstaviseringen skickades igen: se din telefon eller e-post.",
      noticeWrong: "Postnumret är inte mottagarens.", noticeTooMany: "Aviseringen kan inte skickas igen nu. Försök senare.",
      pushTitle: "Aviseringar till den här enheten", pushHint: "Du får en avisering när försändelsen kan hämtas och innan förvaringstiden går ut.",
      pushPostcode: "Ditt postnummer", pushOn: "Få aviseringar", pushOff: "Sluta få aviseringar", pushDone: "Aviseringarna kommer till den här enheten.",
      pushDenied: "Webbläsaren tillåter inte aviseringar från den här sidan.", pushUnsupported: "Den här webbläsaren tar inte emot aviseringar.",
      pushFailed: "Aviseringarna kunde inte slås på:", pushTooMany: "För många försök. Vänta en stund.", pushStopped: "Aviseringarna har stoppats." },
    en: { title: "Parcel", loading: "Loading…", notFound: "No parcel with this tracking code. Check the code.",
      failed: "Tracking could not be fetched just now. Trying again shortly.", pickupBy: "Pick up by",
      estimated: "Estimated delivery", where: "Pickup point", journey: "Journey", updated: "Updated",
      types: { LOCKER: "Building's parcel locker", SMARTPOST: "Parcel locker", POSTOFFICE: "Post office", PICKUPPOINT: "Pickup point" },
      days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], closed: "closed", allDay: "open 24 h", map: "The pickup point on a map",
      noticeTitle: "Lost the notice of arrival?", noticeHint: "We send it again, with its codes, to the phone and e-mail the shop gave.",
      noticePostcode: "Your postcode", noticeSend: "Send it again", noticeSent: "The notice of arrival was sent again: see your phone or e-mail.",
      noticeWrong: "That postcode is not the recipient's.", noticeTooMany: "The notice cannot be sent again now. Try again later.",
      pushTitle: "Notices on this device", pushHint: "Get a notice when the parcel is ready for pickup and before its storage period ends.",
      pushPostcode: "Your postcode", pushOn: "Get push notices", pushOff: "Stop the notices", pushDone: "Notices will come to this device.",
      pushDenied: "The browser does not allow notices from this page.", pushUnsupported: "This browser cannot receive push notices.",
      pushFailed: "The notices could not be turned on:", pushTooMany: "Too many tries. Wait a moment.", pushStopped: "The notices are off." }
  }[lang] || null;
  var locale = { fi: "fi-FI", sv: "sv-FI", en: "en-GB" }[lang];
  var dateTime = new Intl.DateTimeFormat(locale, { timeZone: "Europe/Helsinki", weekday: "short", day: "numeric", month: "numeric", hour: "2-digit", minute: "2-digit" });
  var dateOnly = new Intl.DateTimeFormat(locale, { timeZone: "UTC", weekday: "long", day: "numeric", month: "numeric", year: "numeric" });
  var last = "";
  var outline = null;
  var tiles = null; // the operator's tile server (GET /v1/map), if any

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
    if (tiles && window.LokeroMapTiles) {
      // The operator's tiles: the neighbourhood, about 2 km across.
      var size = 2;
      var view = [q[0] - size / 2, q[1] - size / 2, size, size];
      s.setAttribute("viewBox", view.map(function (v) { return v.toFixed(3); }).join(" "));
      var g = svg("g", { class: "tiles" });
      window.LokeroMapTiles.draw(g, tiles, view, px, function (x, y) { return [x / (k * 100) + 19, 70.1 - y / 100]; });
      s.replaceChildren(g, svg("circle", { cx: q[0].toFixed(3), cy: q[1].toFixed(3), r: (size * 0.03).toFixed(3), class: "point" }));
      var fig = el("figure", "map-figure");
      fig.append(s);
      if (tiles.attribution) fig.append(el("figcaption", "attribution", tiles.attribution));
      return fig;
    }
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
    if (t.status === "READY_FOR_PICKUP") frag.append(noticeSection());
    if (["PICKED_UP", "RETURNED_TO_SENDER", "CANCELLED"].indexOf(t.status) < 0) frag.append(pushSection());
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

  // noticeSection asks the recipient's postcode and has the notice of
  // arrival sent again (POST …/notice) to the recipient's own phone and
  // e-mail: the codes in it open the compartment, so they never come to
  // this page.
  function noticeSection() {
    var sec = el("section", "resend");
    sec.setAttribute("aria-labelledby", "resend-title");
    var h = el("h2", null, T.noticeTitle);
    h.id = "resend-title";
    var form = el("form", "resend-form");
    var label = el("label", null, T.noticePostcode);
    label.setAttribute("for", "resend-postcode");
    var input = el("input");
    input.id = "resend-postcode";
    input.setAttribute("inputmode", "numeric");
    input.setAttribute("maxlength", "5");
    input.setAttribute("autocomplete", "postal-code");
    input.required = true;
    var button = el("button", null, T.noticeSend);
    button.type = "submit";
    var out = el("p", "resend-out");
    out.setAttribute("role", "status");
    form.append(label, input, button);
    sec.append(h, el("p", null, T.noticeHint), form, out);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      out.textContent = ""; // the last answer goes
      fetch("/v1/tracking/" + encodeURIComponent(code) + "/notice", {
        method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ postcode: input.value.trim() })
      }).then(function (res) {
        if (res.status === 429) { out.textContent = T.noticeTooMany; return; }
        if (!res.ok) { out.textContent = T.noticeWrong; return; }
        out.textContent = T.noticeSent;
      }, function () { out.textContent = T.failed; });
    });
    return sec;
  }

  // pushSection subscribes this browser to the parcel's notices (Web
  // Push), proven with the recipient's postcode as the notice's resend is; the
  // subscription's id, which is what stops it, stays in this browser.
  function pushSection() {
    var sec = el("section", "push");
    sec.setAttribute("aria-labelledby", "push-title");
    var h = el("h2", null, T.pushTitle);
    h.id = "push-title";
    var out = el("p", "push-out");
    out.setAttribute("role", "status");
    sec.append(h, el("p", null, T.pushHint));
    var key = "lokero.push." + code;
    var saved = null;
    try { saved = localStorage.getItem(key); } catch (e) { saved = null; }
    if (saved) {
      var stop = el("button", null, T.pushOff);
      stop.type = "button";
      stop.id = "push-stop";
      stop.addEventListener("click", function () {
        fetch("/v1/push-subscriptions/" + encodeURIComponent(saved), { method: "DELETE" }).then(function (res) {
          if (!res.ok && res.status !== 404) throw new Error("HTTP " + res.status);
          try { localStorage.removeItem(key); } catch (e) { /* private mode */ }
          sec.replaceWith(pushSection());
          var again = document.querySelector(".push .push-out");
          if (again) again.textContent = T.pushStopped;
        }).catch(function (err) { out.textContent = T.pushFailed + " " + err.message; });
      });
      sec.append(el("p", null, T.pushDone), stop, out);
      sec.dataset.push = "on";
      return sec;
    }
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      sec.append(el("p", null, T.pushUnsupported));
      sec.dataset.push = "unsupported";
      return sec;
    }
    var form = el("form", "push-form");
    var label = el("label", null, T.pushPostcode);
    label.setAttribute("for", "push-postcode");
    var input = el("input");
    input.id = "push-postcode";
    input.required = true;
    input.inputMode = "numeric";
    input.pattern = "[0-9]{5}";
    input.maxLength = 5;
    input.autocomplete = "postal-code";
    var button = el("button", null, T.pushOn);
    button.type = "submit";
    button.id = "push-subscribe";
    form.append(label, input, button);
    sec.append(form, out);
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      out.textContent = "…";
      button.disabled = true;
      Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") { var d = new Error(T.pushDenied); d.denied = true; throw d; }
        return navigator.serviceWorker.register("/sw.js");
      }).then(function () {
        return navigator.serviceWorker.ready;
      }).then(function (reg) {
        return fetch("/v1/push-subscriptions/public-key").then(function (r) { return r.json(); }).then(function (k) {
          return reg.pushManager.getSubscription().then(function (sub) {
            return sub || reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64url(k.public_key) });
          });
        });
      }).then(function (sub) {
        return fetch("/v1/push-subscriptions", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ tracking_code: code, postcode: input.value.trim(), language: lang, subscription: sub.toJSON() })
        });
      }).then(function (res) {
        if (res.status === 404) throw new Error(T.noticeWrong);
        if (res.status === 429) throw new Error(T.pushTooMany);
        if (!res.ok) return res.json().then(function (j) { throw new Error((j.error && j.error.message) || ("HTTP " + res.status)); });
        return res.json().then(function (s) {
          try { localStorage.setItem(key, s.id); } catch (e) { /* private mode: on until the browser forgets */ }
          sec.replaceWith(pushSection());
        });
      }).catch(function (err) {
        button.disabled = false;
        sec.dataset.push = err.denied ? "denied" : "error";
        out.textContent = err.denied ? T.pushDenied : T.pushFailed + " " + (err.message || err.name);
      });
    });
    return sec;
  }

  // base64url decodes the VAPID public key for pushManager.subscribe.
  function base64url(s) {
    var b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out;
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
    .then(function () { return window.LokeroMapTiles ? window.LokeroMapTiles.load("") : null; })
    .then(function (c) { tiles = c; }, function () {})
    .then(load);
  setInterval(function () { if (document.visibilityState === "visible") load(); }, POLL_MS);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") load(); });
  // A push notice of this parcel (the service worker tells its open pages)
  // means its state changed: read it now.
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (e) {
      var m = e.data || {};
      if (m.type !== "lokero-push" || m.tracking_code !== code) return;
      root.dataset.pushed = m.tag + " " + m.title + ": " + m.body;
      load();
    });
  }
})();
