/** Deferring work past the first paint: the lazy diff rows and the file list use it. */

/** Run `fn` when the page is idle (or soon, where requestIdleCallback is missing). */
export function later(fn: () => void): void {
  if (typeof window.requestIdleCallback === 'function') {
    window.requestIdleCallback(fn, { timeout: 1000 });
  } else {
    window.setTimeout(fn, 16);
  }
}
