import { execFileSync } from 'node:child_process';
import { cliNodeFlags } from '../support/cli.ts';
import { type Blob, type PushedImage, pushImage, randomLayer } from '../support/image-builder.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { describeCpu } from './cpu.ts';
import {
  countUploads,
  crossdockCopy,
  crossdockFanOutConfig,
  crossdockSync,
  crossdockSyncConfig,
  freshCache,
  type Measure,
  measure,
  median,
  REPEAT,
  skopeoCopy,
  skopeoSync,
  skopeoSyncedName,
  skopeoSyncFile,
} from './measure.ts';
import {
  type BurstVersusSync,
  burstVersusSync,
  checkArrived,
  distinctBlobBytes,
  type SourceImage,
  sharedBaseImages,
} from './pipeline.ts';
import { mb, type Row, type Side } from './report.ts';

/**
 * Issue 14's workloads, each run REPEAT times into fresh destination registries (one per tool
 * and run, so neither reuses what an earlier run left), crossdock as a new user runs it (default
 * limits, an empty blob-location cache):
 *   W1: R repositories × T tags, 4 layers × 4 MiB each, the 2 base layers shared by the tags of a
 *       repository: `crossdock sync` vs `skopeo sync`;
 *   W2: one image of 2 × 256 MiB layers: `crossdock copy` (as the bin runs it — its shebang carries no V8 flag since copies set theirs at run time — and as plain
 *       `node dist/crossdock.js`) vs `skopeo copy`, and the raw ceiling (curl);
 *   W3: W1 again into the destinations W1 filled: nothing to upload;
 *   W4: 20 repositories sharing one 64 MiB base, their notifications in a burst to `serve`;
 *   W5: W1's notifications in a burst to `serve`, vs `skopeo sync`.
 * Sizes (full size by default): BENCH_W1_REPOS, BENCH_W1_TAGS, BENCH_W1_MIB, BENCH_W2_MIB,
 * BENCH_W4_REPOS, BENCH_W4_MIB; BENCH_W_SCALE multiplies every layer size (0.1 while developing).
 * W2 runs BENCH_W2_REPEAT times (default: REPEAT + 2): a 512 MiB copy's time swings with the
 * machine by a third from one run to the next (curl's too), and its paired ratio needs more pairs.
 */

const knob = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SCALE = knob('BENCH_W_SCALE', 1);
export const SIZES = {
  w1: {
    repositories: knob('BENCH_W1_REPOS', 10),
    tags: knob('BENCH_W1_TAGS', 3),
    layerMiB: knob('BENCH_W1_MIB', 4) * SCALE,
  },
  w2: { layerMiB: knob('BENCH_W2_MIB', 256) * SCALE, repeat: knob('BENCH_W2_REPEAT', REPEAT + 2) },
  w4: { repositories: knob('BENCH_W4_REPOS', 20), baseMiB: knob('BENCH_W4_MIB', 64) * SCALE },
};
/** The sizes issue 14 names: a run at other sizes says so. */
export const FULL_SIZE =
  SIZES.w1.repositories === 10 &&
  SIZES.w1.tags === 3 &&
  SIZES.w1.layerMiB === 4 &&
  SIZES.w2.layerMiB === 256 &&
  SIZES.w4.repositories === 20 &&
  SIZES.w4.baseMiB === 64;

const bytesOf = (mib: number) => Math.round(mib * 1024 * 1024);
const mibText = (mib: number) => `${Number(mib.toFixed(2))} MiB`;
const rss = (m: Measure) => m.peakMiB * 1024 * 1024;
/** How the `log` count reads (measure.ts, countUploads). */
const FROM_LOG = 'blob bytes, from the completed uploads in the registry’s access log × the blob’s size';
const THROUGH_PROXY =
  'blob bytes, the upload bodies through a counting proxy (before each tool’s destination)';

/**
 * Runs `tasks` one after the other, starting at a different one each round; answers in the
 * tasks' order. Before each, what the one before wrote (hundreds of MiB in W2) goes to disk
 * (`sync`, not timed): otherwise the kernel's writeback of it runs during the next command and
 * makes the ratio of a pair depend on who went first.
 */
async function inTurn<T>(round: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  for (let k = 0; k < tasks.length; k++) {
    const i = (round + k) % tasks.length;
    execFileSync('sync');
    results[i] = await (tasks[i] as () => Promise<T>)();
  }
  return results;
}

