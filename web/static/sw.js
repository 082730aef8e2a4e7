// lokero's service worker (/sw.js, scope /): shows the push notices a
// parcel's subscription receives (the Web Push payload lokero sends: id,
// kind, title, body, url, tracking_code, lang) and opens the parcel's page
// when one is clicked. It caches nothing: the pages are small and fresh.
"use strict";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (e) { e.waitUntil(self.clients.claim()); });

self.addEventListener("push", function (e) {
  var d = {};
  if (e.data) {
    try { d = e.data.json(); } catch (err) { d = { body: e.data.text() }; }
  }
  var url = d.url || (d.tracking_code ? "/t/" + encodeURIComponent(d.tracking_code) : "/");
  var notice = {
    body: d.body || "",
    lang: d.lang || "",
    // A newer notice of the same kind for the same parcel replaces the
    // older one on the screen.
    tag: d.tracking_code ? "lokero:" + d.tracking_code + ":" + (d.kind || "") : "",
    data: { url: url }
  };
  // An open page of the parcel hears of it at once (and reads its
  // tracking again), whether or not the notice can be shown.
  var told = self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    list.forEach(function (c) {
      c.postMessage({ type: "lokero-push", tracking_code: d.tracking_code || "", kind: d.kind || "", title: d.title || "lokero", body: notice.body, tag: notice.tag });
    });
  });
  e.waitUntil(Promise.all([told, self.registration.showNotification(d.title || "lokero", notice)]));
});

self.addEventListener("notificationclick", function (e) {
  e.notification.close();
  var url = new URL((e.notification.data && e.notification.data.url) || "/", self.location.origin).href;
  e.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].url === url && "focus" in list[i]) return list[i].focus();
    }
    return self.clients.openWindow(url);
  }));
});
