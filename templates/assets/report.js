// Filtering and sorting for the role table, and every <details> opened for printing.
// Inlined into report.html and allowed by its sha256 hash; it reads only the page itself.
(function () {
  "use strict";
  // The filter controls are shown only when this script runs (CSS hides them otherwise).
  document.documentElement.classList.add("js");
  var table = document.getElementById("role-table");
  if (table) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var search = document.getElementById("role-filter");
    var agentsOnly = document.getElementById("agents-only");
    var count = document.getElementById("role-count");
    var apply = function () {
      var q = (search && search.value || "").toLowerCase();
      var shown = 0;
      rows.forEach(function (row) {
        var ok = (!q || (row.getAttribute("data-text") || "").indexOf(q) !== -1) &&
          (!agentsOnly || !agentsOnly.checked || row.getAttribute("data-agent") === "1");
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      if (count) { count.textContent = shown + " of " + rows.length + " roles"; }
    };
    if (search) { search.addEventListener("input", apply); }
    if (agentsOnly) { agentsOnly.addEventListener("change", apply); }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      var kind = th.getAttribute("data-sort");
      if (!kind) { return; }
      th.addEventListener("click", function () {
        var desc = !th.classList.contains("sorted-desc");
        Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) {
          other.classList.remove("sorted-asc", "sorted-desc");
        });
        th.classList.add(desc ? "sorted-desc" : "sorted-asc");
        var key = function (row) {
          var cell = row.cells[index];
          var v = cell.getAttribute("data-value");
          if (v === null) { v = cell.textContent.trim(); }
          return kind === "num" ? parseFloat(v) || 0 : v.toLowerCase();
        };
        rows.sort(function (a, b) {
          var ka = key(a), kb = key(b);
          var c = ka < kb ? -1 : ka > kb ? 1 : 0;
          return desc ? -c : c;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
    apply();
  }
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) {
      d.setAttribute("open", "");
    });
  });
}());
