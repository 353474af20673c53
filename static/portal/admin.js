/* The admin's autocomplete boxes (select2) take their name from an element that is empty
   until something is chosen: name them by their field's label as well. */
(function () {
  "use strict";
  function nameComboboxes() {
    document.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var label = document.querySelector('label[for="' + select.id + '"]');
      var box = select.parentNode.querySelector('.select2-selection[role="combobox"]');
      if (!box) {
        return;
      }
      if (label) {
        if (!label.id) {
          label.id = select.id + "-label";
        }
        var ids = (box.getAttribute("aria-labelledby") || "").split(" ");
        if (ids.indexOf(label.id) === -1) {
          box.setAttribute("aria-labelledby", [label.id].concat(ids).join(" ").trim());
        }
      } else if (select.getAttribute("aria-label")) {
        box.setAttribute("aria-label", select.getAttribute("aria-label"));
        box.removeAttribute("aria-labelledby");
      }
    });
  }
  window.addEventListener("load", nameComboboxes);
  document.addEventListener("formset:added", function () { setTimeout(nameComboboxes, 0); });
})();
