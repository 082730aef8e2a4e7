// The returns page: the consumer's tracking code and postcode get the
// return code (POST /v1/returns), the label (POST /v1/returns/label.pdf)
// and the points near them that take returns. Without this script the form
// posts straight to the label, which carries the return code too.
(function () {
  "use strict";
  var form = document.getElementById("return-form");
  if (!form) return;
  var texts = document.getElementById("return-texts").dataset;
  var message = document.getElementById("return-message");
  var result = document.getElementById("return-result");
  var lang = form.dataset.lang;

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var tracking = form.elements.tracking_code.value.trim().toUpperCase();
    var postcode = form.elements.postcode.value.trim();
    message.textContent = texts.asking;
    result.hidden = true;
    fetch("/v1/returns", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ tracking_code: tracking, postcode: postcode })
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (res.ok) return show(body, tracking, postcode);
        if (res.status === 404) message.textContent = texts.notFound;
        else if (res.status === 429) message.textContent = texts.tooMany;
        else message.textContent = (body.error && body.error.message) || texts.failed;
      });
    }, function () { message.textContent = texts.failed; });
  });

  function show(r, tracking, postcode) {
    message.textContent = "";
    document.getElementById("return-code").textContent = r.return_code;
    var link = document.getElementById("return-tracking");
    link.textContent = r.return_tracking_code;
    link.href = "/t/" + encodeURIComponent(r.return_tracking_code) + "?lang=" + lang;
    var label = document.getElementById("label-form");
    label.elements.tracking_code.value = tracking;
    label.elements.postcode.value = postcode;
    var points = document.getElementById("return-points");
    var picker = document.createElement("lokero-pickup-point");
    picker.setAttribute("postcode", postcode);
    picker.setAttribute("functions", "return"); // only the points that take returns
    picker.setAttribute("lang", lang);
    points.replaceChildren(picker);
    result.hidden = false;
    document.getElementById("return-result-title").focus();
  }
})();
