import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import type { IVpc } from 'aws-cdk-lib/aws-ec2';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** Repository root: handler entries are `functions/<name>.ts` under it. */
export const ROOT = join(import.meta.dirname, '..', '..');

/**
 * How every handler is bundled: locally by esbuild (no Docker), one ESM file for Node 22, the
 * AWS SDK left to the Lambda runtime's copy. test/unit/infra/lambda-bundle.test.ts bundles each
 * handler with these same options and loads the result.
 */
export const LAMBDA_BUNDLING = {
  format: OutputFormat.ESM,
  target: 'node22',
  sourceMap: true,
  minify: true,
  // ESM bundles need `require` for the CommonJS dependencies they inline.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  externalModules: ['@aws-sdk/*'],
  forceDockerBundling: false,
} satisfies BundlingOptions;

export interface CrossdockFunctionProps {
  /** `functions/…` path of the handler module, without extension. */
  entry: string;
  /** Where the handler is in the bundle (`index.<export>[.<key>]`); default `index.handler`. */
  handler?: string;
  description: string;
  environment?: Record<string, string>;
  timeout?: Duration;
  memorySize?: number;
  reservedConcurrentExecutions?: number | undefined;
  /** Functions that talk to registries run in the VPC when one is given (private registries). */
  vpc?: IVpc | undefined;
}

/**
 * Every crossdock Lambda: Node 22 on ARM64, bundled locally by esbuild (no Docker), ESM,
 * X-Ray tracing, its own log group with a retention.
 */
export class CrossdockFunction extends NodejsFunction {
  /** `functions/…` path of the handler module, without extension (as given). */
  readonly entry: string;

  constructor(scope: Construct, id: string, props: CrossdockFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH });
    super(scope, id, {
      entry: join(ROOT, `${props.entry}.ts`),
      handler: props.handler ?? 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      logGroup,
      projectRoot: ROOT,
      depsLockFilePath: join(ROOT, 'package-lock.json'),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'crossdock',
        ...props.environment,
      },
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      ...(props.vpc ? { vpc: props.vpc } : {}),
      bundling: LAMBDA_BUNDLING,
    });
    this.entry = props.entry;
  }
}
