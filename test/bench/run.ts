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
 * Environment: BENCH_IMAGES (default 40), BENCH_REPEAT (default 3), BENCH_BIG_MIB (default 300),
 * BENCH_BURST (default 200), BENCH_ONLY (comma-separated: sync, copy, latency, faults, burst, enable,
 * shared).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CLI, cliNodeFlags } from '../support/cli.ts';
import { pushImage, randomLayer } from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { manifestDigest } from '../support/registry-reader.ts';
import setupTools, { scratchDir } from '../support/tools.ts';
import {
  burstToServe,
  enableBackfill,
  replicationLatency,
  sharedBaseBurst,
  underFaults,
} from './pipeline.ts';

const run = promisify(execFile);
const IMAGES = Number(process.env.BENCH_IMAGES ?? 40);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 300);

interface Measure {
  seconds: number;
  peakMiB: number;
}

/** Runs a command under GNU time for wall seconds and peak RSS. */
async function measure(command: string, args: string[]): Promise<Measure> {
  try {
    const { stderr } = await run('/usr/bin/time', ['-f', 'BENCH %e %M', command, ...args], {
      maxBuffer: 64 * 1024 * 1024,
    });
    const [, seconds, kib] = /BENCH ([\d.]+) (\d+)/.exec(stderr) ?? [];
    return { seconds: Number(seconds), peakMiB: Number(kib) / 1024 };
  } catch (error) {
    throw new Error(
      `${command} ${args.join(' ')} failed:\n${(error as { stderr?: string }).stderr ?? String(error)}`,
    );
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const crossdock = (args: string[]) => measure(process.execPath, [...cliNodeFlags(), CLI, ...args, '-q']);
const skopeo = (args: string[]) => measure('skopeo', args);

async function smallImages(source: TestRegistry): Promise<string[]> {
  const repositories = Array.from({ length: IMAGES }, (_, i) => `bench/app${i}`);
  for (const repository of repositories)
    await pushImage(`${source.host}/${repository}:v1`, { layerCount: 2, layerSize: 16 * 1024 });
  const dir = mkdtempSync(join(scratchDir(), 'crossdock-bench-'));
  const skopeoYaml = join(dir, 'skopeo.yaml');
  writeFileSync(
    skopeoYaml,
    `${source.host}:\n  tls-verify: false\n  images-by-tag-regex:\n${repositories.map((r) => `    ${r}: ".*"`).join('\n')}\n`,
  );
  const rows: string[] = [];
  const times = { crossdock: [] as number[], skopeo: [] as number[] };
  let checked = false;
  for (let round = 0; round < REPEAT; round++) {
    const [ours, theirs] = await Promise.all([startRegistry(), startRegistry()]);
    const config = join(dir, `crossdock-${round}.yaml`);
    writeFileSync(
      config,
      `registries:
  - { name: src, url: "${source.url}" }
  - { name: dst, url: "${ours.url}" }
policies:
  - { name: bench, source: { registry: src, project: bench }, destination: { registry: dst } }
limits: { runningJobs: 8, perDestination: 8, blobsPerJob: 4 }
`,
    );
    times.crossdock.push((await crossdock(['sync', '--config', config])).seconds);
    times.skopeo.push(
      (
        await skopeo([
          'sync',
          '--all',
          '--src',
          'yaml',
          '--dest',
          'docker',
          '--dest-tls-verify=false',
          skopeoYaml,
          theirs.host,
        ])
      ).seconds,
    );
    checked ||= (await manifestDigest(ours, repositories[0] as string, 'v1')) !== undefined;
    await Promise.all([ours.stop(), theirs.stop()]);
  }
  if (!checked) throw new Error('crossdock sync did not replicate the images');
  const ratio = median(times.crossdock) / median(times.skopeo);
  rows.push(
    `| ${IMAGES} small images, sync | ${median(times.crossdock).toFixed(2)} s | ${median(times.skopeo).toFixed(2)} s | ${ratio.toFixed(2)} × (target ≤ 0.7) |`,
  );
  return rows;
}

async function bigBlob(source: TestRegistry): Promise<string[]> {
  await pushImage(`${source.host}/bench/big:v1`, { layers: [await randomLayer(BIG_MIB * 1024 * 1024)] });
  const ours: Measure[] = [];
  const theirs: Measure[] = [];
  for (let round = 0; round < REPEAT; round++) {
    const [forUs, forThem] = await Promise.all([startRegistry(), startRegistry()]);
    ours.push(await crossdock(['copy', `${source.host}/bench/big:v1`, `${forUs.host}/bench/big:v1`]));
    theirs.push(
      await skopeo([
        'copy',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `docker://${source.host}/bench/big:v1`,
        `docker://${forThem.host}/bench/big:v1`,
      ]),
    );
    await Promise.all([forUs.stop(), forThem.stop()]);
  }
  const t = (m: Measure[]) => median(m.map((x) => x.seconds));
  const r = (m: Measure[]) => median(m.map((x) => x.peakMiB));
  return [
    `| ${BIG_MIB} MiB layer, copy | ${t(ours).toFixed(2)} s | ${t(theirs).toFixed(2)} s | ${(t(ours) / t(theirs)).toFixed(2)} × (target ≤ 1) |`,
    `| ${BIG_MIB} MiB layer, peak RSS | ${r(ours).toFixed(1)} MiB (${(r(ours) * 1.048576).toFixed(1)} MB) | ${r(theirs).toFixed(1)} MiB | target < 100 MB |`,
  ];
}

const removeScratch = setupTools();
const source = await startRegistry();
try {
  const rows = ['| case | crossdock | skopeo | ratio |', '| --- | --- | --- | --- |'];
  const only = process.env.BENCH_ONLY?.split(',');
  const wanted = (name: string) => !only || only.includes(name);
  if (wanted('sync')) rows.push(...(await smallImages(source)));
  if (wanted('copy')) rows.push(...(await bigBlob(source)));
  if (wanted('latency')) rows.push(...(await replicationLatency(10)));
  if (wanted('faults')) rows.push(...(await underFaults(20, 0.1)));
  if (wanted('burst')) rows.push(...(await burstToServe(Number(process.env.BENCH_BURST ?? 200))));
  const scratch = mkdtempSync(join(scratchDir(), 'crossdock-bench-'));
  const skopeoSync = async (yaml: string, destination: string) =>
    (
      await skopeo([
        'sync',
        '--all',
        '--src',
        'yaml',
        '--dest',
        'docker',
        '--dest-tls-verify=false',
        yaml,
        destination,
      ])
    ).seconds;
  if (wanted('enable')) rows.push(...(await enableBackfill(6, 10, skopeoSync, scratch)));
  if (wanted('shared')) rows.push(...(await sharedBaseBurst(8, 32, skopeoSync, scratch)));
  const { stdout } = await run('skopeo', ['--version']);
  console.log(`\ncrossdock vs ${stdout.trim()}, median of ${REPEAT} runs, ${new Date().toISOString()}\n`);
  console.log(rows.join('\n'));
} finally {
  await source.stop();
  removeScratch();
}
