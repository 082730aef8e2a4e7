// The demo shop's checkout: shows the pickup point chosen in the
// selector, and searches again when the shopper changes the postcode.
(function () {
  "use strict";
  var picker = document.querySelector("lokero-pickup-point");
  var choice = document.getElementById("choice");
  var postcode = document.getElementById("postcode");
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
})();
