/**
 * `npm run bench`: crossdock against skopeo on this machine, real registries on 127.0.0.1.
 *   1. many small images: `crossdock sync` vs `skopeo sync` (target: ≤ 0.7 × skopeo's time)
 *   2. one image with a 300 MiB layer: `crossdock copy` vs `skopeo copy` (target: as fast;
 *      peak RSS < 100 MB)
 * Each run copies into a fresh destination registry, one per tool, so neither can reuse what an
 * earlier run left (skopeo keeps a blob-location cache and would mount from it); medians are printed.
 *   3. the pipeline (`crossdock serve`): push-to-replica latency, 10 % injected registry
 *      faults, a burst of notifications, and a policy enabled over 6 repositories × 10 tags
 *      against `skopeo sync` of the same (test/bench/pipeline.ts)
 *   4. issue 14's workloads W1 … W5 (test/bench/workloads.ts): one more table, with a target
 *      and whether it is met computed from the numbers, written to bench-results/ as JSON
 *      (bench-<time>.json, latest.json) and an SVG chart (latest.svg)
 *   5. W1 synced into three registries by one `crossdock sync` (90 tags): its peak RSS, which
 *      must not grow with the tag count (< 100 MB)
 * Environment: BENCH_IMAGES (default 40), BENCH_REPEAT (default 3), BENCH_BIG_MIB (default 300),
 * BENCH_BURST (default 200), BENCH_ONLY (comma-separated: sync, copy, latency, faults, burst, enable,
 * shared, w1, w2, w3, w4, w5, fanout), the workloads' sizes (workloads.ts), BENCH_COMMAND_TIMEOUT_S (one
 * measured command, default 900), BENCH_W_TIMEOUT_S (one workload, default 3600), BENCH_TIMELINE=1
 * (each burst job's substates and their times, on stderr).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pushImage, randomLayer } from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';
import setupTools, { scratchDir } from '../support/tools.ts';
import {
  crossdockCopy,
  crossdockSync,
  crossdockSyncConfig,
  describeRatio,
  type Measure,
  median,
  REPEAT,
  skopeoCopy,
  skopeoSync,
  skopeoSyncFile,
} from './measure.ts';
import {
  burstToServe,
  enableBackfill,
  replicationLatency,
  sharedBaseBurst,
  underFaults,
} from './pipeline.ts';
import { markdownTable, mb, type Row, type Summary, summarize, tableNotes, writeResults } from './report.ts';
import {
  bigCopy,
  FULL_SIZE,
  fanOutSync,
  SIZES,
  sharedBaseWorkload,
  syncWorkloads,
  w1Burst,
} from './workloads.ts';

const run = promisify(execFile);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 40);
const BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 300);
/** Longest one workload (W1 … W5, all its runs) may take before the bench gives up on it. */
const WORKLOAD_TIMEOUT_MS = Number(process.env.BENCH_W_TIMEOUT_S ?? 3600) * 1000;

async function smallImages(source: TestRegistry, scratch: string): Promise<string[]> {
  const repositories = Array.from({ length: IMAGES }, (_, i) => `bench/app${i}`);
  for (const repository of repositories)
    await pushImage(`${source.host}/${repository}:v1`, { layerCount: 2, layerSize: 16 * 1024 });
  const skopeoYaml = skopeoSyncFile(scratch, 'sync', source.host, repositories);
  const times = { crossdock: [] as number[], skopeo: [] as number[] };
  let checked = false;
  for (let round = 0; round < REPEAT; round++) {
    const [ours, theirs] = await Promise.all([startRegistry(), startRegistry()]);
    try {
      const config = crossdockSyncConfig(scratch, `sync-${round}`, source.url, ours.url, 'bench', {
        runningJobs: 8,
        perDestination: 8,
        blobsPerJob: 4,
      });
      times.crossdock.push((await crossdockSync(config)).seconds);
      times.skopeo.push((await skopeoSync(skopeoYaml, theirs.host)).seconds);
      checked ||= (await manifestDigest(ours, repositories[0] as string, 'v1')) !== undefined;
    } finally {
      await Promise.all([ours.stop(), theirs.stop()]);
    }
  }
  if (!checked) throw new Error('crossdock sync did not replicate the images');
  return [
    `| ${IMAGES} small images, sync | ${median(times.crossdock).toFixed(2)} s | ${median(times.skopeo).toFixed(2)} s | ${describeRatio(times.crossdock, times.skopeo)} (target ≤ 0.7) |`,
  ];
}

async function bigBlob(source: TestRegistry): Promise<string[]> {
  await pushImage(`${source.host}/bench/big:v1`, { layers: [await randomLayer(BIG_MIB * 1024 * 1024)] });
  const ours: Measure[] = [];
  const theirs: Measure[] = [];
  for (let round = 0; round < REPEAT; round++) {
    const [forUs, forThem] = await Promise.all([startRegistry(), startRegistry()]);
    try {
      ours.push(await crossdockCopy(`${source.host}/bench/big:v1`, `${forUs.host}/bench/big:v1`));
      theirs.push(await skopeoCopy(`${source.host}/bench/big:v1`, `${forThem.host}/bench/big:v1`));
    } finally {
      await Promise.all([forUs.stop(), forThem.stop()]);
    }
  }
  const t = (m: Measure[]) => median(m.map((x) => x.seconds));
  const r = (m: Measure[]) => median(m.map((x) => x.peakMiB));
  return [
    `| ${BIG_MIB} MiB layer, copy | ${t(ours).toFixed(2)} s | ${t(theirs).toFixed(2)} s | ${describeRatio(
      ours.map((m) => m.seconds),
      theirs.map((m) => m.seconds),
    )} (target ≤ 1) |`,
    `| ${BIG_MIB} MiB layer, peak RSS | ${r(ours).toFixed(1)} MiB (${mb(r(ours) * 1024 * 1024)}) | ${r(theirs).toFixed(1)} MiB | target < 100 MB |`,
  ];
}

