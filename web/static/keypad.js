// The demo's web keypad: C + code + OK opens a compartment through the
// same service as a locker's device; "Close the door" reports it shut.
(function () {
  "use strict";
  var root = document.getElementById("keypad");
  if (!root) return;
  var id = root.dataset.id;
  var display = document.getElementById("keypad-display");
  var result = document.getElementById("keypad-result");
  var close = document.getElementById("close-door");
  var code = "";
  var open = 0;

  function show() { display.textContent = code ? "•".repeat(code.length) : "C + code + OK"; }

  function call(path, body) {
    return fetch("/demo/lockers/" + encodeURIComponent(id) + "/" + path, {
      method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().then(function (out) {
        if (!res.ok) throw new Error((out.error && out.error.message) || ("HTTP " + res.status));
        return out;
      });
    });
  }

  function press(key) {
    if (key === "C") { code = ""; result.textContent = ""; show(); return; }
    if (key === "OK") {
      var entered = code;
      code = "";
      show();
      if (!entered) return;
      result.textContent = "…";
      call("keypad", { code: entered }).then(function (out) {
        if (out.amount_cents > 0) {
          result.textContent = "Cash on delivery: pay " + (out.amount_cents / 100).toFixed(2) + " € at the terminal first.";
          return;
        }
        open = out.compartment;
        result.textContent = "Door " + open + " opened.";
        close.textContent = "Close door " + open;
        close.hidden = false;
        root.dataset.open = String(open);
      }, function (err) { result.textContent = err.message; });
      return;
    }
    if (code.length < 16) code += key;
    show();
  }

  root.querySelectorAll("[data-key]").forEach(function (b) {
    b.addEventListener("click", function () { press(b.dataset.key); });
  });
  document.addEventListener("keydown", function (e) {
    if (e.target && e.target.tagName === "BUTTON" && (e.key === "Enter" || e.key === " ")) return; // the button's own click
    if (/^[0-9]$/.test(e.key)) press(e.key);
    else if (e.key === "Enter") press("OK");
    else if (e.key === "Escape" || e.key === "c" || e.key === "C" || e.key === "Backspace") press("C");
    else return;
    e.preventDefault();
  });
  close.addEventListener("click", function () {
    call("close", { compartment: open }).then(function (out) {
      result.textContent = "Door " + open + " closed." + (out.status ? " The parcel is " + out.status.toLowerCase().replace(/_/g, " ") + "." : "");
      close.hidden = true;
      root.dataset.open = "";
      root.dataset.closed = out.status || "empty";
    }, function (err) { result.textContent = err.message; });
  });
})();
