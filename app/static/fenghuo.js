/* Fenghuo (烽火): the few live parts of the pages. No framework, no build step.
 *
 * - Countdowns tick against the SERVER's clock: the page carries the server's time when it
 *   was rendered (body[data-server-now]); the offset to the browser's clock is taken once,
 *   so a browser whose clock is wrong still shows the true time left.
 * - Live panels ([data-live-url]) fetch their JSON document from the web face itself (the
 *   session cookie; the bearer-only API is not for browsers) and replace the rendered
 *   panels, except one the person is working in.
 * - The log form asks for the grade suggestion while impact facts are typed.
 */
(function () {
  "use strict";

  var body = document.body;
  var serverNow = Date.parse(body.getAttribute("data-server-now") || "");
  var offset = isNaN(serverNow) ? 0 : serverNow - Date.now();

  function serverTime() {
    return Date.now() + offset;
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function clockText(ms) {
    var total = Math.floor(ms / 1000);
    var days = Math.floor(total / 86400);
    var rest = total % 86400;
    var text = pad(Math.floor(rest / 3600)) + ":" + pad(Math.floor((rest % 3600) / 60)) + ":" + pad(rest % 60);
    if (days > 0) {
      var daysLabel = body.getAttribute("data-days-label") || "{d}d {clock}";
      text = daysLabel.replace("{d}", String(days)).replace("{clock}", text);
    }
    return text;
  }

  function tick() {
    var now = serverTime();
    var overdueLabel = body.getAttribute("data-overdue-label") || "-{span}";
    var nodes = document.querySelectorAll(".countdown[data-due]");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) continue;
      var left = due - now;
      var windowSeconds = parseInt(el.getAttribute("data-window") || "0", 10);
      var text;
      if (left < 0) {
        text = overdueLabel.replace("{span}", clockText(-left + 999));
        el.classList.add("overdue");
        el.classList.remove("soon");
      } else {
        text = clockText(left);
        var soonMs = windowSeconds > 0 ? windowSeconds * 250 : 30 * 60 * 1000;
        el.classList.toggle("soon", left <= soonMs);
        el.classList.remove("overdue");
      }
      if (el.textContent !== text) el.textContent = text;
    }
  }

  tick();
  window.setInterval(tick, 1000);

  /* --- live panels ------------------------------------------------------------------- */

  function markBusy(panel) {
    panel.setAttribute("data-busy", "1");
  }

  function startLive(container) {
    var url = container.getAttribute("data-live-url");
    var every = parseInt(container.getAttribute("data-live-every") || "15", 10) * 1000;
    var status = container.querySelector("[data-live-status]");
    var panels = container.querySelectorAll("[data-panel]");
    for (var i = 0; i < panels.length; i++) {
      (function (panel) {
        // Someone typing a reason or choosing in an open form keeps their panel as it is.
        panel.addEventListener("input", function () { markBusy(panel); });
        panel.addEventListener("toggle", function () { markBusy(panel); }, true);
      })(panels[i]);
    }

    function refresh() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (data) {
          var names = Object.keys(data.panels || {});
          for (var j = 0; j < names.length; j++) {
            var panel = container.querySelector('[data-panel="' + names[j] + '"]');
            if (!panel || panel.getAttribute("data-busy") === "1") continue;
            if (panel.contains(document.activeElement)) continue;
            if (panel.innerHTML !== data.panels[names[j]]) panel.innerHTML = data.panels[names[j]];
          }
          if (status) {
            status.textContent = (status.getAttribute("data-ok") || "").replace("{time}", data.now_local || "");
            status.classList.remove("undelivered");
          }
          tick();
        })
        .catch(function () {
          if (status) {
            status.textContent = status.getAttribute("data-failed") || "!";
            status.classList.add("undelivered");
          }
        });
    }

    window.setInterval(refresh, every);
  }

  var live = document.querySelectorAll("[data-live-url]");
  for (var k = 0; k < live.length; k++) startLive(live[k]);

  /* --- the log form's grade suggestion ------------------------------------------------- */

  var form = document.getElementById("incident-form");
  if (form && form.getAttribute("data-suggest-url") && window.fetch && window.FormData) {
    var target = document.getElementById("suggestion");
    var timer = null;
    var sequence = 0;
    var csrf = document.querySelector('meta[name="csrf-token"]');

    var ask = function () {
      var data = new FormData(form);
      // A critical information infrastructure system makes the incident a CII one, as
      // the record does when the incident is logged.
      var cii = form.querySelectorAll('input[name="system_ids"][data-cii="1"]:checked');
      if (cii.length > 0) data.set("impact.cii", "on");
      var mine = ++sequence;
      fetch(form.getAttribute("data-suggest-url"), {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrf ? csrf.getAttribute("content") : "" }
      })
        .then(function (response) { return response.json(); })
        .then(function (result) {
          if (mine !== sequence || !target || typeof result.html !== "string") return;
          target.innerHTML = result.html;
        })
        .catch(function () { /* the form still posts; the server grades it */ });
    };

    var schedule = function (event) {
      var name = (event.target && event.target.name) || "";
      if (name.indexOf("impact.") !== 0 && name !== "system_ids") return;
      // Choosing a CII system sets the CII fact on the form itself, not only for the
      // suggestion: what is posted is what the person sees.
      var box = document.getElementById("impact-cii");
      if (name === "system_ids" && event.target.checked && box &&
          event.target.getAttribute("data-cii") === "1") box.checked = true;
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(ask, 200);
    };
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
  }

  /* --- the report form shows the items of the kind chosen ------------------------------- */

  var reportForm = document.querySelector("[data-report-form]");
  if (reportForm) {
    var showKind = function () {
      var checked = reportForm.querySelector('input[name="kind"]:checked');
      var kind = checked ? checked.value : "";
      var parts = reportForm.querySelectorAll("[data-kinds]");
      for (var p = 0; p < parts.length; p++) {
        var kinds = parts[p].getAttribute("data-kinds").split(" ");
        var show = !kind || kinds.indexOf(kind) >= 0;
        parts[p].hidden = !show;
        // A hidden part sends nothing: its fields are disabled with it.
        var fields = parts[p].querySelectorAll("input, textarea, select");
        for (var f = 0; f < fields.length; f++) fields[f].disabled = !show;
      }
      var starts = reportForm.querySelectorAll("[data-start]");
      for (var q = 0; q < starts.length; q++) {
        var wanted = kind === "final" ? "resolved" : "detected";
        var mine = starts[q].getAttribute("data-start") === wanted;
        starts[q].hidden = !mine;
        var box = starts[q].querySelector("input");
        if (box) box.disabled = !mine;
      }
    };
    reportForm.addEventListener("change", function (event) {
      if (event.target && event.target.name === "kind") showKind();
    });
    showKind();
  }

  /* --- print buttons ----------------------------------------------------------------- */

  var printers = document.querySelectorAll("[data-print]");
  for (var b = 0; b < printers.length; b++) {
    printers[b].addEventListener("click", function () { window.print(); });
  }
})();