const RESULTS_DIR = join(import.meta.dirname, '..', '..', 'bench-results');
const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim().toLowerCase());
const wanted = (name: string) => !only || only.includes(name);
const skopeoVersion = (await run('skopeo', ['--version'])).stdout.trim();
const commit = await run('git', ['rev-parse', '--short', 'HEAD'], { cwd: import.meta.dirname }).then(
  (r) => r.stdout.trim(),
  () => 'unknown',
);
const started = new Date().toISOString();
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const loadAtStart = load();
const meta = () => ({
  date: started,
  finished: new Date().toISOString(),
  runs: REPEAT,
  skopeo: skopeoVersion,
  node: process.version,
  commit,
  machine: `${cpus().length} cores, load ${loadAtStart} at the start, ${load()} at the end`,
  sizes: SIZES,
  fullSize: FULL_SIZE,
});
const otherRows = ['| case | crossdock | skopeo | ratio |', '| --- | --- | --- | --- |'];
const summaries: Summary[] = [];

/** Prints the workloads' table and writes the JSON and the chart: at the end, or when a workload ran out of time. */
function report(): void {
  if (otherRows.length > 2) {
    console.log(`\ncrossdock vs ${skopeoVersion}, median of ${REPEAT} runs, ${started}\n`);
    console.log(otherRows.join('\n'));
  }
  if (summaries.length === 0) return;
  console.log(
    `\nWorkloads (issue 14), crossdock vs ${skopeoVersion}, median of ${REPEAT} runs (W2: ${SIZES.w2.repeat}), ${started}${FULL_SIZE ? '' : ' — REDUCED SIZES, not the issue’s'}\n`,
  );
  console.log(markdownTable(summaries));
  console.log(`\n${tableNotes(summaries)}`);
  const files = writeResults(RESULTS_DIR, { meta: meta(), summaries, otherRows: otherRows.slice(2) });
  console.log(`\n${files.join('\n')}`);
}

/**
 * Runs one workload: a failure becomes a failed row and the bench goes on; running past
 * WORKLOAD_TIMEOUT_MS ends the bench (what hangs cannot be stopped and would distort the rest).
 */
async function workload(id: string, title: string, measure: () => Promise<Row[]>): Promise<void> {
  const timer = setTimeout(() => {
    console.error(
      `\n${id} did not finish within ${WORKLOAD_TIMEOUT_MS / 1000} s (BENCH_W_TIMEOUT_S): giving up`,
    );
    summaries.push(
      summarize({ id, title, short: title, crossdock: { seconds: [] }, target: {}, error: 'timed out' }),
    );
    report();
    process.exit(1);
  }, WORKLOAD_TIMEOUT_MS);
  try {
    summaries.push(...(await measure()).map(summarize));
  } catch (error) {
    process.exitCode = 1;
    console.error(
      `\n${id} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    summaries.push(
      summarize({
        id,
        title,
        short: title,
        crossdock: { seconds: [] },
        target: {},
        error: error instanceof Error ? error.message : String(error),
      }),
    );
  } finally {
    clearTimeout(timer);
  }
}

// Ctrl-C or a kill: exit, so that the registries, serves and measured commands are killed too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

const removeScratch = setupTools();
// Also when a workload ran out of time and the bench exits in the middle of it.
process.once('exit', removeScratch);
const source = await startRegistry();
try {
  const scratch = mkdtempSync(join(scratchDir(), 'crossdock-bench-'));
  if (wanted('sync')) otherRows.push(...(await smallImages(source, scratch)));
  if (wanted('copy')) otherRows.push(...(await bigBlob(source)));
  if (wanted('latency')) otherRows.push(...(await replicationLatency(10)));
  if (wanted('faults')) otherRows.push(...(await underFaults(20, 0.1)));
  if (wanted('burst')) otherRows.push(...(await burstToServe(Number(process.env.BENCH_BURST ?? 200))));
  if (wanted('enable')) otherRows.push(...(await enableBackfill(6, 10, scratch)));
  if (wanted('shared')) otherRows.push(...(await sharedBaseBurst(source, 8, 32, scratch)));
  if (wanted('w1') || wanted('w3'))
    await workload('W1/W3', 'sync, then sync again', () =>
      syncWorkloads(source, scratch, { w1: wanted('w1'), w3: wanted('w3') }),
    );
  if (wanted('w2')) await workload('W2', 'copy', () => bigCopy(source));
  if (wanted('w4'))
    await workload('W4', 'shared base, burst to serve', async () => [
      await sharedBaseWorkload(source, scratch),
    ]);
  if (wanted('w5')) await workload('W5', 'W1 burst to serve', () => w1Burst(source, scratch));
  if (wanted('fanout')) otherRows.push(...(await fanOutSync(source, scratch)));
  report();
} finally {
  await source.stop();
  removeScratch();
}
