(function () {
  "use strict";
  var form = document.getElementById("filters");
  var query = document.getElementById("q");
  var flagged = document.getElementById("flagged");
  var year = document.getElementById("year");
  var count = document.getElementById("count");
  var papers = Array.prototype.slice.call(document.querySelectorAll("article.paper"));
  function norm(text) { return text.normalize("NFKC").toLowerCase(); }
  var texts = papers.map(function (paper) {
    var parts = paper.querySelectorAll("[data-search]");
    return norm(Array.prototype.map.call(parts, function (el) { return el.textContent; }).join("\n"));
  });
  // A long list's index holds titles only: its abstracts and bullets come from the JSON file
  // named by <main data-search-index>, loaded when one first types (not from file://).
  var main = document.querySelector("main");
  var more = main && main.getAttribute("data-search-index");
  function loadMore() {
    if (!more || !window.fetch) { return; }
    var url = more;
    more = null;
    fetch(url).then(function (answer) { return answer.json(); }).then(function (index) {
      papers.forEach(function (paper, i) {
        var text = index[paper.getAttribute("data-id")];
        if (text) { texts[i] += "\n" + norm(text); }
      });
      apply();
    }).catch(function () {});
  }
  function apply() {
    var words = norm(query.value).split(/\s+/).filter(Boolean);
    var shown = 0;
    papers.forEach(function (paper, i) {
      var visible = words.every(function (w) { return texts[i].indexOf(w) !== -1; }) &&
        (!flagged.checked || paper.getAttribute("data-flagged") === "1") &&
        (!year.value || paper.getAttribute("data-year") === year.value);
      paper.hidden = !visible;
      if (visible) { shown += 1; }
    });
    count.textContent = "显示 " + shown + " / " + papers.length + " 篇";
  }
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  query.addEventListener("input", function () { loadMore(); apply(); });
  flagged.addEventListener("change", apply);
  year.addEventListener("change", apply);
  form.hidden = false;
  apply();
})();
