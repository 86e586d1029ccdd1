import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiTokenFor } from './api-tokens.ts';
import { scratchDir } from './tools.ts';

/**
 * Runs the built CLI (`dist/crossdock.js`) as users do: with `process.execPath` and the Node
 * flags its shebang line carries, so memory figures are those of the real command.
 */

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'crossdock.js');

/** The Node flags of the built CLI's shebang line (`#!/usr/bin/env -S node …`). */
export function cliNodeFlags(): string[] {
  const first = readFileSync(CLI, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\/usr\/bin\/env -S node(.*)$/.exec(first);
  return match ? (match[1] ?? '').trim().split(/\s+/).filter(Boolean) : [];
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Peak resident memory of the process in bytes (VmHWM, read until it exited). */
  peakRss: number;
}

/**
 * The environment of a CLI run: the token of the crossdock its `--api` names, unless the test
 * gives a token itself (`--token`, or CROSSDOCK_API_TOKEN in `env`, even empty); a cache folder
 * of its own (`copy` and `sync` keep blob locations there), unless the test gives XDG_CACHE_HOME
 * to share one between runs — never the user's ~/.cache.
 */
function environmentFor(args: string[], env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const api = args[args.indexOf('--api') + 1];
  const token = args.includes('--api') && api !== undefined ? apiTokenFor(api) : undefined;
  const givesToken = args.includes('--token') || 'CROSSDOCK_API_TOKEN' in env;
  return {
    ...process.env,
    DOCKER_CONFIG: '/nonexistent',
    XDG_CACHE_HOME: mkdtempSync(join(scratchDir(), 'crossdock-cache-')),
    ...(token !== undefined && !givesToken ? { CROSSDOCK_API_TOKEN: token } : {}),
    ...env,
  };
}

export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliNodeFlags(), CLI, ...args], {
      env: environmentFor(args, options.env),
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let peakRss = 0;
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const sample = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
        peakRss = Math.max(peakRss, kb * 1024);
      } catch {
        // exited
      }
    }, 25);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sample);
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, peakRss });
    });
  });
}
