import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * CPU time spent while a measured run goes, read from /proc (Linux): the whole machine's busy
 * time and who spent it. On a small machine a burst keeps every core busy, and the registries'
 * own work (hashing and writing what they receive) is a fixed share of it whoever drives them:
 * this is what says how close a run is to what the machine can do (docs/performance.md).
 */
export interface CpuUse {
  /** Busy CPU seconds of the whole machine (all cores). */
  busySeconds: number;
  /** Busy share of all cores, 0–1. */
  share: number;
  cores: number;
  /** CPU seconds of `docker-registry` processes. */
  registrySeconds: number;
  /** CPU seconds of the watched process (`serve`), its threads included. */
  watchedSeconds: number | undefined;
  /** CPU seconds of this process's children that ended meanwhile (a `skopeo` run). */
  endedChildrenSeconds: number;
}

const TICKS_PER_SECOND = 100;

interface Snapshot {
  machine: { total: number; idle: number };
  processes: Map<string, { name: string; ticks: number }>;
  endedChildren: number;
}

function machineTicks() {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { total: fields.reduce((sum, n) => sum + n, 0), idle: (fields[3] ?? 0) + (fields[4] ?? 0) };
}

/** utime + stime (fields 14, 15) and, with `children`, cutime + cstime (16, 17) of /proc/<pid>/stat. */
function processStat(pid: string): { name: string; ticks: number; children: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return {
      name,
      ticks: (fields[11] ?? 0) + (fields[12] ?? 0),
      children: (fields[13] ?? 0) + (fields[14] ?? 0),
    };
  } catch {
    return undefined; // ended meanwhile
  }
}

function snapshot(): Snapshot {
  const processes = new Map<string, { name: string; ticks: number }>();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const stat = processStat(pid);
    if (stat) processes.set(pid, stat);
  }
  return { machine: machineTicks(), processes, endedChildren: processStat('self')?.children ?? 0 };
}

/** Starts counting; `stop` answers what was spent since, `watched` naming the process to single out. */
export function startCpuMeter(): { stop(watched?: number): CpuUse } {
  const before = snapshot();
  return {
    stop(watched) {
      const after = snapshot();
      const spent = (pid: string) =>
        (after.processes.get(pid)?.ticks ?? 0) - (before.processes.get(pid)?.ticks ?? 0);
      let registry = 0;
      for (const [pid, { name }] of after.processes) if (name === 'docker-registry') registry += spent(pid);
      const total = after.machine.total - before.machine.total;
      const busy = total - (after.machine.idle - before.machine.idle);
      return {
        busySeconds: busy / TICKS_PER_SECOND,
        share: total > 0 ? busy / total : 0,
        cores: availableParallelism(),
        registrySeconds: registry / TICKS_PER_SECOND,
        watchedSeconds: watched === undefined ? undefined : spent(String(watched)) / TICKS_PER_SECOND,
        endedChildrenSeconds: (after.endedChildren - before.endedChildren) / TICKS_PER_SECOND,
      };
    },
  };
}

/** `9.3 CPU s (90 % of 2 cores): serve 5.2, registries 4.0`. */
export function describeCpu(use: CpuUse, watchedName: string): string {
  const parts = [
    ...(use.watchedSeconds === undefined ? [] : [`${watchedName} ${use.watchedSeconds.toFixed(1)}`]),
    ...(use.endedChildrenSeconds > 0.05 ? [`${watchedName} ${use.endedChildrenSeconds.toFixed(1)}`] : []),
    `registries ${use.registrySeconds.toFixed(1)}`,
  ];
  return `${use.busySeconds.toFixed(1)} CPU s (${Math.round(use.share * 100)} % of ${use.cores} cores): ${parts.join(', ')}`;
}
