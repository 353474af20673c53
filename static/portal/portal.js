/* The portal's little script: the phone menu and confirmations. Pages work without it
   (the menu is open and forms post without asking). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var toggle = document.querySelector(".menu-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      document.body.classList.toggle("nav-open", open);
    });
  }

  // <form data-confirm="Question?">: a destructive action asks first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();

// A table wider than the screen scrolls in its own box (portal.css): keyboard users reach it.
(function () {
  "use strict";
  function markScrollable() {
    document.querySelectorAll("main table").forEach(function (table) {
      if (table.scrollWidth > table.clientWidth + 1) {
        table.setAttribute("tabindex", "0");
      } else if (table.getAttribute("tabindex") === "0") {
        table.removeAttribute("tabindex");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", markScrollable);
  window.addEventListener("resize", markScrollable);
})();

// Queues: select all on the page, a count of the selection, and keyboard shortcuts shown on
// the page (j/k next/previous row, x select it; on a record a approve, c comment).
(function () {
  "use strict";
  var form = document.querySelector("form[data-queue]");
  // "1 selected", "2 selected": the page gives the language's two forms (data-count-one,
  // data-count-other, with {n}); the browser's plural rules for the page's language pick one
  // (French says "0 sélectionné", Spanish "0 seleccionados").
  var countText = function (element, n) {
    var lang = document.documentElement.lang || "en";
    var one = window.Intl && Intl.PluralRules ? new Intl.PluralRules(lang).select(n) === "one" : n === 1;
    return element.getAttribute(one ? "data-count-one" : "data-count-other").replace("{n}", n.toLocaleString(lang));
  };
  if (form) {
    var all = form.querySelector("[data-select-all]");
    var count = form.querySelector(".selected-count");
    var boxes = function () { return form.querySelectorAll('input[name="ids"]'); };
    var update = function () {
      var n = 0;
      boxes().forEach(function (box) { if (box.checked) { n += 1; } });
      if (count) { count.textContent = countText(count, n); }
      if (all) { all.checked = n > 0 && n === boxes().length; all.indeterminate = n > 0 && n < boxes().length; }
    };
    if (all) {
      all.hidden = boxes().length === 0;
      all.addEventListener("change", function () {
        boxes().forEach(function (box) { box.checked = all.checked; });
        update();
      });
    }
    form.addEventListener("change", function (event) { if (event.target.name === "ids") { update(); } });
    update();
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable) {
      return;
    }
    var links = Array.prototype.slice.call(document.querySelectorAll("table.queue a.record-link"));
    var at = links.indexOf(document.activeElement);
    if ((event.key === "j" || event.key === "k") && links.length) {
      var next = event.key === "j" ? Math.min(at + 1, links.length - 1) : Math.max(at - 1, 0);
      links[at === -1 ? 0 : next].focus();
      event.preventDefault();
    } else if (event.key === "x" && at !== -1) {
      var box = links[at].closest("tr").querySelector('input[name="ids"]');
      if (box) { box.click(); }
      event.preventDefault();
    } else {
      var el = document.querySelector('[data-key="' + event.key + '"]');
      if (!el || el.disabled) { return; }
      event.preventDefault();
      if (el.tagName === "BUTTON") { el.click(); } else { el.focus(); }
    }
  });
})();

// A report's sending: the progress bar asks how far it is every 2 s until every chunk has an
// outcome, then reloads the page once to show what Kiva answered. Without the script the
// page shows the count as it was when loaded.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress]");
  if (!box || box.hasAttribute("data-done") || !window.fetch) { return; }
  var bar = box.querySelector("progress");
  var hint = box.querySelector("[data-hint]");
  if (hint) { hint.hidden = true; }
  var set = function (name, value) {
    var el = box.querySelector("[data-" + name + "]");
    if (el) { el.textContent = value; }
  };
  var poll = function () {
    fetch(box.getAttribute("data-progress"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        bar.max = data.chunks;
        bar.value = data.sent;
        set("sent", data.sent);
        set("chunks", data.chunks);
        set("stopped", data.stopped);
        if (data.done) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  };
  window.setTimeout(poll, 2000);
})();

// A bulk approval job's page: the counts move every 1.5 s while it runs, then the page
// reloads once to list what was done with each record. Without the script the page shows the
// counts as they were when loaded.
(function () {
  "use strict";
  var box = document.querySelector("[data-job-progress]");
  if (!box || !window.fetch) { return; }
  var bar = box.querySelector("progress");
  var hint = box.querySelector("[data-hint]");
  if (hint) { hint.hidden = true; }
  var grouped = window.Intl ? new Intl.NumberFormat(document.documentElement.lang || undefined) : null;
  var set = function (name, value) {
    var el = document.querySelector("[data-" + name + "]");
    if (el) { el.textContent = typeof value === "number" && grouped ? grouped.format(value) : value; }
  };
  var poll = function () {
    fetch(box.getAttribute("data-job-progress"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        bar.max = data.total;
        bar.value = data.done;
        ["done", "total", "approved", "refused"].forEach(function (name) { set(name, data[name]); });
        set("status", data.status_label);
        if (data.running) { window.setTimeout(poll, 1500); } else { window.location.reload(); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  };
  window.setTimeout(poll, 1000);
})();
