// placard's service worker (a go-app ServiceWorkerTemplate).
//
// Static assets, app.wasm included, are cached at install and served from
// the cache: their URLs change with every version. Pages are never served
// from the cache, because they carry a screen's live code: they come from
// the network, and the offline page stands in when the edge server cannot
// be reached. The WebSocket, the admin pages and the APIs are left alone.
const cacheName = "placard-{{.Version}}";
const offlinePage = "/web/offline.html";
const resourcesToCache = {{.ResourcesToCache}}.filter((url) => url !== "/");

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(cacheName);
    // addAll fails on a list that names a URL twice, and a worker whose
    // install fails is thrown away: the list holds each URL once.
    await cache.addAll([...new Set([...resourcesToCache, offlinePage])]);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key !== cacheName) {
        await caches.delete(key);
      }
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith((async () => {
      try {
        return await fetch(request);
      } catch (err) {
        return (await caches.match(offlinePage)) || Response.error();
      }
    })());
    return;
  }
  if (url.pathname.startsWith("/web/") || resourcesToCache.includes(url.pathname)) {
    event.respondWith((async () => {
      return (await caches.match(request)) || fetch(request);
    })());
  }
});
