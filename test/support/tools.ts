import { execFileSync, spawnSync } from 'node:child_process';

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

export default function setup(): void {
  buildCli();
  const absent = missing();
  if (absent.length === 0) return;
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
}
