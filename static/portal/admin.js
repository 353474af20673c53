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
        // Its inner "textbox" (the chosen value, empty when none) is named by the label too.
        var shown = box.querySelector(".select2-selection__rendered");
        if (shown) {
          shown.setAttribute("aria-labelledby", label.id);
        }
      } else if (select.getAttribute("aria-label")) {
        box.setAttribute("aria-label", select.getAttribute("aria-label"));
        box.removeAttribute("aria-labelledby");
      }
    });
  }
  // select2 builds its boxes when the admin's scripts run, and rebuilds parts on a change.
  window.addEventListener("load", function () {
    nameComboboxes();
    setTimeout(nameComboboxes, 250);
  });
  document.addEventListener("change", function () { setTimeout(nameComboboxes, 0); });
  document.addEventListener("formset:added", function () { setTimeout(nameComboboxes, 0); });
})();

/* A loan's form: the totals of its borrowers' shares and of its schedule, as typed, under
   each table (the "totals" field above shows them as saved). */
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  function parse(text) {
    var value = (text || "").replace(/[\s\u00a0\u202f']/g, "");
    if (value.indexOf(",") !== -1 && value.indexOf(".") !== -1) {
      // Both: the last one is the decimal separator.
      value = value.lastIndexOf(",") > value.lastIndexOf(".")
        ? value.replace(/\./g, "").replace(",", ".") : value.replace(/,/g, "");
    } else {
      value = value.replace(",", ".");
    }
    var number = parseFloat(value);
    return isNaN(number) ? 0 : number;
  }
  function sum(group, field) {
    var total = 0;
    group.querySelectorAll('input[name$="-' + field + '"]').forEach(function (input) {
      var row = input.closest("tr");
      var gone = row && row.querySelector('input[name$="-DELETE"]:checked');
      if (!gone && !/__prefix__/.test(input.name)) { total += parse(input.value); }
    });
    return total;
  }
  function show(groupId, fields, labels) {
    var group = document.getElementById(groupId);
    if (!group) { return; }
    var out = group.querySelector(".live-total");
    if (!out) {
      out = document.createElement("p");
      out.className = "live-total help";
      out.setAttribute("aria-live", "polite");
      group.appendChild(out);
    }
    var format = new Intl.NumberFormat(lang, { minimumFractionDigits: 0, maximumFractionDigits: 3 });
    out.textContent = fields.map(function (field, i) {
      return labels[i] + ": " + format.format(sum(group, field));
    }).join(" · ");
  }
  function update() {
    var labels = document.getElementById("portal-total-labels");
    if (!labels) { return; }
    show("loan_borrowers-group", ["amount"], [labels.dataset.shares]);
    show("schedule-group", ["principal", "interest"], [labels.dataset.principal, labels.dataset.interest]);
  }
  document.addEventListener("input", update);
  document.addEventListener("change", update);
  document.addEventListener("formset:added", update);
  document.addEventListener("formset:removed", update);
  window.addEventListener("load", update);
})();
