// newsworker's pages: charts from data the page carries, and the live feed. Nothing is fetched
// but this site's own URLs.
(function () {
  "use strict";

  function charts() {
    if (!window.Chartist) return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var spec = JSON.parse(el.getAttribute("data-chart"));
      var spark = el.classList.contains("spark");
      var options = {
        showPoint: !spark,
        showArea: spark,
        lineSmooth: false,
        fullWidth: true,
        chartPadding: spark ? { top: 4, right: 4, bottom: 0, left: 0 } : { right: 24 },
        axisX: { showGrid: false, showLabel: !spark,
                 labelInterpolationFnc: function (value, index) {
                   var step = Math.ceil(spec.labels.length / 12);
                   return index % step === 0 ? value : null;
                 } },
        axisY: { onlyInteger: true, showLabel: !spark, showGrid: !spark, offset: spark ? 0 : 40 },
        low: 0,
      };
      new Chartist.LineChart(el, { labels: spec.labels, series: [spec.values] }, options);
    });
  }

  function live() {
    var feed = document.getElementById("feed");
    if (!feed) return;
    var status = document.getElementById("feed-status");
    var url = feed.getAttribute("data-poll");
    var every = parseInt(feed.getAttribute("data-every") || "5000", 10);
    function poll() {
      var after = feed.getAttribute("data-after") || "";
      fetch(url + "?after=" + encodeURIComponent(after), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) {
          // the answer overlaps the last one (a row may commit late): skip those shown
          var tmp = document.createElement("ul");
          tmp.innerHTML = data.html;
          var first = feed.firstChild, added = 0;
          Array.prototype.slice.call(tmp.children).forEach(function (li) {
            if (feed.querySelector('li[data-id="' + CSS.escape(li.getAttribute("data-id")) + '"]')) return;
            li.classList.add("new");
            feed.insertBefore(li, first);
            added += 1;
          });
          if (data.after) feed.setAttribute("data-after", data.after);
          if (added) status.textContent = "Новых статей: " + added;
        })
        .catch(function () { status.textContent = "Нет связи с сервером, повтор через " + every / 1000 + " с"; })
        .then(function () { setTimeout(poll, every); });
    }
    setTimeout(poll, every);
  }

  document.addEventListener("DOMContentLoaded", function () { charts(); live(); });
})();
