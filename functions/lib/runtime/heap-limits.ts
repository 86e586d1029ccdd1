import { setFlagsFromString } from 'node:v8';

/**
 * Keeps a copy's memory flat whatever the blob size, also where no command-line flag can be
 * given (a Lambda; `node dist/crossdock.js`). Measured on a 300 MiB copy (docs/performance.md,
 * "Memory"): the JS heap holds ~13 MiB, but the stream's allocation rate (objects per 64 KiB
 * chunk) makes V8 grow its young generation to 2 × 16 MiB, which it keeps committed, and
 * TurboFan's compilations of the hot streaming path add more: 116–122 MiB of RSS in all. With
 * the young generation left at its initial size and no optimising compiler, 88–90 MiB, at the
 * same speed (the hashing and the IO are native). V8 reads both flags when it next needs them,
 * so setting them at start, before the first copy, is enough.
 *
 * undici parses HTTP with llhttp compiled to WebAssembly, which V8 compiled a second time with
 * TurboFan in the background: the compiler's memory was most of the ~18 MB undici added at
 * start. Liftoff (V8's baseline compiler for WebAssembly) alone keeps it out: a `sync` with
 * nothing to copy peaks at 70–72 MB instead of 88–89, the 300 MiB copy at 79 MB instead of
 * 89–91, at the same speed (a body is handed over in spans, not parsed byte by byte). Set
 * before undici loads.
 *
 * With the young generation that small, objects still in flight at two scavenges in a row (a
 * chunk waiting for its socket write, a request's state) move to the old generation and die
 * there, each chunk holding its 64 KiB until the next major GC. V8 lets the old generation grow
 * to up to four times what was live after a major GC before it runs the next, so a `sync`
 * grew with its tag count, not its blob sizes: 90 tags of 4 MiB layers peaked at 108–113 MiB
 * (the heap's garbage 13 → 28 MB, buffers 4 → 23 MB), against 83–90 for W1's 30. The next major
 * GC at 1.5 × the live heap (there, 16 of 2–16 ms in 10 s) keeps it at 87 MiB, at the same
 * speed (docs/performance.md, "Memory"). V8 reads it at each major GC. Not for `serve`: its
 * pipeline's JS is hot, and the extra major GCs cost it 10–20 % of its speed on two cores.
 */
export function keepHeapSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--heap-growing-percent=50');
  setFlagsFromString('--no-opt');
  setFlagsFromString('--liftoff-only');
}
