import { execFileSync, spawnSync } from 'node:child_process';

/**
 * The demo's registries are Debian's `docker-registry`, and the printed push command uses
 * `skopeo`: installed with apt-get when missing (the demo tells the user it does so).
 */
const TOOLS: Record<string, string> = { 'docker-registry': 'docker-registry', skopeo: 'skopeo' };

export class DemoSetupError extends Error {
  override name = 'DemoSetupError';
}

const isMissing = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0;

export function ensureDemoTools(log: (line: string) => void): void {
  const absent = Object.keys(TOOLS).filter(isMissing);
  if (absent.length === 0) return;
  const packages = [...new Set(absent.map((command) => TOOLS[command] as string))];
  log(`installing ${packages.join(', ')} with apt-get (the demo's registries and push command need them)…`);
  try {
    execFileSync('apt-get', ['update'], { stdio: 'ignore' });
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...packages], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (error) {
    throw new DemoSetupError(
      `could not install ${packages.join(', ')} with apt-get (run as root, or install them yourself): ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
  const still = absent.filter(isMissing);
  if (still.length > 0) throw new DemoSetupError(`still missing after apt-get install: ${still.join(', ')}`);
}
