/* "Select all on this page" of a bulk decision form ticks and unticks every row's box.
   Without JavaScript the form still works: the server takes every listed application. */
(function () {
  "use strict";

  function boxes(form) {
    return form.querySelectorAll("input[data-bulk-pick]");
  }

  document.querySelectorAll("form.bulk-form").forEach(function (form) {
    var all = form.querySelector("input[data-select-all]");
    if (!all) {
      return;
    }
    // Rows that come ticked (a whole batch) show "all" ticked too; only with JavaScript, since
    // without it a ticked "all" would also take rows the officer unticks.
    all.checked = Array.prototype.every.call(boxes(form), function (box) {
      return box.checked;
    }) && boxes(form).length > 0;
    all.addEventListener("change", function () {
      boxes(form).forEach(function (box) {
        box.checked = all.checked;
      });
    });
    boxes(form).forEach(function (box) {
      box.addEventListener("change", function () {
        if (!box.checked) {
          all.checked = false;  // the ticked rows are the choice again
        }
      });
    });
  });
})();
