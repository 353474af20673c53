/* The header's menus ("More" and the user's), in the portal and the admin: a button opens its
   list below it; Escape, a click elsewhere or opening another closes it. Without the script
   (no "js" class) the lists stay in the row; on a phone the portal lists them in its folded
   menu (portal.css). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var toggles = function () { return document.querySelectorAll(".dropdown-toggle"); };
  var close = function (toggle) {
    toggle.setAttribute("aria-expanded", "false");
    toggle.parentNode.classList.remove("open");
  };
  var closeAll = function (except) {
    toggles().forEach(function (toggle) { if (toggle !== except) { close(toggle); } });
  };

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".dropdown-toggle");
    if (toggle) {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      closeAll(toggle);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      toggle.parentNode.classList.toggle("open", open);
    } else if (!(event.target.closest && event.target.closest(".dropdown-list"))) {
      closeAll(null);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var open = document.querySelector(".dropdown.open");
    if (open) {
      var toggle = open.querySelector(".dropdown-toggle");
      close(toggle);
      toggle.focus();
    }
  });

  // Tabbing out of an open list closes it.
  document.addEventListener("focusin", function (event) {
    document.querySelectorAll(".dropdown.open").forEach(function (dropdown) {
      if (!dropdown.contains(event.target)) { close(dropdown.querySelector(".dropdown-toggle")); }
    });
  });
})();