let w1Pushed: Promise<SourceImage[]> | undefined;
/** W1's images at `source` (project w1), pushed once for W1, W3 and W5. */
function w1Images(source: TestRegistry): Promise<SourceImage[]> {
  w1Pushed ??= (async () => {
    const { repositories, tags, layerMiB } = SIZES.w1;
    const images: SourceImage[] = [];
    for (let r = 0; r < repositories; r++) {
      const repository = `w1/app${r}`;
      const base: Blob[] = [await randomLayer(bytesOf(layerMiB)), await randomLayer(bytesOf(layerMiB))];
      for (let t = 0; t < tags; t++) {
        const tag = `v${t}`;
        const image = await pushImage(`${source.host}/${repository}:${tag}`, {
          layers: base,
          layerCount: 2,
          layerSize: bytesOf(layerMiB),
        });
        images.push({ repository, tag, image });
      }
    }
    return images;
  })();
  return w1Pushed;
}

const w1Title = () => {
  const { repositories, tags, layerMiB } = SIZES.w1;
  return `${repositories} repos × ${tags} tags × 4 layers of ${mibText(layerMiB)} (2 shared per repo)`;
};

interface Runs {
  crossdock: Measure[];
  crossdockBytes: (number | undefined)[];
  skopeo: Measure[];
  skopeoBytes: (number | undefined)[];
}
const newRuns = (): Runs => ({ crossdock: [], crossdockBytes: [], skopeo: [], skopeoBytes: [] });
const side = (measures: Measure[], bytes: (number | undefined)[]): Side => ({
  seconds: measures.map((m) => m.seconds),
  peakRssBytes: measures.map(rss),
  bytes,
});

/**
 * W1 and W3: per run, `crossdock sync` and `skopeo sync` of W1's images each into a fresh empty
 * registry (bytes from the registries' access logs, nothing in the way); then, for W3, each again
 * into the registry it just filled, through a counting proxy (every upload byte, manifests too).
 */
export async function syncWorkloads(
  source: TestRegistry,
  scratch: string,
  wanted: { w1: boolean; w3: boolean },
): Promise<Row[]> {
  const images = await w1Images(source);
  const repositories = [...new Set(images.map((i) => i.repository))];
  const yaml = skopeoSyncFile(scratch, 'w1', source.host, repositories);
  const w1 = newRuns();
  const w3 = newRuns();
  for (let round = 0; round < REPEAT; round++) {
    const [ours, theirs] = await Promise.all([startRegistry(), startRegistry()]);
    try {
      const cache = freshCache();
      const [toOurs, toTheirs] = await Promise.all([countUploads(ours, 'log'), countUploads(theirs, 'log')]);
      const config = crossdockSyncConfig(scratch, `w1-${round}`, source.url, toOurs.url, 'w1');
      const [mine, skopeo] = await inTurn(round, [
        () => crossdockSync(config, { cacheHome: cache }),
        () => skopeoSync(yaml, toTheirs.host),
      ]);
      await checkArrived(ours, images, 'crossdock sync');
      await checkArrived(theirs, images, 'skopeo sync', skopeoSyncedName);
      w1.crossdock.push(mine as Measure);
      w1.skopeo.push(skopeo as Measure);
      w1.crossdockBytes.push(toOurs.blobBytes());
      w1.skopeoBytes.push(toTheirs.blobBytes());
      if (!wanted.w3) continue;
      const [again, skopeoAgain] = await Promise.all([
        countUploads(ours, 'proxy'),
        countUploads(theirs, 'proxy'),
      ]);
      try {
        const configAgain = crossdockSyncConfig(scratch, `w3-${round}`, source.url, again.url, 'w1');
        const [mineAgain, skopeoRun] = await inTurn(round, [
          () => crossdockSync(configAgain, { cacheHome: cache }),
          () => skopeoSync(yaml, skopeoAgain.host),
        ]);
        w3.crossdock.push(mineAgain as Measure);
        w3.skopeo.push(skopeoRun as Measure);
        w3.crossdockBytes.push(again.uploadedBytes());
        w3.skopeoBytes.push(skopeoAgain.uploadedBytes());
      } finally {
        await Promise.all([again.stop(), skopeoAgain.stop()]);
      }
    } finally {
      await Promise.all([ours.stop(), theirs.stop()]);
    }
  }
  const rows: Row[] = [];
  if (wanted.w1)
    rows.push({
      id: 'W1',
      title: `${w1Title()}: sync`,
      short: 'sync',
      crossdock: side(w1.crossdock, w1.crossdockBytes),
      skopeo: side(w1.skopeo, w1.skopeoBytes),
      distinctBytes: distinctBlobBytes(images),
      bytesWhat: FROM_LOG,
      rssOf: '(the bin)',
      target: { maxRatio: 0.7 },
      notes: ['crossdock: default limits, an empty blob-location cache, as a new user runs it'],
    });
  if (wanted.w3)
    rows.push({
      id: 'W3',
      title: 'W1 again, all present: sync',
      short: 'sync again, all present',
      crossdock: side(w3.crossdock, w3.crossdockBytes),
      skopeo: side(w3.skopeo, w3.skopeoBytes),
      bytesWhat:
        'all upload bytes (manifests too), the bodies through a counting proxy before each tool’s destination',
      rssOf: '(the bin)',
      target: { maxRatio: 1.0, maxBytes: 0, bytesText: '0 bytes' },
      notes: ['crossdock with the blob-location cache its W1 run left'],
    });
  return rows;
}

