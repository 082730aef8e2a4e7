// The demo shop's checkout: shows the pickup point chosen in the
// selector, and searches again when the shopper changes the postcode. On
// a loopback --dev start (the form's data-live) placing the order books a
// real parcel through /demo/orders, signs the visitor in as the demo
// operator and shows the notice of arrival from the local outbox, with
// the links to the tracking page and the locker's web keypad.
(function () {
  "use strict";
  var picker = document.querySelector("lokero-pickup-point");
  var choice = document.getElementById("choice");
  var postcode = document.getElementById("postcode");
  var form = document.getElementById("checkout");
  if (!picker) return;
  picker.addEventListener("lokero-select", function (e) {
    var p = e.detail;
    choice.textContent = "Pickup point: " + p.name + ", " + p.street + ", " + p.postcode + " " + p.city;
    choice.dataset.id = p.id;
  });
  if (postcode) {
    postcode.addEventListener("input", function () {
      if (/^[0-9]{5}$/.test(postcode.value)) picker.setAttribute("postcode", postcode.value);
    });
  }
  // The street decides whether a building's own locker is offered (to its
  // residents only): searched again when the shopper leaves the field.
  var street = document.getElementById("street");
  if (street) {
    street.addEventListener("change", function () { picker.setAttribute("street", street.value.trim()); });
  }
  if (!form || form.dataset.live !== "1") return;

  var message = document.getElementById("order-message");
  var button = document.getElementById("place-order");

  function post(url, body) {
    return fetch(url, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error((j.error && j.error.message) || ("HTTP " + r.status));
        return j;
      });
    });
  }

  // notice reads the order's notice of arrival from the local outbox,
  // asking a few times while the delivery is recorded.
  function notice(code, tries) {
    return fetch("/dev/outbox?limit=50").then(function (r) {
      if (!r.ok) throw new Error("the outbox answered HTTP " + r.status);
      return r.json();
    }).then(function (box) {
      var m = (box.messages || []).filter(function (m) { return m.tracking_code === code; })[0];
      if (m || tries <= 0) return m;
      return new Promise(function (done) { setTimeout(done, 300); }).then(function () { return notice(code, tries - 1); });
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var field = form.querySelector("input[name=pickup_point]");
    var point = field ? field.value : "";
    if (!point) {
      message.textContent = "Choose a pickup point first.";
      picker.focus();
      return;
    }
    message.textContent = "";
    button.disabled = true;
    button.textContent = "Placing the order…";
    var order = {
      name: form.elements.name.value.trim(), email: form.elements.email.value.trim(),
      street: form.elements.street.value.trim(), postcode: form.elements.postcode.value.trim(),
      city: form.elements.city.value.trim(), pickup_point: point
    };
    var delivery;
    post("/demo/orders", order).then(function (d) {
      delivery = d;
      var result = document.getElementById("order-result");
      var tracking = document.getElementById("order-tracking");
      tracking.textContent = d.tracking_code;
      tracking.href = "/t/" + encodeURIComponent(d.tracking_code) + "?lang=en";
      document.getElementById("order-keypad").href = "/demo/lockers/" + encodeURIComponent(d.location_id);
      document.getElementById("order-locker-step").hidden = !d.locker;
      document.getElementById("order-counter-step").hidden = d.locker;
      document.getElementById("order-notice-step").hidden = !d.locker;
      result.hidden = false;
      result.dataset.tracking = d.tracking_code;
      form.hidden = true;
      document.getElementById("order-title").focus();
      if (!d.locker) return null;
      return post("/demo/session", {}).then(function () { return notice(d.tracking_code, 10); });
    }).then(function (m) {
      if (!delivery || !delivery.locker) return;
      var text = document.getElementById("order-notice");
      text.textContent = m ? "To: " + m.to + "\n\n" + m.text : "(no notice in the outbox yet: reload the page in a moment)";
      document.getElementById("order-result").dataset.notice = m ? "shown" : "missing";
    }).catch(function (err) {
      message.textContent = "The order could not be placed: " + err.message;
      button.disabled = false;
      button.textContent = "Place the order";
    });
  });
})();
