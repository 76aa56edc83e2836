(function () {
  "use strict";
  var input = document.getElementById("q");
  var list = document.getElementById("packages");
  var count = document.getElementById("count");
  var none = document.getElementById("none");
  if (!input || !list) { return; }
  var index = window.shelfSearchIndex || [];
  var text = {};
  for (var i = 0; i < index.length; i++) { text[index[i][0]] = index[i][1]; }
  var items = list.children;
  function update() {
    var terms = input.value.toLowerCase().split(/\s+/).filter(function (t) { return t.length > 0; });
    var shown = 0;
    for (var i = 0; i < items.length; i++) {
      var hay = text[items[i].getAttribute("data-id")] || "";
      var match = terms.every(function (t) { return hay.indexOf(t) !== -1; });
      items[i].hidden = !match;
      if (match) { shown++; }
    }
    count.textContent = shown + (shown === 1 ? " package" : " packages");
    none.hidden = shown !== 0;
  }
  input.addEventListener("input", update);
  document.addEventListener("keydown", function (e) {
    if (e.key === "/" && document.activeElement !== input) { e.preventDefault(); input.focus(); }
  });
  var q = new URLSearchParams(window.location.search).get("q");
  if (q) { input.value = q; }
  update();
})();