/**
 * One `sync` replicating W1's images into three registries at once (three policies: every
 * tag's blobs really copied three times, in one process), REPEAT runs: its peak RSS, which must
 * not grow with the number of tags a run copies (functions/lib/runtime/heap-limits.ts).
 * crossdock alone: a `skopeo sync` has one destination.
 */
export async function fanOutSync(source: TestRegistry, scratch: string): Promise<string[]> {
  const images = await w1Images(source);
  const runs: Measure[] = [];
  for (let round = 0; round < REPEAT; round++) {
    const destinations = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
    try {
      const urls = destinations.map((d) => d.url);
      runs.push(
        await crossdockSync(crossdockFanOutConfig(scratch, `fanout-${round}`, source.url, urls, 'w1')),
      );
      for (const destination of destinations) await checkArrived(destination, images, 'crossdock sync');
    } finally {
      await Promise.all(destinations.map((d) => d.stop()));
    }
  }
  const peaks = runs.map(rss);
  return [
    `| W1 into three registries at once (${images.length * 3} tags, ${mibText(
      (distinctBlobBytes(images) * 3) / 1024 / 1024,
    )}), sync: peak RSS | ${(median(peaks) / 1024 / 1024).toFixed(1)} MiB (${mb(median(peaks))}; max ${mb(
      Math.max(...peaks),
    )}) in ${median(runs.map((m) => m.seconds)).toFixed(2)} s | — | target < 100 MB |`,
  ];
}

/**
 * The raw ceiling of copying `image`: each blob a `curl` GET piped into a monolithic upload (POST
 * /v2/<repo>/blobs/uploads/, then one PUT ?digest= streaming the body), all blobs at once, then
 * the manifest: no hashing, no buffering, no retries.
 */
function rawCopy(
  source: TestRegistry,
  destination: TestRegistry,
  repository: string,
  tag: string,
  image: PushedImage,
) {
  const script = `set -euo pipefail
copy_blob() {
  local loc sep
  loc=$(curl -sS -f -X POST -D - -o /dev/null "$DST/v2/$REPO/blobs/uploads/" | tr -d '\\r' | sed -n 's/^[Ll]ocation: //p')
  case "$loc" in http*) ;; *) loc="$DST$loc" ;; esac
  case "$loc" in *\\?*) sep='&' ;; *) sep='?' ;; esac
  curl -sS -f "$SRC/v2/$REPO/blobs/$1" | curl -sS -f -X PUT -H 'Content-Type: application/octet-stream' -T - "$loc\${sep}digest=$1" -o /dev/null
}
pids=()
for digest in $DIGESTS; do copy_blob "$digest" & pids+=($!); done
for pid in "\${pids[@]}"; do wait "$pid"; done
curl -sS -f -H "Accept: $MEDIA" "$SRC/v2/$REPO/manifests/$TAG" |
  curl -sS -f -X PUT -H "Content-Type: $MEDIA" --data-binary @- "$DST/v2/$REPO/manifests/$TAG" -o /dev/null
`;
  return measure('bash', ['-c', script], {
    env: {
      ...process.env,
      SRC: source.url,
      DST: destination.url,
      REPO: repository,
      TAG: tag,
      MEDIA: image.mediaType,
      DIGESTS: image.blobs.map((b) => b.digest).join(' '),
    },
  });
}

