#!/usr/bin/env node
import { enableCompileCache } from 'node:module';
import { join } from 'node:path';
import { cacheDirectory } from '#cli/cache-directory.ts';

// V8's compiled code kept across runs, next to the blob-location cache: a run then loads its
// modules in about half the time (docs/performance.md, "Start-up"). Loaded after it, the program.
enableCompileCache(join(cacheDirectory(process.env), 'compile-cache'));
const { runCli } = await import('#cli/program.ts');
process.exitCode = await runCli(process.argv);
