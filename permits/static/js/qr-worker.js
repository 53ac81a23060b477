// Decodes camera frames with jsQR off the main thread, so the page stays responsive on a
// slow phone. The page posts {id, width, height, buffer} (RGBA pixels, transferred) and gets
// back {id, text} (text null when no QR code was found in that frame).
//
// Served as /checkpoint/qr-worker.js with jsQR (static/vendor/jsqr/jsQR.js) placed before it
// (permits/views/checkpoint.py): one script, inside the service worker's scope, so that it is
// answered from the phone's cache when the camera is first started without network.

/* global jsQR */

self.onmessage = (event) => {
  const { id, width, height, buffer } = event.data;
  let text = null;
  try {
    // Passes are dark on light, printed or on a screen: skipping the inverted attempt halves
    // the work per frame.
    const found = jsQR(new Uint8ClampedArray(buffer), width, height, { inversionAttempts: "dontInvert" });
    if (found && found.data) text = found.data;
  } catch {
    text = null;
  }
  self.postMessage({ id, text });
};

// Loaded, and jsQR with it: the page waits for this before it counts on the camera.
self.postMessage({ ready: typeof jsQR === "function" });
