import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { CrossdockFunction, LAMBDA_BUNDLING, ROOT } from '../../../infra/aws/function.ts';
import { CrossdockStack } from '../../../infra/aws/stack.ts';

/**
 * Each handler module bundled as `cdk deploy` bundles it (esbuild with the construct's own
 * LAMBDA_BUNDLING), then imported in a fresh Node the way a Lambda imports it: from a directory
 * where the AWS SDK resolves (the runtime's copy) and no other package does. The stack tests
 * synthesise without bundling, so this is where a bundle that would fail in a Lambda shows up: a
 * dependency loaded by a path esbuild cannot follow, a top-level await that breaks. The modules
 * of ours a handler imports lazily (the app, built on the first invocation) are bundled and
 * loaded on their own as well, since importing the handler does not evaluate them.
 */

/** The stack's functions: the handler module each bundles and where its handler is (`index.handler`). */
function deployedFunctions() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CrossdockStack(app, 'Crossdock', {});
  return stack.node
    .findAll()
    .filter((construct) => construct instanceof CrossdockFunction)
    .map((fn) => {
      const handler = (fn.node.defaultChild as CfnFunction).handler;
      if (!handler) throw new Error(`${fn.node.path} names no handler`);
      return { module: `${fn.entry}.ts`, handler };
    });
}

/** What a Lambda sets that the handlers read at import, and the construct's own variables. */
const LAMBDA_ENV = {
  AWS_LAMBDA_FUNCTION_NAME: 'test',
  AWS_REGION: 'us-east-1',
  NODE_OPTIONS: '--enable-source-maps',
  POWERTOOLS_SERVICE_NAME: 'crossdock',
};

/** Imports the bundle (argv: its URL, then handler paths) and prints what each handler path names. */
const LOAD = `
const [url, ...handlers] = process.argv.slice(1);
const bundle = await import(url);
const named = (path) => path.split('.').slice(1).reduce((value, key) => value?.[key], bundle);
console.log(JSON.stringify(Object.fromEntries(handlers.map((path) => [path, typeof named(path)]))));
`;

interface Bundle {
  file: string;
  /** Every module the bundle still imports or requires at run time. */
  imports: string[];
  /** Modules of ours (functions/…) in the bundle that only a dynamic import() evaluates. */
  lazy: string[];
}

// Like a Lambda's /var/task, under the runtime's node_modules that holds the AWS SDK only.
const lambdaRoot = mkdtempSync(join(tmpdir(), 'crossdock-lambda-'));
afterAll(() => rmSync(lambdaRoot, { recursive: true, force: true }));
mkdirSync(join(lambdaRoot, 'node_modules'));
symlinkSync(join(ROOT, 'node_modules', '@aws-sdk'), join(lambdaRoot, 'node_modules', '@aws-sdk'), 'dir');

/** `module` (a path under the repository) bundled with the construct's options into its own directory. */
async function bundle(module: string): Promise<Bundle> {
  const file = join(lambdaRoot, module.replaceAll('/', '-'), 'index.mjs');
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, module)],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: LAMBDA_BUNDLING.format,
    target: LAMBDA_BUNDLING.target,
    minify: LAMBDA_BUNDLING.minify,
    sourcemap: LAMBDA_BUNDLING.sourceMap,
    banner: { js: LAMBDA_BUNDLING.banner },
    external: LAMBDA_BUNDLING.externalModules,
    metafile: true,
    logLevel: 'silent',
  });
  const { inputs, outputs } = result.metafile;
  const imports = Object.values(outputs)
    .flatMap((output) => output.imports)
    .filter((imported) => imported.external)
    .map((imported) => imported.path);
  const lazy = Object.values(inputs)
    .flatMap((input) => input.imports)
    .filter((imported) => imported.kind === 'dynamic-import' && !imported.external)
    .map((imported) => imported.path)
    .filter((path) => path.startsWith('functions/'));
  return { file, imports: unique(imports), lazy: unique(lazy) };
}

function unique(values: string[]): string[] {
  return [...new Set(values)].sort();
}

/** esbuild's external patterns: a name, or one `*` standing for any text. */
function matchesExternal(path: string, pattern: string): boolean {
  const [prefix = '', suffix] = pattern.split('*');
  if (suffix === undefined) return path === pattern;
  return path.length >= prefix.length + suffix.length && path.startsWith(prefix) && path.endsWith(suffix);
}

/** Imports `file` in a fresh Node with a Lambda's environment; what each handler path names there. */
function load(file: string, handlers: string[] = []) {
  const child = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', LOAD, pathToFileURL(file).href, ...handlers],
    { cwd: lambdaRoot, env: LAMBDA_ENV, encoding: 'utf8', timeout: 30_000 },
  );
  const printed = child.stdout.trim().split('\n').at(-1);
  return { status: child.status, stderr: child.stderr, named: printed ? JSON.parse(printed) : undefined };
}

const functions = deployedFunctions();
const handlerModules = unique(functions.map((fn) => fn.module));
const bundles = new Map(await Promise.all(handlerModules.map(async (m) => [m, await bundle(m)] as const)));
const lazyModules = unique([...bundles.values()].flatMap((b) => b.lazy));
const lazyBundles = new Map(await Promise.all(lazyModules.map(async (m) => [m, await bundle(m)] as const)));

/** Every import the bundle leaves for run time that is neither a Node built-in nor an external. */
const strays = (b: Bundle) =>
  b.imports.filter(
    (path) =>
      !isBuiltin(path) && !LAMBDA_BUNDLING.externalModules.some((pattern) => matchesExternal(path, pattern)),
  );

describe('the Lambda bundles', () => {
  it('cover every handler module under functions/', () => {
    const onDisk = readdirSync(join(ROOT, 'functions'))
      .filter((name) => existsSync(join(ROOT, 'functions', name, 'handler.ts')))
      .map((name) => `functions/${name}/handler.ts`);

    expect(handlerModules).toEqual(unique(onDisk));
  });

  it('are loaded from a directory where the AWS SDK resolves and no other package does', () => {
    const resolve = createRequire(join(lambdaRoot, 'index.mjs')).resolve;

    expect(() => resolve('@aws-sdk/client-sfn')).not.toThrow();
    expect(() => resolve('undici')).toThrow(/Cannot find module/);
  });

  it('include the app a handler builds on its first invocation, imported lazily', () => {
    expect(lazyModules).toContain('functions/lib/app/environment.ts');
  });

  for (const module of handlerModules) {
    describe(module, () => {
      it('imports at run time only Node built-ins and the external AWS SDK', () => {
        expect(strays(bundles.get(module) as Bundle)).toEqual([]);
      });

      it('loads in a Lambda-like Node and exports the handler of each function deployed from it', () => {
        const handlers = functions.filter((fn) => fn.module === module).map((fn) => fn.handler);

        const { status, stderr, named } = load((bundles.get(module) as Bundle).file, handlers);

        expect(status, stderr).toBe(0);
        expect(named).toEqual(Object.fromEntries(handlers.map((handler) => [handler, 'function'])));
      });
    });
  }

  for (const module of lazyModules) {
    describe(`${module}, imported lazily`, () => {
      it('imports at run time only Node built-ins and the external AWS SDK', () => {
        expect(strays(lazyBundles.get(module) as Bundle)).toEqual([]);
      });

      it('loads in a Lambda-like Node', () => {
        const { status, stderr } = load((lazyBundles.get(module) as Bundle).file);

        expect(status, stderr).toBe(0);
      });
    });
  }
});
