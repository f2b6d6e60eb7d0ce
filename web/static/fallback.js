// placard's screen without its WebAssembly.
//
// On a browser that has no WebAssembly (TVs from before 2017), cannot start
// it (too little memory), or cannot run go-app's loader (an old engine),
// nothing else updates the page the edge server rendered. This script asks
// the server for the page again every few seconds (the period is the
// page's own: meta placard-refresh) and puts the new screen in place of the
// old one. When the server cannot be reached, the last screen stays,
// dimmed and marked as reconnecting, and the script keeps trying.
//
// It does nothing once the Wasm has started (it sets
// window.placardWasmStarted first thing).
//
// ECMAScript 5 only, for old engines: no let or const, no arrow functions,
// no promises, no fetch: `make test` parses this file as ES5.
(function () {
  "use strict";

  // The Wasm has this long to start before the script takes over.
  var startAfter = 4000;
  // A request that takes longer has failed.
  var requestTimeout = 15000;
  // The longest wait between two tries while the server is unreachable.
  var retryAtMost = 10000;

  var every = period(document);

  function wasmStarted() {
    return window.placardWasmStarted === true;
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
    setTimeout(refresh, ms);
  }

  function refresh() {
    if (wasmStarted()) {
      return;
    }
    var xhr = new XMLHttpRequest();
    var done = false;
    var timer = setTimeout(function () {
      if (!done) {
        done = true;
        xhr.abort();
        unreachable();
      }
    }, requestTimeout);
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4 || done) {
        return;
      }
      done = true;
      clearTimeout(timer);
      if (wasmStarted()) {
        return;
      }
      if (xhr.status !== 200 || !show(xhr.responseText)) {
        unreachable();
        return;
      }
      later(every);
    };
    xhr.open("GET", window.location.href, true);
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

  // unreachable marks the shown screen as the Wasm does when it loses the
  // server, and tries again.
  function unreachable() {
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
    later(Math.min(every, retryAtMost));
  }

  later(Math.max(every, startAfter));
})();
