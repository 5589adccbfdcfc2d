// The supervisor review's charts (policy IX.A–B), drawn with Chart.js (static/vendor/chartjs).
// A file, not inline script: the Content-Security-Policy forbids inline JavaScript. Each
// <canvas data-review-chart="..." data-source="..."> names the json_script element that holds
// its numbers; the same numbers are in the table beside it, so a reader who cannot see the
// chart, or a browser without JavaScript, loses nothing.
(function () {
  "use strict";

  // Colours with at least 3:1 contrast against white (WCAG 1.4.11), told apart by more than
  // hue for the common colour-vision deficiencies; the legend and the tables name each one.
  var BLUE = "#1f5fa8";
  var ORANGE = "#b35806";
  var GREEN = "#1b7837";
  var GREY = "#5f6b76";
  // Printed size, in CSS pixels: fits a Letter or A4 page in portrait with its margins.
  var PRINT_WIDTH = 640;
  var PRINT_HEIGHT = 320;

  function read(id) {
    var element = id && document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  function countAxis(extra) {
    var axis = { beginAtZero: true, ticks: { precision: 0 } };
    return Object.assign(axis, extra || {});
  }

  var BUILDERS = {
    // Screened → decided refer → referred → attendance documented → six in a row.
    funnel: function (data) {
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [{ label: "Screenings", data: data.values, backgroundColor: BLUE }],
        },
        options: {
          indexAxis: "y",
          plugins: { legend: { display: false } },
          scales: { x: countAxis() },
        },
      };
    },
    // Attendance documented per ISO week of the meeting, attended and missed stacked.
    weekly: function (data) {
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            { label: "Attended", data: data.attended, backgroundColor: GREEN },
            { label: "Missed", data: data.missed, backgroundColor: GREY },
          ],
        },
        options: {
          scales: { x: { stacked: true }, y: countAxis({ stacked: true }) },
        },
      };
    },
    // Follow-through by clinician: referred, attendance documented, six in a row.
    clinicians: function (data) {
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            { label: "Referred", data: data.referred, backgroundColor: BLUE },
            {
              label: "Attendance documented",
              data: data.attendance_documented,
              backgroundColor: ORANGE,
            },
            { label: "Six in a row", data: data.six_in_a_row, backgroundColor: GREEN },
          ],
        },
        options: { scales: { y: countAxis() } },
      };
    },
    // VII.D: listings current and not current, per heading or per Service Planning Area.
    currency: function (data) {
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            { label: "Current", data: data.current, backgroundColor: GREEN },
            { label: "Not current", data: data.stale, backgroundColor: GREY },
          ],
        },
        options: {
          indexAxis: "y",
          scales: { x: countAxis({ stacked: true }), y: { stacked: true } },
        },
      };
    },
  };

  function withDefaults(config) {
    config.options = Object.assign(
      {
        // No animation: nothing moves for people who asked for less motion, and a chart is
        // complete at once when the page is printed.
        animation: false,
        responsive: true,
        maintainAspectRatio: true,
        aspectRatio: 2,
      },
      config.options
    );
    return config;
  }

  var charts = [];

  function draw() {
    if (typeof window.Chart === "undefined") {
      return; // Chart.js did not load: the tables still carry every number.
    }
    var canvases = document.querySelectorAll("canvas[data-review-chart]");
    Array.prototype.forEach.call(canvases, function (canvas) {
      var build = BUILDERS[canvas.dataset.reviewChart];
      var data = read(canvas.dataset.source);
      if (!build || !data) {
        return;
      }
      charts.push(new window.Chart(canvas, withDefaults(build(data))));
      canvas.dataset.rendered = "true"; // lets browser tests see that the chart was drawn
    });
  }

  // Printing: the browser lays the page out anew for paper, and a canvas keeps the size it
  // had on screen; give each chart the printed size first, and its own size back after.
  function forPrint() {
    charts.forEach(function (chart) {
      chart.resize(PRINT_WIDTH, PRINT_HEIGHT);
    });
  }

  function afterPrint() {
    charts.forEach(function (chart) {
      chart.resize();
    });
  }

  window.addEventListener("beforeprint", forPrint);
  window.addEventListener("afterprint", afterPrint);
  if (window.matchMedia) {
    var print = window.matchMedia("print");
    var onChange = function (event) {
      if (event.matches) {
        forPrint();
      } else {
        afterPrint();
      }
    };
    if (print.addEventListener) {
      print.addEventListener("change", onChange);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
