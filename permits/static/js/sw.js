// Service worker of the checkpoint scanner, served at /checkpoint/sw.js so that its scope is
// /checkpoint/. It keeps the app shell on the phone so the page opens and works without
// network; the page itself keeps the keys, the revocation list and the offline scans.
//
//   the page (/checkpoint/)  network first (fresh CSRF token and code), the cached copy when
//                            there is no network or no answer within PAGE_TIMEOUT_MS
//   the shell's files        cache first, refreshed in the background for the next visit
//   everything else          not touched (the API, other pages)
//
// VERSION is replaced when served (permits/views/checkpoint.py) by a digest of the static
// files (the decoder's among them), so every release with changed files installs a fresh shell;
// old caches are deleted on activation.

const VERSION = "checkpoint-shell-v1";
const PAGE_TIMEOUT_MS = 4000;

// Relative to this file (/checkpoint/sw.js), so that a deployment under a path prefix works.
const PAGE = new URL("./", self.location).href;
const SHELL = [
  "./manifest.webmanifest",
  "../static/css/app.css",
  "../static/js/scanner.js",
  "../static/js/pp1.js",
  "../static/js/offline.js",
  // The camera's decoder (jsQR in its worker). A worker's script is fetched by its own URL,
  // not as the page's: it must lie inside this scope to be answered from the cache offline.
  "./qr-worker.js",
  "../static/icons/checkpoint-192.png",
  "../static/icons/checkpoint-512.png",
].map((path) => new URL(path, self.location).href);

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(VERSION);
      await cache.addAll(SHELL);
      // The page only if it is the scanner itself, not a redirect to the log-in page.
      try {
        const page = await fetch(PAGE, { credentials: "same-origin" });
        if (page.ok && !page.redirected) await cache.put(PAGE, page);
      } catch {
        // It is cached on the next visit.
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("checkpoint-shell-") && name !== VERSION) await caches.delete(name);
      }
      // Take over the page that registered us, so its files load through the cache from now on.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  url.hash = "";
  if (url.origin !== self.location.origin) return;
  if (url.href === PAGE || (request.mode === "navigate" && url.href.split("?")[0] === PAGE)) {
    event.respondWith(pageNetworkFirst(request));
  } else if (SHELL.includes(url.href)) {
    event.respondWith(shellCacheFirst(request, event));
  }
});

async function pageNetworkFirst(request) {
  const cache = await caches.open(VERSION);
  const network = fetch(request).then(async (response) => {
    // A redirect (to log in) or an error page is passed on but never kept.
    if (response.ok && !response.redirected && response.type === "basic") {
      await cache.put(PAGE, response.clone());
    } else if (response.redirected || response.type === "opaqueredirect") {
      // Logged out: the copy of the page (with the last user's name) is no longer served.
      await cache.delete(PAGE);
    }
    return response;
  });
  network.catch(() => {}); // a late failure after the cached copy was served is no error
  const timeout = new Promise((resolve) => setTimeout(resolve, PAGE_TIMEOUT_MS, null));
  try {
    const response = await Promise.race([network, timeout]);
    if (response) return response;
  } catch {
    // no network
  }
  const cached = await cache.match(PAGE);
  if (cached) return cached;
  return network; // nothing cached yet: wait for the network after all (or fail)
}

async function shellCacheFirst(request, event) {
  const cache = await caches.open(VERSION);
  const cached = await cache.match(request, { ignoreSearch: true, ignoreVary: true });
  const refresh = fetch(request)
    .then(async (response) => {
      if (response.ok) await cache.put(request, response.clone());
      return response;
    })
    .catch(() => null);
  if (cached) {
    event.waitUntil(refresh);
    return cached;
  }
  return (await refresh) || Response.error();
}