/**
 * W2: per run, into fresh registries one after the other (a different one first each run):
 * `crossdock copy` as the bin runs it, `skopeo copy`, and the raw ceiling. The bin's shebang
 * carries no V8 flag (a copy sets its own at run time), so it is the same command as plain
 * `node dist/crossdock.js`, as a Lambda's Node runs the code; were flags ever put back on the
 * shebang, plain node is measured too, as a row of its own.
 */
export async function bigCopy(source: TestRegistry): Promise<Row[]> {
  const { layerMiB } = SIZES.w2;
  const repository = 'w2/big';
  const tag = 'v1';
  const image = await pushImage(`${source.host}/${repository}:${tag}`, {
    layers: [await randomLayer(bytesOf(layerMiB)), await randomLayer(bytesOf(layerMiB))],
  });
  const wanted: SourceImage[] = [{ repository, tag, image }];
  const from = `${source.host}/${repository}:${tag}`;
  const withPlain = cliNodeFlags().length > 0;
  const flags = newRuns();
  const plain = newRuns();
  const ceiling: number[] = [];
  for (let round = 0; round < SIZES.w2.repeat; round++) {
    const registries = await Promise.all(Array.from({ length: withPlain ? 4 : 3 }, () => startRegistry()));
    try {
      const [forSkopeo, forCeiling, forFlags, forPlain] = registries as [
        TestRegistry,
        TestRegistry,
        TestRegistry,
        TestRegistry | undefined,
      ];
      const counters = await Promise.all(registries.map((r) => countUploads(r, 'log')));
      const to = (r: TestRegistry) => `${r.host}/${repository}:${tag}`;
      const [skopeo, raw, withFlags, withoutFlags] = (await inTurn(round, [
        () => skopeoCopy(from, to(forSkopeo)),
        () => rawCopy(source, forCeiling, repository, tag, image),
        () => crossdockCopy(from, to(forFlags)),
        ...(forPlain ? [() => crossdockCopy(from, to(forPlain), { binFlags: false })] : []),
      ])) as [Measure, Measure, Measure, Measure | undefined];
      await checkArrived(forSkopeo, wanted, 'skopeo copy');
      await checkArrived(forCeiling, wanted, 'the raw copy');
      await checkArrived(forFlags, wanted, 'crossdock copy');
      const [skopeoBytes, , flagBytes, plainBytes] = counters.map((c) => c.blobBytes());
      for (const [runs, mine, bytes] of [
        [flags, withFlags, flagBytes],
        [plain, withoutFlags, plainBytes],
      ] as const) {
        if (mine === undefined || bytes === undefined) continue;
        runs.crossdock.push(mine);
        runs.crossdockBytes.push(bytes);
        runs.skopeo.push(skopeo);
        runs.skopeoBytes.push(skopeoBytes as number);
      }
      if (forPlain) await checkArrived(forPlain, wanted, 'crossdock copy (plain node)');
      ceiling.push(raw.seconds);
    } finally {
      await Promise.all(registries.map((r) => r.stop()));
    }
  }
  const title = `1 image, 2 layers × ${mibText(layerMiB)}: copy`;
  const distinctBytes = distinctBlobBytes(wanted);
  const target = { maxRatio: 1.0, maxRssMB: 100 };
  const binRow: Row = {
    id: 'W2',
    title: withPlain ? `${title} (the bin)` : `${title} (the bin = plain node, as a Lambda runs it)`,
    short: withPlain ? 'copy (the bin)' : 'copy',
    crossdock: side(flags.crossdock, flags.crossdockBytes),
    skopeo: side(flags.skopeo, flags.skopeoBytes),
    distinctBytes,
    bytesWhat: FROM_LOG,
    rssOf: withPlain ? '(the bin)' : '(the bin, no command-line flags)',
    target,
  };
  const plainRow: Row = {
    ...binRow,
    title: `${title} (plain node, as a Lambda)`,
    short: 'copy (plain node)',
    crossdock: side(plain.crossdock, plain.crossdockBytes),
    skopeo: side(plain.skopeo, plain.skopeoBytes),
    rssOf: '(plain node)',
  };
  return [
    binRow,
    ...(withPlain ? [plainRow] : []),
    {
      id: 'W2',
      title: 'raw ceiling: curl GET | monolithic PUT',
      short: 'raw ceiling (curl)',
      crossdock: { seconds: flags.crossdock.map((m) => m.seconds) },
      skopeo: { seconds: flags.skopeo.map((m) => m.seconds) },
      ceiling,
      target: {},
      notes: [
        'crossdock as the bin runs it; share = ceiling seconds ÷ the tool’s seconds (medians)',
        'the ceiling: per blob one curl GET piped into one PUT (chunked body), all blobs at once, then the manifest',
        'it is curl’s on this machine, not a physical bound: a tool may pass 100 %',
      ],
    },
  ];
}

