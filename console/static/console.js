// callbill console: small enhancements over pages that work without them.
(function () {
  "use strict";

  // Sortable tables: click (or Enter on) a heading; the cells' data-v hold
  // the raw values. The totals row lives in tfoot and stays where it is.
  function sortTable(table, index, type, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).filter(function (r) { return !r.classList.contains("empty"); });
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) { c.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    var sign = dir === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = a.cells[index].getAttribute("data-v") || "", y = b.cells[index].getAttribute("data-v") || "";
      if (type === "num") {
        var nx = parseFloat(x), ny = parseFloat(y);
        if (isNaN(nx)) nx = -Infinity;
        if (isNaN(ny)) ny = -Infinity;
        return (nx - ny) * sign;
      }
      return x.localeCompare(y) * sign;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    if (!table.tHead) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.tabIndex = 0;
      var go = function () { sortTable(table, i, th.getAttribute("data-type"), th); };
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
  });

  // A cycle picker submits its form when it changes.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
    s.addEventListener("change", function () { if (s.form) s.form.submit(); });
  });

  // The export form takes the filter as it stands, applied or not.
  document.querySelectorAll("form[data-sync-from]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var from = document.getElementById(form.getAttribute("data-sync-from"));
      if (!from) return;
      var data = new FormData(from);
      ["mode", "cycle", "from", "to", "instance", "item", "number", "direction"].forEach(function (name) {
        var input = form.querySelector('input[name="' + name + '"]');
        if (input && data.has(name)) input.value = data.get(name);
      });
    });
  });

  // Usage filter: the cycle or the dates, whichever mode is chosen.
  var modeCycle = document.getElementById("mode-cycle"), modeRange = document.getElementById("mode-range");
  function syncMode() {
    var range = modeRange && modeRange.checked;
    var c = document.getElementById("f-cycle"), f = document.getElementById("f-from"), t = document.getElementById("f-to");
    if (c) c.disabled = !!range;
    if (f) f.disabled = !range;
    if (t) t.disabled = !range;
  }
  if (modeCycle && modeRange) {
    modeCycle.addEventListener("change", syncMode);
    modeRange.addEventListener("change", syncMode);
    syncMode();
  }
})();
