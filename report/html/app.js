// Builds the token table from the page's JSON block and makes it sortable
// and filterable. Every value is written with textContent: token names come
// from GitLab's users.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var tokens = data.tokens;
  var body = document.getElementById("rows");
  var shown = document.getElementById("shown");
  var filter = document.getElementById("filter");
  var headers = Array.prototype.slice.call(document.querySelectorAll("#tokens th"));
  var numeric = { rank: true, risk: true, id: true };
  var severities = ["none", "info", "low", "medium", "high", "critical"];

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    tr.appendChild(td);
  }

  // Each row keeps the text a filter matches, lower-cased once.
  var rows = tokens.map(function (t) {
    var tr = document.createElement("tr");
    var sev = severities.indexOf(t.severity) >= 0 ? t.severity : "none";
    if (!t.active) { tr.className = "inactive"; }
    cell(tr, t.severity, "sev sev-" + sev);
    cell(tr, String(t.risk), "num");
    cell(tr, t.name, "name");
    cell(tr, t.kind, "kind");
    cell(tr, String(t.id), "num");
    cell(tr, t.owner + (t.gitlab_url ? " (" + t.gitlab_url + ")" : ""));
    cell(tr, t.resource);
    cell(tr, t.scopes);
    cell(tr, t.expires || "never", "date");
    cell(tr, t.last_used, "date");
    cell(tr, t.active ? "yes" : "no");
    cell(tr, t.findings);
    cell(tr, t.top);
    return { token: t, tr: tr, text: tr.textContent.toLowerCase() };
  });

  var sortKey = null, sortDir = 1;

  function value(t, key) {
    if (key === "active") { return t.active ? 1 : 0; }
    if (key === "expires" && !t.expires) { return "\uffff"; } // never sorts last
    return t[key];
  }

  function render() {
    var q = filter.value.trim().toLowerCase();
    var list = rows;
    if (sortKey) {
      list = rows.slice().sort(function (a, b) {
        var x = value(a.token, sortKey), y = value(b.token, sortKey);
        var c = numeric[sortKey] || sortKey === "active" ? x - y : String(x).localeCompare(String(y));
        return c * sortDir;
      });
    }
    var frag = document.createDocumentFragment();
    var n = 0;
    list.forEach(function (r) {
      if (q === "" || r.text.indexOf(q) >= 0) {
        frag.appendChild(r.tr);
        n++;
      }
    });
    body.textContent = "";
    body.appendChild(frag);
    shown.textContent = n + " of " + rows.length + " tokens";
  }

  headers.forEach(function (th) {
    th.addEventListener("click", function () {
      var key = th.getAttribute("data-key");
      if (sortKey === key) {
        sortDir = -sortDir;
      } else {
        sortKey = key;
        sortDir = numeric[key] ? -1 : 1; // numbers worst first
      }
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      render();
    });
  });
  filter.addEventListener("input", render);
  render();
})();
