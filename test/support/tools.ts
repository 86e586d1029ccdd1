import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Vitest global setup of the integration tests: the real registry and skopeo come from
 * Debian's packages, installed here when missing (the tests run as root on a fresh machine).
 */
const TOOLS: Record<string, string> = {
  'docker-registry': 'docker-registry',
  skopeo: 'skopeo',
  htpasswd: 'apache2-utils',
  openssl: 'openssl',
};

function missing(): string[] {
  return Object.keys(TOOLS).filter(
    (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0,
  );
}

/** The tests run the built CLI: build it from the current sources first (esbuild, well under a second). */
function buildCli(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}

/**
 * Registries' storage, generated layers (up to 300 MiB) and layouts all go under one folder
 * made here and removed at teardown: worker processes may be killed before their own cleanup.
 */
function makeScratch(): () => void {
  const scratch = mkdtempSync(join(tmpdir(), 'crossdock-test-'));
  process.env.CROSSDOCK_TEST_TMP = scratch;
  return () => rmSync(scratch, { recursive: true, force: true });
}

export default function setup(): () => void {
  const teardown = makeScratch();
  buildCli();
  const absent = missing();
  if (absent.length === 0) return teardown;
  const packages = [...new Set(absent.map((command) => TOOLS[command] as string))];
  try {
    execFileSync('apt-get', ['update'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (error) {
    throw new Error(
      `could not install ${packages.join(', ')} with apt-get (run the tests as root): ${String(error)}`,
    );
  }
  const still = missing();
  if (still.length > 0) throw new Error(`still missing after apt-get install: ${still.join(', ')}`);
  return teardown;
}

/** Where test processes put temporary files: the run's scratch folder, else the system's. */
export function scratchDir(): string {
  return process.env.CROSSDOCK_TEST_TMP ?? tmpdir();
}
