/* Small improvements to server-rendered pages. Every page works without this file (CSP: scripts from /static only).
   - a page shown again with errors: the error summary gets the focus, and its links the fields;
   - before the idle limit ends the session, a warning with a way to stay signed in;
   - uploads: the file's size at once, a refusal in words before sending a file that is too large,
     progress while sending, and a way to cancel;
   - a name typed in other letters than its script says: a hint while typing;
   - a document whose viewing copy is being made: the copy is shown when ready, without reloading the page. */
(function () {
  "use strict";

  var lang = document.documentElement.lang || "en";

  function size(bytes) {
    var units = ["byte", "kilobyte", "megabyte", "gigabyte"], i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i += 1; }
    var digits = i === 0 || bytes >= 10 ? 0 : 1;
    try {
      return new Intl.NumberFormat(lang, {style: "unit", unit: units[i], unitDisplay: "short",
                                          maximumFractionDigits: digits}).format(bytes);
    } catch (e) {
      return bytes.toFixed(digits) + " " + ["B", "KB", "MB", "GB"][i];
    }
  }

  function words(el, name, values) {
    var text = el.getAttribute("data-words-" + name) || "";
    Object.keys(values || {}).forEach(function (key) { text = text.split("{" + key + "}").join(values[key]); });
    return text;
  }

  /* ---------------------------------------------------------------- errors */
  function focusErrors() {
    var summary = document.getElementById("error-summary");
    if (!summary) { return; }
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) { return; }
      event.preventDefault();
      var details = field.closest("details");
      if (details) { details.open = true; }
      field.scrollIntoView({block: "center"});
      (field.matches("input, select, textarea, button") ? field : field.querySelector("input, select, textarea") || field).focus();
    });
  }

  /* ---------------------------------------------------------------- session */
  var sessionTimers = [];

  function watchSession() {
    var body = document.body, idle = parseInt(body.getAttribute("data-idle-seconds"), 10);
    var notice = document.getElementById("session-notice");
    sessionTimers.forEach(clearTimeout);
    sessionTimers = [];
    if (!idle || !notice) { return; }
    notice.hidden = true;
    var warnBefore = Math.min(120, Math.floor(idle / 3));
    sessionTimers.push(setTimeout(function () {
      notice.textContent = words(body, "warn", {m: Math.ceil(warnBefore / 60)}) + " ";
      var stay = document.createElement("button");
      stay.type = "button";
      stay.textContent = words(body, "stay");
      stay.addEventListener("click", function () {
        /* Any signed-in page renews the session; an ended one is not touched, so a form sent later is kept. */
        fetch(body.getAttribute("data-keep-alive"), {credentials: "same-origin", redirect: "manual"})
          .then(watchSession);
      });
      notice.appendChild(stay);
      notice.hidden = false;
    }, (idle - warnBefore) * 1000));
    sessionTimers.push(setTimeout(function () {
      notice.textContent = words(body, "ended");
      notice.hidden = false;
    }, (idle - 5) * 1000));
  }

  /* ---------------------------------------------------------------- uploads */
  function watchUpload(form) {
    var panel = form.querySelector(".upload-progress"), input = form.querySelector("input[type=file]");
    var chosen = form.querySelector(".file-chosen"), limit = parseInt(form.getAttribute("data-max-bytes"), 10);
    var bar = panel.querySelector("progress"), status = panel.querySelector(".upload-status");
    var cancel = panel.querySelector("button"), submit = form.querySelector("button[type=submit]");
    var xhr = null;

    function tooLarge() {
      var file = input.files && input.files[0];
      return file && limit && file.size > limit ? file : null;
    }

    input.addEventListener("change", function () {
      var file = input.files && input.files[0], big = tooLarge();
      chosen.textContent = file ? words(panel, big ? "too-large" : "chosen",
                                        {name: file.name, size: size(file.size), limit: size(limit)}) : "";
      chosen.className = "file-chosen " + (big ? "field-error" : "muted");
      input.setAttribute("aria-invalid", big ? "true" : "false");
    });

    function finish(message) {
      status.textContent = message;
      cancel.hidden = true;
      submit.disabled = false;
      xhr = null;
    }

    cancel.addEventListener("click", function () { if (xhr) { xhr.abort(); } });

    form.addEventListener("submit", function (event) {
      if (!window.FormData || tooLarge()) {
        if (tooLarge()) { event.preventDefault(); input.focus(); }
        return;
      }
      event.preventDefault();
      var started = Date.now();
      xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        bar.max = e.total;
        bar.value = e.loaded;
        var seconds = (Date.now() - started) / 1000, rate = e.loaded / Math.max(seconds, 0.5);
        var left = Math.max(1, Math.round((e.total - e.loaded) / Math.max(rate, 1)));
        status.textContent = words(panel, "sent", {sent: size(e.loaded), total: size(e.total), left: left});
      });
      xhr.upload.addEventListener("load", function () {
        bar.removeAttribute("value");
        status.textContent = words(panel, "checking");
      });
      xhr.addEventListener("load", function () { showAnswer(xhr); });
      xhr.addEventListener("abort", function () { finish(words(panel, "cancelled")); bar.value = 0; });
      xhr.addEventListener("error", function () { finish(words(panel, "failed")); });
      panel.hidden = false;
      cancel.hidden = false;
      submit.disabled = true;
      bar.value = 0;
      status.textContent = words(panel, "sent", {sent: size(0), total: size(input.files[0] ? input.files[0].size : 0), left: "…"});
      xhr.send(new FormData(form));
    });
  }

  /* The page the server answered (the document, or the form again with its errors), as if navigated to. */
  function showAnswer(xhr) {
    var answer = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var loaded = Array.prototype.map.call(document.querySelectorAll("script[src]"), function (s) { return s.src; });
    document.documentElement.lang = answer.documentElement.lang;
    if (xhr.responseURL && xhr.responseURL !== window.location.href) {  /* first: a refresh reloads this URL */
      window.history.pushState(null, "", xhr.responseURL);
    }
    /* The answer's head as it is (its title)... */
    document.head.replaceWith(document.adoptNode(answer.head));
    document.body.replaceWith(document.adoptNode(answer.body));
    /* ...but scripts from a parsed page do not run: load those this page did not have yet. */
    document.querySelectorAll("script[src]").forEach(function (script) {
      if (loaded.indexOf(script.src) === -1) {
        var fresh = document.createElement("script");
        fresh.src = script.src;
        document.head.appendChild(fresh);
      }
    });
    start();
    window.scrollTo(0, 0);
  }

  /* ---------------------------------------------------------------- name scripts */
  var LETTERS = {latin: /\p{Script=Latin}/u, cyrillic: /\p{Script=Cyrillic}/u, arabic: /\p{Script=Arabic}/u};

  function writtenIn(text) {
    var found = Object.keys(LETTERS).filter(function (s) { return LETTERS[s].test(text); });
    return found.length === 1 ? found[0] : null;
  }

  function watchNameRow(row) {
    var hint = row.querySelector(".script-hint"), select = row.querySelector("select[name^=script_]");
    if (!hint || !select) { return; }
    function check() {
      var text = Array.prototype.map.call(row.querySelectorAll("input[type=text]"), function (i) { return i.value; }).join(" ");
      var actual = writtenIn(text);
      var mismatch = actual && actual !== select.value;
      hint.hidden = !mismatch;
      if (mismatch) {
        hint.textContent = words(hint, "mismatch", {actual: hint.getAttribute("data-script-" + actual) || actual});
      }
    }
    row.addEventListener("input", check);
    row.addEventListener("change", check);
  }

  /* ---------------------------------------------------------------- viewing copy */
  var FIRST_WAIT = 3000, LONGEST_WAIT = 30000, GIVE_UP_AFTER = 10 * 60 * 1000;
  var viewingTimer = null;

  /* Asks for this page again, less and less often, until its viewing copy is ready (or could not be made),
     then puts the new #document in place of the old and says so; after ten minutes it stops and says how
     to look later. Every request is an ordinary page view, checked and logged like any other. */
  function awaitViewingCopy() {
    clearTimeout(viewingTimer);
    var part = document.querySelector("#document[data-poll]"), news = document.getElementById("document-news");
    if (!part || !news || !window.fetch) { return; }
    var address = window.location.href, started = Date.now(), wait = FIRST_WAIT;

    function ask() {
      fetch(address, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "text/html"}})
        .then(function (response) {
          /* A sign-in page (the session ended) or a refusal is not this page: stop and leave it as it is. */
          return response.ok && !response.redirected ? response.text() : null;
        }, function () { return ""; })  /* the network failed: ask again later */
        .then(function (html) {
          if (html === null || !document.body.contains(part)) { return; }
          var fresh = html ? new DOMParser().parseFromString(html, "text/html").getElementById("document") : null;
          if (html && !fresh) { return; }  /* some other page: stop */
          if (!fresh || fresh.getAttribute("data-viewing-status") === "pending") { later(); return; }
          part.replaceWith(document.adoptNode(fresh));
          if (fresh.getAttribute("data-viewing-status") === "ready") { news.textContent = words(news, "ready"); }
        });
    }

    function later() {
      if (Date.now() - started + wait > GIVE_UP_AFTER) {
        var waiting = part.querySelector(".viewing-pending");
        news.textContent = words(news, "stopped");
        if (waiting) { waiting.textContent = news.textContent; }
        return;
      }
      viewingTimer = setTimeout(ask, wait);
      wait = Math.min(LONGEST_WAIT, Math.round(wait * 1.5));
    }

    later();
  }

  function start() {
    focusErrors();
    awaitViewingCopy();
    watchSession();
    document.querySelectorAll("form[data-progress]").forEach(watchUpload);
    document.querySelectorAll(".name-row").forEach(watchNameRow);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