/** REPEAT bursts of `images` to a fresh `serve` against `skopeo sync`, as one row. */
async function burstRow(
  source: TestRegistry,
  project: string,
  images: SourceImage[],
  options: { scratch: string; id: string; count: 'proxy' | 'log'; warm?: boolean },
): Promise<Omit<Row, 'title' | 'short' | 'target'>> {
  const runs: BurstVersusSync[] = [];
  for (let round = 0; round < REPEAT; round++)
    runs.push(
      await burstVersusSync(source, project, images, {
        scratch: options.scratch,
        name: `${options.id}-${round}`,
        count: options.count,
        warm: options.warm ?? false,
      }),
    );
  return {
    id: options.id.toUpperCase(),
    crossdock: {
      seconds: runs.map((r) => r.seconds),
      peakRssBytes: runs.map((r) => r.peakRssBytes),
      bytes: runs.map((r) => r.blobBytes),
    },
    skopeo: {
      seconds: runs.map((r) => r.skopeo.seconds),
      peakRssBytes: runs.map((r) => rss(r.skopeo)),
      bytes: runs.map((r) => r.skopeoBlobBytes),
    },
    distinctBytes: distinctBlobBytes(images),
    bytesWhat: options.count === 'proxy' ? THROUGH_PROXY : FROM_LOG,
    rssOf: '(serve, plain node)',
    notes: [
      'crossdock: first job recorded → last job ended; skopeo: the whole `skopeo sync`',
      `first notification posted → last job ended: ${runs.map((r) => r.postedToEndSeconds.toFixed(2)).join(', ')} s`,
      `deliveries sent again (429): ${runs.map((r) => r.retried).join(', ')}`,
      `machine CPU while serve worked: ${runs.map((r) => describeCpu(r.cpu, 'serve')).join('; ')}`,
      `while skopeo did: ${runs.map((r) => describeCpu(r.skopeoCpu, 'skopeo')).join('; ')}`,
    ],
  };
}

/** W4: repositories sharing one base, a burst to `serve`; bytes through counting proxies. */
export async function sharedBaseWorkload(source: TestRegistry, scratch: string): Promise<Row> {
  const { repositories, baseMiB } = SIZES.w4;
  const { images } = await sharedBaseImages(source, 'w4', repositories, baseMiB);
  const distinct = distinctBlobBytes(images);
  return {
    ...(await burstRow(source, 'w4', images, { scratch, id: 'w4', count: 'proxy' })),
    title: `${repositories} repos sharing one ${mibText(baseMiB)} base: burst to serve`,
    short: 'shared base, burst to serve',
    target: { maxBytes: distinct, bytesText: 'each blob once' },
  };
}

/**
 * W5: W1's notifications in a burst to `serve` (default limits); bytes from the access logs.
 * Twice: to a serve just started (cold: V8 compiles its code as the jobs run), and to one that
 * has replicated a burst before, as a running service has (warm).
 */
export async function w1Burst(source: TestRegistry, scratch: string): Promise<Row[]> {
  const images = await w1Images(source);
  const cold: Row = {
    ...(await burstRow(source, 'w1', images, { scratch, id: 'w5', count: 'log' })),
    title: `W1’s ${images.length} notifications: burst to serve`,
    short: 'W1, burst to serve',
    target: { maxRatio: 0.7 },
  };
  const warm = await burstRow(source, 'w1', images, { scratch, id: 'w5w', count: 'log', warm: true });
  return [
    cold,
    {
      ...warm,
      title: `W1’s ${images.length} notifications: burst to a serve warmed by one burst before`,
      short: 'W1, burst to warm serve',
      target: { maxRatio: 0.7 },
      notes: [
        'serve first replicates the same images, mounted under another project at the source, to another registry (pipeline.ts, warmUp); its CPU and time are not counted, its peak RSS is',
        ...(warm.notes ?? []),
      ],
    },
  ];
}
