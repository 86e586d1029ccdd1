#!/usr/bin/env node
import { enableCompileCache } from 'node:module';
import { join } from 'node:path';
import { cacheDirectory } from '#cli/cache-directory.ts';

// node:sqlite (the local queue's store) warns at every `serve` start that it is experimental: a
// newcomer's first line of output, about nothing they can act on. That warning alone is dropped;
// every other goes to Node's own printer.
const printWarning = process.listeners('warning');
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'ExperimentalWarning' && warning.message.startsWith('SQLite')) return;
  for (const print of printWarning) print(warning);
});

// V8's compiled code kept across runs, next to the blob-location cache: a run then loads its
// modules in about half the time (docs/performance.md, "Start-up"). Loaded after it, the program.
enableCompileCache(join(cacheDirectory(process.env), 'compile-cache'));
const { runCli } = await import('#cli/program.ts');
process.exitCode = await runCli(process.argv);
