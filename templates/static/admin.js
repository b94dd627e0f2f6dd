// Vitrine admin: the Generate popup, live status polling, copy buttons,
// the disconnect dialog, and the popup's result page. Everything works
// without this file; it only makes it smoother. No inline handlers (CSP).
(function () {
  "use strict";
  var body = document.body;
  var origin = window.location.origin;

  // A callback page shown without a session still has the code in its
  // URL: drop the query from history.
  if (window.location.pathname === "/admin/callback" && window.location.search) {
    history.replaceState(null, "", "/admin/callback");
  }

  // Avatar: fall back to the initial when the CDN URL has expired.
  Array.prototype.forEach.call(document.querySelectorAll("img[data-avatar]"), function (img) {
    var hide = function () { img.hidden = true; };
    img.addEventListener("error", hide);
    if (img.complete && img.naturalWidth === 0) { hide(); }
  });

  // --- The popup's result page -------------------------------------------
  var result = body.getAttribute("data-result");
  if (result) {
    var opener = null;
    try { opener = window.opener && !window.opener.closed ? window.opener : null; } catch (e) { opener = null; }
    if (opener) {
      // Explicit target origin: only our own dashboard may hear it.
      opener.postMessage({ type: "vitrine:connect", result: result }, origin);
      var close = document.querySelector("[data-close-window]");
      if (close) {
        close.hidden = false;
        close.addEventListener("click", function () { window.close(); });
      }
      var link = document.querySelector("[data-dashboard-link]");
      if (link) { link.hidden = true; }
      if (result === "connected") { window.close(); }
    } else if (result === "connected") {
      window.location.replace("/admin");
    }
    return;
  }

  // --- Appearance page ----------------------------------------------------
  // The preview frame follows the form as it changes, before anything is
  // saved: the form's settings go to /admin/appearance/preview as a query
  // (the CSRF token stays out of it: a GET changes nothing).
  if (body.hasAttribute("data-appearance")) {
    var form = document.querySelector("[data-appearance-form]");
    var frame = document.querySelector("iframe[data-preview]");
    var unsaved = document.querySelector("[data-unsaved]");
    var timer = 0;
    var previewQuery = function () {
      var q = new URLSearchParams();
      new FormData(form).forEach(function (value, key) { if (key !== "csrf_token") { q.append(key, value); } });
      return q.toString();
    };
    var saved = previewQuery();
    var refresh = function () {
      var query = previewQuery();
      if (unsaved) { unsaved.hidden = query === saved; }
      // replace: the previews are not pages of the admin's history.
      frame.contentWindow.location.replace("/admin/appearance/preview?" + query);
    };
    var changed = function () { clearTimeout(timer); timer = setTimeout(refresh, 150); };
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    // A colour picker beside each colour field writes #rrggbb into it;
    // the field (which may be empty: the theme's colour) is what is sent.
    Array.prototype.forEach.call(form.querySelectorAll("[data-colour-for]"), function (picker) {
      var text = document.getElementById(picker.getAttribute("data-colour-for"));
      picker.hidden = false; // without script it would do nothing
      picker.addEventListener("input", function () { text.value = picker.value; picker.classList.remove("opt-swatch-unset"); changed(); });
      text.addEventListener("input", function () {
        if (/^#[0-9a-f]{6}$/i.test(text.value)) { picker.value = text.value.toLowerCase(); }
        picker.classList.toggle("opt-swatch-unset", text.value === "");
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-preview-width]"), function (btn, _, all) {
      btn.addEventListener("click", function () {
        Array.prototype.forEach.call(all, function (b) { b.setAttribute("aria-pressed", String(b === btn)); });
        document.querySelector(".preview-stage").setAttribute("data-stage", btn.getAttribute("data-preview-width"));
      });
    });
    return;
  }

  if (!body.hasAttribute("data-dashboard")) { return; }

  // --- Dashboard ------------------------------------------------------------
  var popup = null;
  var popupName = body.getAttribute("data-popup-name") || "vitrine-connect";
  var popupFeatures = body.getAttribute("data-popup-features") || "width=520,height=720";

  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("a[data-popup]");
    if (!a || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) { return; }
    ev.preventDefault();
    popup = window.open(a.href, popupName, popupFeatures);
    if (!popup) { window.location.href = a.href; return; } // blocked: do it in this tab
    popup.focus();
  });

  window.addEventListener("message", function (ev) {
    if (ev.origin !== origin || !ev.data || ev.data.type !== "vitrine:connect") { return; }
    refresh();
  });

  // Copy buttons.
  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (btn) {
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.getAttribute("data-copy"));
      var text = el ? el.textContent : "";
      var done = function () {
        var label = btn.textContent;
        btn.textContent = "Copied";
        btn.classList.add("copied");
        setTimeout(function () { btn.textContent = label; btn.classList.remove("copied"); }, 1800);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { selectText(el); });
      } else {
        selectText(el);
        try { if (document.execCommand("copy")) { done(); } } catch (e) { /* selected: the admin copies by hand */ }
      }
    });
  });

  function selectText(el) {
    if (!el) { return; }
    var r = document.createRange();
    r.selectNodeContents(el);
    var s = window.getSelection();
    s.removeAllRanges();
    s.addRange(r);
  }

  // Disconnect confirm dialog (the link goes to a confirm page otherwise).
  Array.prototype.forEach.call(document.querySelectorAll("a[data-dialog]"), function (a) {
    var dlg = document.getElementById(a.getAttribute("data-dialog"));
    if (!dlg || typeof dlg.showModal !== "function") { return; }
    a.addEventListener("click", function (ev) { ev.preventDefault(); dlg.showModal(); });
    var cancel = dlg.querySelector("[data-dialog-cancel]");
    if (cancel) { cancel.addEventListener("click", function () { dlg.close(); }); }
  });

  // "Sync now" without leaving the page.
  var toast = document.querySelector("[data-toast]");
  function say(text, tone) {
    if (!toast) { return; }
    toast.className = "alert toast alert-" + (tone || "info");
    toast.querySelector("[data-toast-text]").textContent = text;
    toast.hidden = false;
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-async]"), function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var btn = form.querySelector("button[type=submit]");
      var label = btn.textContent;
      btn.disabled = true;
      btn.textContent = btn.getAttribute("data-busy-text") || "Working…";
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (resp) {
        return resp.json().then(function (j) { return { ok: resp.ok, j: j }; });
      }).then(function (r) {
        say(r.ok ? r.j.message : (r.j.error + ": " + r.j.message), r.ok ? "ok" : "bad");
      }, function () {
        say("Vitrine could not be reached. Check that it is running.", "bad");
      }).then(function () {
        btn.disabled = false;
        btn.textContent = label;
        refresh();
      });
    });
  });

  // Hide, show, pin and unpin without leaving the page: the answer is said
  // in the Posts section, whose list and counts are then fetched again as
  // the server renders them (order, counts and buttons change together).
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("form[data-moderate]")) { return; }
    var btn = ev.submitter;
    if (!btn || !btn.value) { return; } // no submitter (old browser): a plain POST
    ev.preventDefault();
    var item = form.closest("[data-post]");
    var id = item ? item.getAttribute("data-post") : "";
    var action = btn.value;
    var data = new FormData(form);
    data.set("action", action);
    var buttons = form.querySelectorAll("button");
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    // getAttribute: the buttons named "action" shadow form.action.
    fetch(form.getAttribute("action"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (resp) {
      return resp.json().then(function (j) { return { ok: resp.ok, j: j }; });
    }).then(function (r) {
      sayInPosts(r.ok ? r.j.message : (r.j.error + ". " + r.j.message), r.ok ? "ok" : "bad");
      // A refused link stays as typed, the wrong field marked, to correct.
      if (!r.ok && form.hasAttribute("data-keep-input")) {
        Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
        var field = r.j.field && form.querySelector("[name=\"" + r.j.field + "\"]");
        if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
        return;
      }
      return reloadPosts(id, action);
    }).then(null, function () {
      sayInPosts("Vitrine could not be reached. Check that it is running.", "bad");
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
    });
  });

  function sayInPosts(text, tone) {
    var box = document.querySelector("[data-posts-say]");
    if (!box) { say(text, tone); return; }
    box.className = "alert posts-say alert-" + tone;
    box.querySelector(".alert-icon").textContent = tone === "ok" ? "\u2713" : "!";
    box.querySelector("p").textContent = text;
    box.hidden = false;
  }

  // reloadPosts swaps in the list and counts as rendered now, and puts the
  // focus back on the post that was acted on.
  function reloadPosts(id, action) {
    return fetch("/admin", { credentials: "same-origin", cache: "no-store" }).then(function (resp) {
      if (!resp.ok) { throw new Error("dashboard " + resp.status); }
      return resp.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html");
      ["[data-posts-body]", "[data-posts-count]"].forEach(function (sel) {
        var now = document.querySelector(sel), next = fresh.querySelector(sel);
        if (now && next) { now.replaceWith(document.importNode(next, true)); }
      });
      var item = id && document.querySelector("[data-post=\"" + id + "\"]");
      var link = item && item.querySelector("details.post-link");
      if (link && (action === "save" || action === "remove")) { link.open = true; }
      var next = item && (item.querySelector("button[value=" + action + "]") || item.querySelector("button"));
      if (next) { next.focus(); }
    });
  }

  // --- Live status ---------------------------------------------------------
  var connected = body.getAttribute("data-connected") === "true";
  var username = body.getAttribute("data-username") || "";
  var parked = body.getAttribute("data-parked") || "";

  function get(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, obj);
  }

  function apply(s) {
    var user = s.account ? s.account.username : "";
    var waiting = s.parked ? s.parked.username : "";
    if (s.connected !== connected || user !== username || waiting !== parked) {
      window.location.reload(); // the page's layout changes: render it anew
      return;
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-bind]"), function (el) {
      var v = get(s, el.getAttribute("data-bind"));
      if (v === undefined || v === null) { return; }
      el.textContent = (el.getAttribute("data-prefix") || "") + v;
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-bind-title]"), function (el) {
      el.title = get(s, el.getAttribute("data-bind-title")) || "";
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-bind-tone]"), function (el) {
      el.setAttribute("data-tone", get(s, el.getAttribute("data-bind-tone")) || "muted");
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-bind-value]"), function (el) {
      el.value = get(s, el.getAttribute("data-bind-value")) || 0;
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-show]"), function (el) {
      el.hidden = !get(s, el.getAttribute("data-show"));
    });
    // Reconnect is the primary action only while reconnecting is needed.
    Array.prototype.forEach.call(document.querySelectorAll("[data-primary-when]"), function (el) {
      var on = !!get(s, el.getAttribute("data-primary-when"));
      el.classList.toggle("btn-primary", on);
      el.classList.toggle("btn-secondary", !on);
    });
    renderEvents(s.events || []);
    renderJobs(s.jobs || []);
  }

  function node(tag, cls, text) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    if (text != null) { el.textContent = text; }
    return el;
  }

  function timeEl(t) {
    var el = node("time", "", t.text);
    if (t.at) { el.setAttribute("datetime", t.at); }
    if (t.title) { el.title = t.title; }
    return el;
  }

  function renderEvents(events) {
    var list = document.querySelector("[data-events]");
    if (!list) { return; }
    list.textContent = "";
    if (!events.length) { list.appendChild(node("li", "event-empty muted", "Nothing has happened yet.")); return; }
    events.forEach(function (e) {
      var li = node("li", "event");
      li.setAttribute("data-level", e.level);
      var dot = node("span", "dot");
      dot.setAttribute("aria-hidden", "true");
      li.appendChild(dot);
      li.appendChild(node("span", "event-msg", e.message));
      li.appendChild(timeEl(e.at));
      list.appendChild(li);
    });
  }

  function renderJobs(jobs) {
    var tbody = document.querySelector("[data-jobs]");
    if (!tbody) { return; }
    tbody.textContent = "";
    if (!jobs.length) {
      var tr0 = node("tr"), td0 = node("td", "muted", "No jobs registered.");
      td0.colSpan = 4; tr0.appendChild(td0); tbody.appendChild(tr0);
      return;
    }
    jobs.forEach(function (j) {
      var tr = node("tr");
      var th = node("th", "", j.label);
      th.scope = "row";
      tr.appendChild(th);
      var td1 = node("td"); td1.appendChild(timeEl(j.last_run)); tr.appendChild(td1);
      var td2 = node("td"), res = node("span", "tone-text", j.result);
      res.setAttribute("data-tone", j.tone);
      td2.appendChild(res); tr.appendChild(td2);
      tr.appendChild(node("td", "", j.next_run.text));
      tbody.appendChild(tr);
    });
  }

  var inflight = false;
  function refresh() {
    if (inflight) { return; }
    inflight = true;
    fetch("/admin/status.json", { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (resp) {
        if (resp.status === 401) { window.location.href = "/admin/login"; return null; }
        // The database is away: the page that says so retries by itself.
        if (resp.status === 503) { window.location.reload(); return null; }
        return resp.ok ? resp.json() : null;
      })
      .then(function (s) { if (s) { apply(s); } }, function () { /* offline: try again next tick */ })
      .then(function () { inflight = false; });
  }

  var every = (parseInt(body.getAttribute("data-poll"), 10) || 5) * 1000;
  setInterval(function () { if (!document.hidden) { refresh(); } }, every);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
})();
