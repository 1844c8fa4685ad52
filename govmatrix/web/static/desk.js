// The desk's keyboard shortcuts and selection; the pages work without it.
(function () {
  "use strict";
  var items = function () { return Array.prototype.slice.call(document.querySelectorAll(".queue .item")); };
  var focused = -1;
  function focus(i) {
    var all = items();
    if (!all.length) { return; }
    focused = Math.max(0, Math.min(all.length - 1, i));
    all.forEach(function (el, j) { el.classList.toggle("focused", j === focused); });
    all[focused].scrollIntoView({ block: "nearest" });
  }
  function press(key) {
    var el = items()[focused];
    if (!el) { return; }
    var button = el.querySelector('button[data-key="' + key + '"]');
    if (button && !button.disabled) { button.click(); }
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && (target.tagName === "INPUT" || target.tagName === "SELECT" || target.tagName === "TEXTAREA")) {
      if (event.key === "Escape") { target.blur(); }
      return;
    }
    var el = items()[focused];
    switch (event.key) {
      case "j": focus(focused + 1); break;
      case "k": focus(focused - 1); break;
      case "a": case "h": case "p": press(event.key); break;
      case "x":
        if (el) { var box = el.querySelector('input[name="ids"]'); if (box && !box.disabled) { box.checked = !box.checked; } }
        break;
      case "o": if (el) { el.querySelector("a.open").click(); } break;
      case "/":
        var search = document.querySelector('.filters input[name="q"]');
        if (search) { event.preventDefault(); search.focus(); }
        break;
      default: return;
    }
  });
  document.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("select-all")) {
      document.querySelectorAll('.queue input[name="ids"]').forEach(function (box) {
        if (!box.disabled) { box.checked = event.target.checked; }
      });
    }
  });
})();
