// Draws the usage charts with uPlot from the page's JSON (#usage-charts), again after
// each htmx swap of the body, and fills the range form's time zone with the browser's
// when the address did not choose one.
(function () {
  "use strict";

  var COLOURS = ["#2f5bd3", "#a15c00", "#b42318", "#157347", "#7a3db8", "#0f7b8a"];
  var plots = [];

  function readData() {
    var element = document.getElementById("usage-charts");
    if (!element) return null;
    try {
      return JSON.parse(element.textContent);
    } catch (error) {
      return null;
    }
  }

  function formatValue(unit) {
    return function (self, value) {
      if (value == null) return "–";
      if (unit === "USD") return "$" + value.toFixed(2);
      if (unit === "ms") return value.toFixed(1) + " ms";
      return Math.round(value).toLocaleString();
    };
  }

  // Axis ticks: short, and fractional only where the scale is.
  function formatTick(unit) {
    return function (self, ticks) {
      return ticks.map(function (value) {
        if (value == null) return "";
        var abs = Math.abs(value);
        var text;
        if (abs >= 1e6) text = (value / 1e6).toLocaleString(undefined, { maximumFractionDigits: 1 }) + "M";
        else if (abs >= 1e4) text = (value / 1e3).toLocaleString(undefined, { maximumFractionDigits: 1 }) + "k";
        else text = value.toLocaleString(undefined, { maximumFractionDigits: 2 });
        if (unit === "USD") return "$" + text;
        if (unit === "ms") return text + " ms";
        return text;
      });
    };
  }

  function options(chart, tz, width) {
    var series = [{}];
    chart.series.forEach(function (s, index) {
      series.push({
        label: s.name,
        stroke: COLOURS[index % COLOURS.length],
        width: 2,
        spanGaps: false,
        // Percentiles have gaps (no calls, no percentile): dots keep lone hours visible.
        points: { show: chart.x.length <= 60 || chart.unit === "ms", size: chart.x.length <= 60 ? 5 : 3 },
        value: formatValue(chart.unit),
      });
    });
    return {
      width: width,
      height: 220,
      series: series,
      scales: { x: { time: true }, y: { range: function (self, min, max) { return [0, Math.max(max || 0, chart.unit === "USD" || chart.unit === "ms" ? 1 : 4) * 1.05]; } } },
      axes: [
        {},
        { values: formatTick(chart.unit), size: chart.unit === "ms" || chart.unit === "USD" ? 84 : 60 },
      ],
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), tz); },
      legend: { live: true },
    };
  }

  function destroy() {
    plots.forEach(function (plot) { plot.destroy(); });
    plots = [];
  }

  function draw() {
    destroy();
    var data = readData();
    if (!data || typeof uPlot === "undefined") return;
    data.charts.forEach(function (chart) {
      var target = document.querySelector('[data-chart="' + chart.id + '"]');
      if (!target) return;
      target.textContent = "";
      var columns = [chart.x].concat(chart.series.map(function (s) { return s.values; }));
      var width = Math.max(target.clientWidth || 0, 280);
      var plot = new uPlot(options(chart, data.tz, width), columns, target);
      target.dataset.drawn = "true";
      plots.push(plot);
    });
  }

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  // The first look uses the portal's zone; ask again in the browser's own if it differs.
  function adoptBrowserZone() {
    var input = document.querySelector("[data-usage-range] input[name=tz]");
    if (!input || input.dataset.explicit === "true") return;
    var zone = browserZone();
    if (!zone || zone === input.value) return;
    input.value = zone;
    input.dataset.explicit = "true";
    var form = input.form;
    if (window.htmx) {
      window.htmx.trigger(form, "submit");
    } else if (form.requestSubmit) {
      form.requestSubmit();
    }
  }

  // "Custom days" is the only choice that reads the dates.
  function syncDates(root) {
    var form = (root || document).querySelector("[data-usage-range]");
    if (!form) return;
    var custom = form.elements.range.value === "custom";
    ["from", "to"].forEach(function (name) {
      form.elements[name].disabled = !custom;
    });
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(draw, 200);
  });

  document.addEventListener("change", function (event) {
    if (event.target && event.target.name === "range") syncDates();
  }, true);

  document.body.addEventListener("htmx:afterSettle", function () {
    syncDates();
    draw();
  });

  function start() {
    syncDates();
    draw();
    adoptBrowserZone();
  }

  // Deferred like htmx, this runs before DOMContentLoaded, where htmx sets the page up:
  // start after it, so that htmx already listens to the form.
  if (document.readyState === "complete") {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();
