// The operator's dashboard, /ops: the network at a glance from the
// operator's API. The operator signs in once with their token (POST
// /v1/session); the page never keeps the token, the session's HttpOnly
// cookie authenticates every later request (same origin). The page's
// texts are in the template (#ops-text); this script fills them in.
(function () {
  "use strict";
  var root = document.getElementById("ops");
  if (!root) return;
  var main = document.getElementById("main") || root;
  var REFRESH_MS = 30000;
  var TABLE_ROWS = 50;
  var LIST_ROWS = 50;
  var SIZE_ORDER = ["XS", "S", "M", "L", "XL", "XXL"];
  var SIZE_STYLE = { // colour and dash of each size class's line
    XS: ["#8250df", "2 3"], S: ["#0969da", ""], M: ["#bc4c00", "7 4"], L: ["#1a7f37", "2 4"], XL: ["#bf3989", "10 3 2 3"], XXL: ["#57606a", "4 2"]
  };
  var SVGNS = "http://www.w3.org/2000/svg";
  var TZ = "Europe/Helsinki";

  // Texts, by the attribute's name without "data-".
  var T = {};
  Array.prototype.forEach.call(document.getElementById("ops-text").attributes, function (a) {
    if (a.name.indexOf("data-") === 0) T[a.name.slice(5)] = a.value;
  });
  function t(key, vars) {
    var s = T[key] != null ? T[key] : key;
    return s.replace(/\{(\w+)\}/g, function (m, k) { return vars && vars[k] != null ? String(vars[k]) : m; });
  }

  var $ = function (id) { return document.getElementById(id); };
  var status = $("ops-status");
  var signin = $("signin");
  var dashboard = $("dashboard");
  var detail = $("locker-detail");

  var fmtTime = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, hour: "2-digit", minute: "2-digit", second: "2-digit" });
  var fmtShort = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, day: "numeric", month: "numeric", hour: "2-digit", minute: "2-digit" });
  var fmtDay = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, weekday: "short", day: "numeric", month: "numeric" });
  var fmtHour = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, hour: "2-digit", hourCycle: "h23" });
  var fmtDate = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" });
  var num = new Intl.NumberFormat("en-GB");

  var signedIn = false;
  var net = null; // the last GET /v1/network
  var byId = {};
  var extra = { stranded: null, failed: null, offline: null, history: null };
  var sort = { key: "occupancy", dir: -1 };
  var detailId = "";
  var detailData = null;
  var loads = 0;
  var loading = null, again = false;

  // --- small helpers ---------------------------------------------------

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) e.textContent = text;
    return e;
  }
  function say(text) { status.textContent = text || ""; }
  function pct(x) { return Math.round(x * 100) + " %"; }
  function share(o) {
    var usable = (o.total || 0) - (o.out_of_order || 0);
    return usable > 0 ? o.occupied / usable : 0;
  }
  // isoDay is the Helsinki date of d, YYYY-MM-DD.
  function isoDay(d) {
    var p = {};
    fmtDate.formatToParts(d).forEach(function (x) { p[x.type] = x.value; });
    return p.year + "-" + p.month + "-" + p.day;
  }
  function duration(seconds) {
    var m = Math.floor(seconds / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (d > 0) return t("days", { d: d, h: h % 24 });
    if (h > 0) return t("hours", { h: h, m: m % 60 });
    return t("minutes", { n: Math.max(1, m) });
  }
  function lockerName(id) { return byId[id] ? byId[id].name : id; }

  // api calls lokero with the session's cookie. A 401 outside the session
  // endpoints means the session ended.
  function api(method, path, body) {
    var init = { method: method, headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      return (res.status === 204 ? Promise.resolve(null) : res.json().catch(function () { return null; })).then(function (data) {
        if (res.status === 401 && path.indexOf("/v1/session") !== 0 && path.indexOf("/demo/") !== 0) {
          sessionEnded();
          var e = new Error(t("session-ended"));
          e.ended = true;
          throw e;
        }
        return { status: res.status, ok: res.ok, data: data };
      });
    });
  }
  function errorMessage(r) {
    return (r && r.data && r.data.error && r.data.error.message) || ("HTTP " + (r ? r.status : "?"));
  }
  function must(r) {
    if (!r.ok) throw new Error(errorMessage(r));
    return r.data;
  }

  // --- the session -----------------------------------------------------

  function showSignin(message) {
    signedIn = false;
    net = null;
    dashboard.hidden = true;
    detail.hidden = true;
    $("ops-who").hidden = true;
    signin.hidden = false;
    var loopback = ["localhost", "127.0.0.1", "[::1]", "::1"].indexOf(location.hostname) >= 0;
    if (loopback && $("demo-signin").dataset.missing !== "1") $("demo-signin").hidden = false;
    main.dataset.state = "signed-out";
    root.dataset.state = "signed-out";
    say(message || "");
  }

  function sessionEnded() {
    if (signedIn) showSignin(t("session-ended"));
  }

  function startSession(cred) {
    $("ops-who-name").textContent = t("signed-in-as", { name: cred.name || cred.id });
    $("ops-who").hidden = false;
    signin.hidden = true;
    if (cred.kind !== "operator") {
      signedIn = false;
      dashboard.hidden = true;
      main.dataset.state = "not-operator";
      root.dataset.state = "not-operator";
      say(t("not-operator", { name: cred.name || cred.id, kind: cred.kind }));
      return;
    }
    signedIn = true;
    dashboard.hidden = false;
    say(t("loading"));
    refresh();
  }

  $("signin-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var input = $("signin-token");
    var token = input.value.trim();
    input.value = ""; // the token stays nowhere on the page
    if (!token) return;
    var button = e.target.querySelector("button[type=submit]");
    button.disabled = true;
    api("POST", "/v1/session", { token: token }).then(function (r) {
      if (r.ok) { say(""); startSession(r.data.credential); return; }
      say(r.status === 401 ? t("wrong-token") : r.status === 429 ? t("too-many") : errorMessage(r));
      input.focus();
    }, function () { say(t("failed")); }).then(function () { button.disabled = false; });
  });

  $("demo-signin-button").addEventListener("click", function () {
    api("POST", "/demo/session", {}).then(function (r) {
      if (r.ok) { startSession(r.data.credential); return; }
      if (r.status === 404) {
        $("demo-signin").hidden = true;
        $("demo-signin").dataset.missing = "1";
        $("signin-token").focus();
        say(t("demo-missing"));
        return;
      }
      say(errorMessage(r));
    }, function () { say(t("failed")); });
  });

  $("signout").addEventListener("click", function () {
    api("DELETE", "/v1/session").then(function () {
      showSignin(t("signed-out"));
      $("signin-token").focus();
    }, function () { say(t("failed")); });
  });

  // --- loading ---------------------------------------------------------

  // refresh loads the network and the lists again (one load at a time; a
  // refresh asked meanwhile runs once after it).
  function refresh() {
    if (!signedIn) return Promise.resolve();
    if (loading) { again = true; return loading; }
    $("refresh").setAttribute("aria-busy", "true");
    $("ops-updated").textContent = t("refreshing");
    var side = Promise.all([
      api("GET", "/v1/network/occupancy?days=7").then(must).then(function (d) { extra.history = d.samples || []; }, function () {}),
      api("GET", "/v1/stranded").then(must).then(function (d) { extra.stranded = d.stranded || []; }, function () { extra.stranded = null; }),
      api("GET", "/v1/notifications?state=failed&limit=" + LIST_ROWS).then(must).then(function (d) { extra.failed = d.notifications || []; }, function () { extra.failed = null; }),
      api("GET", "/v1/devices?offline_for=5m").then(must).then(function (d) { extra.offline = d.devices || []; }, function () { extra.offline = null; })
    ]);
    loading = api("GET", "/v1/network").then(must).then(function (d) {
      net = d;
      byId = {};
      d.lockers.forEach(function (l) { byId[l.id] = l; });
      return side;
    }).then(function () {
      if (!signedIn || !net) return;
      render();
      var reloads = detailId && !detail.hidden ? loadDetail(detailId, false) : Promise.resolve();
      return reloads.then(function () {
        loads++;
        main.dataset.loads = String(loads);
        main.dataset.state = "ready";
        root.dataset.state = "ready";
        $("ops-updated").textContent = t("updated", { time: fmtTime.format(new Date(net.at)) });
        if (status.textContent === t("loading")) say("");
      });
    }).catch(function (err) {
      if (err && err.ended) return;
      say(t("load-failed", { message: err && err.message }));
      $("ops-updated").textContent = "";
    }).then(function () {
      loading = null;
      $("refresh").removeAttribute("aria-busy");
      if (again) { again = false; return refresh(); }
    });
    return loading;
  }

  $("refresh").addEventListener("click", function () { refresh(); });
  setInterval(function () {
    if (signedIn && document.visibilityState === "visible") refresh();
  }, REFRESH_MS);
  document.addEventListener("visibilitychange", function () {
    if (signedIn && document.visibilityState === "visible") refresh();
  });

  // --- rendering -------------------------------------------------------

  function render() {
    renderTotals();
    renderMap();
    renderTable();
    renderHistory();
    renderLists();
  }

  function setTotal(key, text) {
    var e = root.querySelector('[data-total="' + key + '"]');
    if (e) e.textContent = text;
  }

  function renderTotals() {
    var tot = net.totals;
    setTotal("lockers", num.format(tot.lockers));
    setTotal("compartments", t("compartments", { n: num.format(tot.compartments) }));
    var usable = tot.compartments - tot.out_of_order;
    var used = usable > 0 ? tot.occupied / usable * 100 : 0;
    setTotal("occupied", used > 0 && used < 0.1 ? "< 0.1 %" : (Math.round(used * 10) / 10) + " %");
    setTotal("occupied-count", t("occupied-count", { occupied: num.format(tot.occupied), total: num.format(usable) }));
    setTotal("full", num.format(tot.full));
    setTotal("offline", num.format(tot.offline));
    setTotal("expiring", num.format(tot.expiring_today));
    setTotal("stranded", extra.stranded ? num.format(extra.stranded.length) : "–");
    setTotal("failed", extra.failed ? num.format(extra.failed.length) + (extra.failed.length >= LIST_ROWS ? "+" : "") : "–");
    setTotal("failed-more", extra.failed && extra.failed.length >= LIST_ROWS ? t("failed-more", { n: LIST_ROWS }) : "");
    root.querySelectorAll(".totals > div").forEach(function (d) {
      var v = d.querySelector("dd");
      d.classList.toggle("alert", /^[1-9]/.test(v.textContent) && ["full", "offline", "stranded", "failed"].indexOf(v.dataset.total) >= 0);
    });
  }

  // dotClass is a locker's colour on the map.
  function dotClass(l) {
    if (l.status !== "OPEN" || l.online === false) return "off";
    if (l.occupancy >= 0.95) return "full";
    if (l.occupancy >= 0.7) return "busy";
    return "ok";
  }

  // The map: Finland's outline and every locker, equirectangular with x
  // shrunk by cos 64° (as the selector's and the tracking page's maps).
  var K = Math.cos(64 * Math.PI / 180);
  function project(lon, lat) { return [(lon - 19) * K * 100, (70.1 - lat) * 100]; }
  var outline = null;
  var outlineLoad = null;
  function loadOutline() {
    if (!outlineLoad) {
      outlineLoad = fetch("/static/finland-outline.json").then(function (r) { return r.ok ? r.json() : null; })
        .then(function (o) {
          outline = ((o && o.rings) || []).map(function (ring) {
            return ring.map(function (p, i) { var q = project(p[0], p[1]); return (i ? "L" : "M") + q[0].toFixed(1) + " " + q[1].toFixed(1); }).join("") + "Z";
          }).join("");
          if (net) renderMap();
        }, function () {});
    }
    return outlineLoad;
  }

  function renderMap() {
    loadOutline();
    var box = $("map");
    var w = Math.round(13 * K * 100);
    var s = svg("svg", { viewBox: "0 0 " + w + " 1060", class: "map", role: "img" });
    s.append(svg("rect", { x: 0, y: 0, width: w, height: 1060, class: "sea" }));
    if (outline) s.append(svg("path", { d: outline, class: "land" }));
    var groups = { off: [], ok: [], busy: [], full: [] };
    var counts = { off: 0, ok: 0, busy: 0, full: 0 };
    net.lockers.forEach(function (l) {
      if (!l.lat && !l.lon) return;
      var c = dotClass(l);
      counts[c]++;
      var q = project(l.lon, l.lat);
      var r = c === "full" ? 10 : c === "busy" ? 8 : c === "off" ? 5.5 : 3.5;
      groups[c].push("M" + (q[0] - r).toFixed(1) + " " + q[1].toFixed(1) + "a" + r + " " + r + " 0 1 0 " + 2 * r + " 0a" + r + " " + r + " 0 1 0 " + -2 * r + " 0");
    });
    ["off", "ok", "busy", "full"].forEach(function (c) {
      if (groups[c].length) s.append(svg("path", { d: groups[c].join(""), class: "dot " + c }));
    });
    var sel = detailId && byId[detailId];
    if (sel && !detail.hidden) {
      var q = project(sel.lon, sel.lat);
      s.append(svg("circle", { cx: q[0].toFixed(1), cy: q[1].toFixed(1), r: 16, class: "selected" }));
    }
    s.setAttribute("aria-label", t("map-label", { n: num.format(net.lockers.length), ok: counts.ok, busy: counts.busy, full: counts.full, off: counts.off }));
    s.addEventListener("click", mapClick);
    box.replaceChildren(s);
    Object.keys(counts).forEach(function (c) {
      var e = root.querySelector('[data-legend="' + c + '"]');
      if (e) e.textContent = "(" + num.format(counts[c]) + ")";
    });
  }

  // mapClick opens the locker nearest the pointer (a mouse's shortcut: the
  // table is the way with a keyboard).
  function mapClick(e) {
    var s = e.currentTarget;
    var m = s.getScreenCTM();
    if (!m || !net) return;
    var pt = s.createSVGPoint();
    pt.x = e.clientX; pt.y = e.clientY;
    var p = pt.matrixTransform(m.inverse());
    var best = null, bestD = 20 * 20;
    net.lockers.forEach(function (l) {
      var q = project(l.lon, l.lat);
      var d = (q[0] - p.x) * (q[0] - p.x) + (q[1] - p.y) * (q[1] - p.y);
      if (d < bestD) { bestD = d; best = l; }
    });
    if (best) openDetail(best.id);
  }

  // --- the table ---------------------------------------------------------

  function matching() {
    var q = $("filter").value.trim().toLowerCase();
    var list = net.lockers;
    if (q) {
      list = list.filter(function (l) {
        return l.id.toLowerCase().indexOf(q) >= 0 || l.name.toLowerCase().indexOf(q) >= 0 ||
          l.postcode.indexOf(q) === 0 || (l.city || "").toLowerCase().indexOf(q) === 0;
      });
    }
    list = list.slice();
    if (sort.key === "name") {
      list.sort(function (a, b) { return a.name.localeCompare(b.name, "fi") || a.id.localeCompare(b.id); });
    } else {
      list.sort(function (a, b) {
        return sort.dir * (a.occupancy - b.occupancy) || sort.dir * (a.occupied - b.occupied) || a.name.localeCompare(b.name, "fi");
      });
    }
    return { q: q, list: list };
  }

  function renderTable() {
    var m = matching();
    var body = $("lockers-body");
    var active = document.activeElement;
    var focusRow = active && body.contains(active) && active.closest("tr") ? active.closest("tr").dataset.id : "";
    var rows = m.list.slice(0, TABLE_ROWS).map(row);
    body.replaceChildren.apply(body, rows);
    var order = sort.key === "name" ? t("order-name") : sort.dir < 0 ? t("order-fullest") : t("order-emptiest");
    var summary = m.list.length === 0 ? t("no-match", { q: $("filter").value.trim() }) :
      t("showing", { shown: num.format(rows.length), matching: num.format(m.list.length), order: order,
        filtered: m.q ? t("showing-filtered", { q: $("filter").value.trim() }) : "" });
    if ($("table-summary").textContent !== summary) $("table-summary").textContent = summary; // announced only when it changes
    root.querySelectorAll("th[data-sort-col]").forEach(function (th) {
      th.setAttribute("aria-sort", th.dataset.sortCol !== sort.key ? "none" : sort.key === "name" ? "ascending" : sort.dir < 0 ? "descending" : "ascending");
    });
    if (focusRow) {
      var b = body.querySelector('tr[data-id="' + CSS.escape(focusRow) + '"] button');
      if (b) b.focus();
    }
  }

  function row(l) {
    var tr = el("tr");
    tr.dataset.id = l.id;
    var c = dotClass(l);
    tr.className = "row-" + c + (l.id === detailId && !detail.hidden ? " current" : "");
    var name = el("th");
    name.scope = "row";
    name.append(el("span", "name", l.name), el("span", "id", l.id));
    var place = el("td", "place", l.postcode + " " + l.city);
    var st = el("td", "state");
    st.append(el("span", "pill " + (l.status === "OPEN" ? "open" : "closed"), t("status-" + l.status.toLowerCase())));
    if (l.online === false) st.append(" ", el("span", "pill offline", t("offline")));
    var occ = el("td", "num", String(l.occupied));
    occ.dataset.field = "occupied";
    var total = el("td", "num", String(l.total));
    total.dataset.field = "total";
    var shareCell = el("td", "share");
    var bar = el("span", "bar " + c);
    bar.setAttribute("aria-hidden", "true");
    var fill = el("span");
    fill.style.width = Math.min(100, Math.round(l.occupancy * 100)) + "%"; // CSSOM: allowed by the page's CSP
    bar.append(fill);
    shareCell.append(bar, el("span", "pct", pct(l.occupancy)));
    shareCell.dataset.field = "occupancy";
    var exp = el("td", "num", l.expiring_today ? String(l.expiring_today) : "–");
    var act = el("td");
    var b = el("button", "small secondary details", t("details"));
    b.type = "button";
    b.append(el("span", "visually-hidden", t("details-of", { name: l.name })));
    b.addEventListener("click", function () { openDetail(l.id); });
    act.append(b);
    tr.append(name, place, st, occ, total, shareCell, exp, act);
    return tr;
  }

  var filterTimer = 0;
  $("filter").addEventListener("input", function () {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(function () { if (net) renderTable(); }, 120);
  });
  $("filter-form").addEventListener("submit", function (e) {
    e.preventDefault();
    clearTimeout(filterTimer);
    if (net) renderTable();
  });
  root.querySelectorAll("button.sort").forEach(function (b) {
    b.addEventListener("click", function () {
      if (b.dataset.sort === "name") sort = { key: "name", dir: 1 };
      else sort = { key: "occupancy", dir: sort.key === "occupancy" ? -sort.dir : -1 };
      if (net) renderTable();
    });
  });

  // --- the history chart -------------------------------------------------

  function renderHistory() {
    var box = $("history-chart");
    var samples = (extra.history || []).slice();
    samples.push({ at: net.at, sizes: net.sizes, now: true });
    var sizes = {};
    samples.forEach(function (s) { Object.keys(s.sizes || {}).forEach(function (k) { sizes[k] = true; }); });
    sizes = Object.keys(sizes).sort(function (a, b) {
      var ia = SIZE_ORDER.indexOf(a), ib = SIZE_ORDER.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
    });
    var end = new Date(net.at).getTime();
    var start = Math.max(end - 7 * 864e5, new Date(samples[0].at).getTime());
    if (end - start < 6 * 36e5) start = end - 6 * 36e5;
    var W = Math.max(280, Math.floor(box.clientWidth || 640)), H = W < 500 ? 220 : 260;
    var L = 44, R = W < 500 ? 62 : 76, Tp = 14, B = 40;
    var x = function (ms) { return L + (ms - start) / (end - start) * (W - L - R); };
    var y = function (v) { return Tp + (1 - v) * (H - Tp - B); };
    var nowText = sizes.map(function (k) { return k + " " + pct(share(net.sizes[k] || {})); }).join(", ");
    var s = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, class: "chart", role: "img",
      "aria-label": t("chart-label", { from: fmtShort.format(new Date(start)), to: fmtShort.format(new Date(end)), now: nowText }) });
    [0, 0.25, 0.5, 0.75, 1].forEach(function (v) {
      s.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: v === 0 ? "axis" : "grid" }));
      s.append(svg("text", { x: L - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, Math.round(v * 100) + " %"));
    });
    // Ticks on the time axis: midnights over days, whole hours otherwise.
    var span = end - start, ticks = [];
    var step = span > 36 * 36e5 ? 24 : span > 12 * 36e5 ? 3 : 1;
    var maxTicks = W < 500 ? 4 : 8;
    for (var ms = Math.ceil(start / 36e5) * 36e5; ms <= end; ms += 36e5) {
      var hr = +fmtHour.format(new Date(ms)) % 24;
      if (hr % step === 0) ticks.push(ms);
    }
    var every = Math.max(1, Math.ceil(ticks.length / maxTicks));
    ticks.forEach(function (ms, i) {
      if (i % every) return;
      s.append(svg("line", { x1: x(ms), x2: x(ms), y1: H - B, y2: H - B + 5, class: "axis" }));
      s.append(svg("text", { x: x(ms), y: H - B + 19, class: "tick", "text-anchor": "middle" },
        step === 24 ? fmtDay.format(new Date(ms)) : fmtHour.format(new Date(ms)) + ":00"));
    });
    var labels = [];
    sizes.forEach(function (k) {
      var style = SIZE_STYLE[k] || ["#24292f", ""];
      var pts = samples.filter(function (smp) { return smp.sizes && smp.sizes[k]; }).map(function (smp) {
        return [x(new Date(smp.at).getTime()), y(share(smp.sizes[k]))];
      }).filter(function (p) { return p[0] >= L - 0.5; });
      if (!pts.length) return;
      var line = svg("polyline", { points: pts.map(function (p) { return p[0].toFixed(1) + "," + p[1].toFixed(1); }).join(" "),
        class: "series", stroke: style[0] });
      if (style[1]) line.setAttribute("stroke-dasharray", style[1]);
      s.append(line);
      (pts.length <= 30 ? pts : [pts[pts.length - 1]]).forEach(function (p) {
        s.append(svg("circle", { cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: 3.5, fill: style[0], class: "point" }));
      });
      var last = pts[pts.length - 1];
      labels.push({ y: last[1], x: last[0], text: k + " " + pct(share(net.sizes[k] || {})), colour: style[0] });
    });
    // Labels at the lines' ends, kept apart.
    labels.forEach(function (lb, i) { lb.i = i; });
    labels.sort(function (a, b) { return a.y - b.y || a.i - b.i; });
    for (var i = labels.length - 1; i >= 0; i--) {
      var limit = i === labels.length - 1 ? H - B + 4 : labels[i + 1].y - 15;
      labels[i].y = Math.min(labels[i].y + 4, limit);
    }
    labels.forEach(function (lb) {
      s.append(svg("text", { x: lb.x + 8, y: lb.y, class: "series-label", fill: lb.colour }, lb.text));
    });
    box.replaceChildren(s);
    if (samples.length < 4) box.append(el("p", "hint", t("chart-no-data")));

    // The same as a table, newest first.
    var table = el("table", "list");
    var cap = el("caption", "visually-hidden", $("history-title").textContent);
    var head = el("tr");
    head.append(th(t("col-time")));
    sizes.forEach(function (k) { head.append(th(k, "num")); });
    var thead = el("thead");
    thead.append(head);
    var tbody = el("tbody");
    samples.slice().reverse().forEach(function (smp) {
      var tr = el("tr");
      var when = el("th", null, (smp.now ? t("chart-now") + " " : "") + fmtShort.format(new Date(smp.at)));
      when.scope = "row";
      tr.append(when);
      sizes.forEach(function (k) {
        var o = smp.sizes && smp.sizes[k];
        tr.append(el("td", "num", o ? pct(share(o)) + " (" + num.format(o.occupied) + "/" + num.format(o.total - o.out_of_order) + ")" : "–"));
      });
      tbody.append(tr);
    });
    table.append(cap, thead, tbody);
    $("history-table").replaceChildren(table);
  }

  // The chart is drawn in the box's pixels (its text stays readable at
  // any width): again when the box changes width.
  var chartWidth = 0, chartFrame = 0;
  new ResizeObserver(function (entries) {
    var w = Math.floor(entries[0].contentRect.width);
    if (w === chartWidth || !w) return;
    chartWidth = w;
    cancelAnimationFrame(chartFrame);
    chartFrame = requestAnimationFrame(function () { if (net && signedIn) renderHistory(); });
  }).observe($("history-chart"));

  // --- the lists ---------------------------------------------------------

  function th(text, cls) {
    var e = el("th", cls, text);
    e.scope = "col";
    return e;
  }

  // listTable is a table of rows (arrays of cells: text or a node), or the
  // empty text when there are none.
  function listTable(cols, rows, empty, labelId) {
    if (rows == null) return el("p", "hint", "–");
    if (!rows.length) return el("p", "empty", empty);
    var table = el("table", "list");
    var head = el("tr");
    cols.forEach(function (c) { head.append(th(c.text, c.num ? "num" : null)); });
    var thead = el("thead");
    thead.append(head);
    var tbody = el("tbody");
    rows.slice(0, LIST_ROWS).forEach(function (cells) {
      var tr = el("tr");
      cells.forEach(function (v, i) {
        var td = el("td", cols[i].num ? "num" : cols[i].cls || null);
        if (v instanceof Node) td.append(v); else td.textContent = v == null || v === "" ? "–" : String(v);
        tr.append(td);
      });
      tbody.append(tr);
    });
    table.append(thead, tbody);
    var wrap = el("div", "scroll");
    wrap.tabIndex = 0;
    wrap.setAttribute("role", "region");
    if (labelId) wrap.setAttribute("aria-labelledby", labelId);
    wrap.append(table);
    var frag = document.createDocumentFragment();
    frag.append(wrap);
    if (rows.length > LIST_ROWS) frag.append(el("p", "hint", t("more", { n: rows.length - LIST_ROWS })));
    return frag;
  }

  function lockerLink(id) {
    var b = el("button", "link", lockerName(id));
    b.type = "button";
    b.addEventListener("click", function () { openDetail(id); });
    return b;
  }
  function code(text) { return el("code", null, text); }

  function renderLists() {
    $("list-expiring").replaceChildren(listTable(
      [{ text: t("col-tracking") }, { text: t("col-locker") }, { text: t("col-compartment"), num: true }, { text: t("col-deadline") }],
      (net.expiring_today || []).map(function (p) {
        return [code(p.tracking_code), lockerLink(p.location_id), p.compartment, fmtTime.format(new Date(p.storage_deadline)).slice(0, 5)];
      }), t("none-expiring"), "expiring-title"));
    $("list-collect").replaceChildren(listTable(
      [{ text: t("col-tracking") }, { text: t("col-locker") }, { text: t("col-compartment"), num: true }, { text: t("col-status") }],
      (net.to_collect || []).map(function (p) {
        return [code(p.tracking_code), byId[p.location_id] ? lockerLink(p.location_id) : p.location_id, p.compartment,
          t(p.status === "EXPIRED" ? "status-expired" : "status-dropped")];
      }), t("none-collect"), "collect-title"));
    $("list-stranded").replaceChildren(listTable(
      [{ text: t("col-tracking") }, { text: t("col-locker") }, { text: t("col-retailer") }, { text: t("col-delivery") }],
      extra.stranded && extra.stranded.map(function (s) {
        return [code(s.tracking_code), byId[s.location_id] ? lockerLink(s.location_id) : s.location_id, s.retailer_id, s.delivery_date];
      }), t("none-stranded"), "stranded-title"));
    $("list-failed").replaceChildren(listTable(
      [{ text: t("col-created") }, { text: t("col-channel") }, { text: t("col-kind") }, { text: t("col-tracking") },
        { text: t("col-attempts"), num: true }, { text: t("col-error"), cls: "error" }],
      extra.failed && extra.failed.map(function (n) {
        return [fmtShort.format(new Date(n.created_at)), n.channel, n.kind, n.tracking_code ? code(n.tracking_code) : "", n.attempts, n.last_error];
      }), t("none-failed"), "failed-title"));
    $("list-offline").replaceChildren(listTable(
      [{ text: t("col-locker") }, { text: t("col-offline-for") }, { text: t("col-since") }],
      extra.offline && extra.offline.filter(function (d) { return !d.online; }).map(function (d) {
        return [byId[d.location_id] ? lockerLink(d.location_id) : d.location_id, duration(d.offline_seconds || 0),
          d.changed_at ? fmtShort.format(new Date(d.changed_at)) : ""];
      }), t("none-offline"), "offline-title"));
  }

  // --- one locker --------------------------------------------------------

  function openDetail(id) {
    detailId = id;
    $("close-form").hidden = true;
    $("point-close").setAttribute("aria-expanded", "false");
    return loadDetail(id, true);
  }

  function loadDetail(id, focus) {
    var path = "/v1/lockers/" + encodeURIComponent(id);
    return Promise.all([api("GET", path).then(must), api("GET", path + "/collections").then(must).catch(function () { return null; })])
      .then(function (res) {
        if (id !== detailId) return;
        detailData = res[0];
        renderDetail(res[0], res[1]);
        detail.hidden = false;
        if (net) { renderMap(); markCurrentRow(); }
        if (focus) $("detail-title").focus();
      }, function (err) {
        if (err && err.ended) return;
        say(t("detail-failed", { message: err && err.message }));
      });
  }

  function markCurrentRow() {
    $("lockers-body").querySelectorAll("tr").forEach(function (tr) {
      tr.classList.toggle("current", tr.dataset.id === detailId && !detail.hidden);
    });
  }

  function renderDetail(v, cols) {
    var loc = v.location;
    detail.dataset.id = loc.id;
    detail.dataset.status = loc.status;
    $("detail-title").textContent = loc.name + " (" + loc.id + ")";
    $("detail-address").textContent = [loc.street, (loc.postcode + " " + loc.city).trim()].filter(Boolean).join(", ");
    var st = t("status-" + String(loc.status).toLowerCase());
    if (loc.status === "TEMPORARILY_CLOSED") {
      st += " (" + (loc.status_until ? t("closed-range", { from: loc.status_from, until: loc.status_until }) : t("closed-from", { from: loc.status_from })) +
        (loc.status_reason ? ": " + loc.status_reason : "") + ")";
    }
    var link = v.link ? (v.link.online ? t("link-online") : t("link-offline", { time: duration(v.link.offline_seconds || 0) })) : t("no-link");
    $("detail-state").textContent = t("state-line", { type: loc.type, status: st, link: link, letters: (v.letters && v.letters.in_slot) || 0 });
    $("detail-state").className = "detail-state " + (loc.status === "OPEN" ? "open" : "closed");
    $("point-close").hidden = loc.status !== "OPEN";
    $("point-open").hidden = loc.status === "OPEN";
    var sizes = Object.keys(v.occupancy || {}).sort(function (a, b) { return SIZE_ORDER.indexOf(a) - SIZE_ORDER.indexOf(b); });
    var sl = $("detail-sizes");
    sl.replaceChildren();
    sizes.forEach(function (k) {
      var o = v.occupancy[k];
      sl.append(el("span", "size-chip", t("size-line", { size: k, occupied: o.occupied, out: o.out_of_order, free: o.free, total: o.total })));
    });
    var list = $("compartments");
    list.replaceChildren.apply(list, v.compartments.map(function (c) {
      var li = el("li", "cell " + c.state + (c.door_open ? " door-open" : "") + (c.door_forced ? " door-forced" : ""));
      li.dataset.state = c.state;
      li.dataset.number = String(c.number);
      var state = t("cell-" + c.state);
      if (c.door_forced) state += " · " + t("cell-forced");
      else if (c.door_open) state += " · " + t("cell-door");
      li.append(el("span", "cell-head", t("cell", { n: c.number, size: c.size })), el("span", "cell-state", state));
      if (c.tracking_code) li.append(el("code", "cell-code", c.tracking_code));
      if (c.storage_deadline) li.append(el("span", "cell-until", t("until", { time: fmtShort.format(new Date(c.storage_deadline)) })));
      if (v.expiring_today && c.tracking_code && v.expiring_today.indexOf(c.tracking_code) >= 0) li.classList.add("expiring");
      return li;
    }));
    $("collections").replaceChildren(listTable(
      [{ text: t("col-tracking") }, { text: t("col-compartment"), num: true }, { text: t("col-status") }, { text: t("col-kind") }],
      cols && (cols.collections || []).map(function (c) { return [code(c.tracking_code), c.compartment || "", c.status, c.kind]; }),
      t("no-collections")));
  }

  $("detail-close").addEventListener("click", function () {
    detail.hidden = true;
    var id = detailId;
    detailId = "";
    if (net) { renderMap(); markCurrentRow(); }
    var b = $("lockers-body").querySelector('tr[data-id="' + CSS.escape(id) + '"] button');
    (b || $("filter")).focus();
  });

  // --- closing and reopening a point ----------------------------------

  function today() { return isoDay(net ? new Date(net.at) : new Date()); }

  $("point-close").addEventListener("click", function () {
    if (!detailData) return;
    var form = $("close-form");
    $("close-name").textContent = detailData.location.name;
    $("close-from").value = today();
    $("close-from").min = today();
    $("close-until").value = "";
    $("close-until").min = today();
    $("close-reason").value = "";
    form.hidden = false;
    $("point-close").setAttribute("aria-expanded", "true");
    $("close-title").focus();
  });

  function hideCloseForm() {
    $("close-form").hidden = true;
    $("point-close").setAttribute("aria-expanded", "false");
    $("point-close").focus();
  }
  $("close-cancel").addEventListener("click", hideCloseForm);
  $("close-form").addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); hideCloseForm(); }
  });
  $("close-from").addEventListener("change", function () { $("close-until").min = $("close-from").value || today(); });

  $("close-form").addEventListener("submit", function (e) {
    e.preventDefault();
    if (!detailData) return;
    var loc = detailData.location;
    var body = { status: "TEMPORARILY_CLOSED", status_from: $("close-from").value || today() };
    if ($("close-until").value) body.status_until = $("close-until").value;
    if ($("close-reason").value.trim()) body.status_reason = $("close-reason").value.trim();
    patch(loc, body, t("closing", { name: loc.name }), function (d) {
      return t("closed-ok", { name: loc.name, from: body.status_from, rerouted: (d.rerouted || []).length, stranded: (d.stranded || []).length });
    }, $("close-confirm"));
  });

  $("point-open").addEventListener("click", function () {
    if (!detailData) return;
    var loc = detailData.location;
    patch(loc, { status: "OPEN" }, t("opening", { name: loc.name }), function () { return t("opened-ok", { name: loc.name }); }, $("point-open"));
  });

  function patch(loc, body, working, done, button) {
    button.disabled = true;
    say(working);
    api("PATCH", "/v1/locations/" + encodeURIComponent(loc.id), body).then(function (r) {
      if (!r.ok) { say(t("patch-failed", { message: errorMessage(r) })); return; }
      $("close-form").hidden = true;
      $("point-close").setAttribute("aria-expanded", "false");
      var message = done(r.data);
      return refresh().then(function () {
        say(message);
        var next = r.data.location.status === "OPEN" ? $("point-close") : $("point-open");
        if (!next.hidden) next.focus();
      });
    }, function (err) {
      if (!(err && err.ended)) say(t("failed"));
    }).then(function () { button.disabled = false; });
  }

  // --- start -------------------------------------------------------------

  api("GET", "/v1/session").then(function (r) {
    if (r.ok) startSession(r.data.credential);
    else showSignin("");
  }, function () { showSignin(t("failed")); });
})();
