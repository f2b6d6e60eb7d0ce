// placard's screen without its WebAssembly.
//
// On a browser that has no WebAssembly (TVs from before 2017), cannot start
// it (too little memory), or cannot run go-app's loader (an old engine),
// nothing else updates the page the edge server rendered. This script asks
// the server for the page again every few seconds (the period is the
// page's own: meta placard-refresh) and puts the new screen in place of the
// old one. When the server cannot be reached, the last screen stays,
// dimmed and marked as reconnecting, and the script keeps trying, with the
// screens' backoff (exponential with full jitter, as the Wasm's: app/wire's
// Reconnect), and never before a busy server's Retry-After: a restarted
// server is not asked by every screen at once.
//
// It does nothing while the Wasm runs (it sets window.placardWasmStarted
// first thing), and takes over at once if the Wasm's Go program ends: a
// panic ends it, and the page would stay as it was forever.
//
// ECMAScript 5 only, for old engines: no let or const, no arrow functions,
// no promises, no fetch: `make test` parses this file as ES5.
(function () {
  "use strict";

  // Where the Wasm cannot start (no WebAssembly, or go-app's loader said it
  // failed), the script takes over at once; where it may still be loading
  // (a slow download on a TV, a busy processor), it waits this long first,
  // so that it never replaces a screen the Wasm is about to run.
  var waitForWasm = 30000;
  // How often the script looks whether the Wasm started or failed.
  var lookEvery = 1000;
  // A request that takes longer has failed.
  var requestTimeout = 15000;
  // The backoff while the server is unreachable or busy: the window of
  // the first try, doubling up to the last (wire.Reconnect's First and
  // Max, in milliseconds).
  var retryFirst = 1000;
  var retryMax = 30000;
  // Tries that failed since the server last answered with a page.
  var failures = 0;

  var every = period(document);
  // The next refresh, when one is planned.
  var planned = null;
  // Whether the Go program of the Wasm has ended (see watchGoExit).
  var goExited = false;

  function wasmStarted() {
    return window.placardWasmStarted === true;
  }

  // wasmRuns reports a Wasm that started and whose program still runs.
  function wasmRuns() {
    return wasmStarted() && !goExited;
  }

  // watchGoExit notes when the Wasm's Go program ends. go-app's loader
  // (v10.1.11, app.js) starts it with go.run(instance) of Go's
  // wasm_exec.js, whose promise settles only when the program exits (a
  // panic exits it with code 2; go-app's main never returns) or cannot
  // start; the loader ignores it. This script runs after wasm_exec.js and
  // app.js (all three are deferred, in that order) and before go.run is
  // called, which waits for app.wasm to arrive and compile (were it ever
  // later, it would not see an end, as before). The wrapper returns
  // go.run's own promise: nothing changes while the program runs.
  function watchGoExit() {
    if (typeof Go !== "function" || !Go.prototype || typeof Go.prototype.run !== "function") {
      return;
    }
    var run = Go.prototype.run;
    Go.prototype.run = function () {
      var done = run.apply(this, arguments);
      if (done && typeof done.then === "function") {
        done.then(goEnded, function (err) {
          // Handled here, so reported here as the browser would have.
          if (window.console && console.error) {
            console.error("placard: the screen's program could not run:", err);
          }
          goEnded();
        });
      }
      return done;
    };
  }

  function goEnded() {
    if (!goExited) {
      goExited = true;
      later(0);
    }
  }

  // wasmCannotStart reports a browser without WebAssembly, or a loader that
  // gave up: go-app's loader (v10.1.11, app.js) stops its icon spinning when
  // instantiating the Wasm throws.
  function wasmCannotStart() {
    if (typeof WebAssembly !== "object") {
      return true;
    }
    var icon = document.getElementById("app-wasm-loader-icon");
    return !!icon && icon.className.indexOf("spin") < 0;
  }

  // wait looks, every lookEvery, whether the Wasm started (nothing to do),
  // cannot start or has had its time (the script takes over).
  function wait(waited) {
    if (wasmStarted() || goExited) {
      return;
    }
    if (wasmCannotStart() || waited >= waitForWasm) {
      refresh();
      return;
    }
    setTimeout(function () {
      wait(waited + lookEvery);
    }, lookEvery);
  }

  function screenOf(doc) {
    return doc.querySelector('[data-testid="screen"]');
  }

  // period is the page's refresh period in milliseconds.
  function period(doc) {
    var meta = doc.querySelector('meta[name="placard-refresh"]');
    var seconds = meta ? parseInt(meta.getAttribute("content"), 10) : NaN;
    if (isNaN(seconds) || seconds < 1) {
      return 5000;
    }
    return seconds * 1000;
  }

  function later(ms) {
    clearTimeout(planned);
    planned = setTimeout(refresh, ms);
  }

  function refresh() {
    planned = null;
    if (wasmRuns()) {
      return;
    }
    var xhr = new XMLHttpRequest();
    var done = false;
    var timer = setTimeout(function () {
      if (!done) {
        done = true;
        xhr.abort();
        unreachable(0);
      }
    }, requestTimeout);
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4 || done) {
        return;
      }
      done = true;
      clearTimeout(timer);
      if (wasmRuns()) {
        return;
      }
      if (xhr.status !== 200 || !show(xhr.responseText)) {
        unreachable(xhr.status === 503 ? retryAfter(xhr) : 0);
        return;
      }
      failures = 0;
      later(every);
    };
    xhr.open("GET", window.location.href, true);
    // Tells the server this screen is shown without its Wasm: its
    // reloads are all that shows it is there (the fleet's "online").
    xhr.setRequestHeader("X-Placard-Fallback", "1");
    xhr.send();
  }

  // show puts the screen of a page the server rendered in place of the
  // shown one, and reports whether the page had one.
  function show(html) {
    var doc = document.implementation.createHTMLDocument("");
    doc.documentElement.innerHTML = html;
    var next = screenOf(doc);
    var shown = screenOf(document);
    if (!next || !shown) {
      return false;
    }
    shown.parentNode.replaceChild(document.importNode(next, true), shown);
    var lang = /<html[^>]*\slang="([^"]*)"/.exec(html);
    if (lang) {
      document.documentElement.setAttribute("lang", lang[1]);
    }
    every = period(doc);
    return true;
  }

  // retryAfter is a 503's Retry-After in milliseconds (whole seconds;
  // 0 when it says none).
  function retryAfter(xhr) {
    var seconds = parseInt(xhr.getResponseHeader("Retry-After"), 10);
    return isNaN(seconds) || seconds < 0 ? 0 : seconds * 1000;
  }

  // backoff is the wait before try n after a loss, as wire.Backoff's After:
  // drawn between a quarter of the first window and the window of try n,
  // and never before the server's Retry-After (spread over a quarter of
  // it more).
  function backoff(n, after) {
    var span = retryMax;
    if (n <= 30 && retryFirst * Math.pow(2, n - 1) < retryMax) {
      span = retryFirst * Math.pow(2, n - 1);
    }
    var u = Math.random();
    var floor = retryFirst / 4;
    var wait = floor + u * (span - floor);
    var spread = after + u * after / 4;
    return spread > wait ? spread : wait;
  }

  // unreachable marks the shown screen as the Wasm does when it loses the
  // server, and tries again after the backoff (or after, in milliseconds,
  // when the server said when).
  function unreachable(after) {
    var shown = screenOf(document);
    if (shown && shown.getAttribute("data-state") !== "reconnecting") {
      shown.setAttribute("data-state", "reconnecting");
      shown.className += " dimmed";
      var banner = document.createElement("div");
      banner.className = "banner";
      banner.setAttribute("role", "status");
      banner.appendChild(document.createTextNode(decodeURIComponent(shown.getAttribute("data-reconnecting") || "")));
      shown.appendChild(banner);
    }
    failures++;
    later(backoff(failures, after));
  }

  watchGoExit();
  wait(0);
})();
