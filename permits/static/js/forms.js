/* Small helps for forms; without JavaScript every form works and shows the same messages.
   1. A refused form: the focus goes to the first field in error, scrolled into the middle of
      the screen, so its message (just above it) is seen without looking for it.
   2. A part shown only for one choice (data-shown-for="decision=reject": the reject reasons)
      is hidden while another choice is ticked.
   3. A refused new draft: the address bar shows its edit page, so a reload posts nothing. */
(function () {
  "use strict";

  // A page shown in answer to a form sent to another address (a new draft's edit page).
  var canonical = document.querySelector("link[rel='canonical'][data-replace-url]");
  if (canonical && window.history.replaceState) {
    window.history.replaceState(null, "", canonical.getAttribute("href") + window.location.hash);
  }

  var invalid = document.querySelector("[aria-invalid='true']");
  if (invalid) {
    // After "load": the browser's own move to the address's #fragment would take the focus away.
    window.addEventListener("load", function () {
      invalid.focus({ preventScroll: true });
      invalid.scrollIntoView({ block: "center" });
    });
  }

  document.querySelectorAll("[data-shown-for]").forEach(function (part) {
    var form = part.closest("form");
    var rule = part.getAttribute("data-shown-for").split("=");
    if (!form || rule.length !== 2) {
      return;
    }
    function update() {
      var ticked = form.querySelector("input[name='" + rule[0] + "']:checked");
      part.hidden = !ticked || ticked.value !== rule[1];
    }
    form.querySelectorAll("input[name='" + rule[0] + "']").forEach(function (input) {
      input.addEventListener("change", update);
    });
    update();
  });
})();
