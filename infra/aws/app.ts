import { App, Duration, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { INDEX_MIGRATION_STEPS, type IndexMigrationStep } from './job-store.ts';
import { acknowledgeNagFindings } from './nag.ts';
import { CrossdockStack } from './stack.ts';

/**
 * `cdk synth` / `cdk deploy` entry (cdk.json). Stack props come from context, e.g.
 * `npx cdk deploy -c runningJobs=20 -c perDestination=5` (docs/deploy.md lists every key).
 */
const app = new App();

function number(key: string): number | undefined {
  const value = app.node.tryGetContext(key);
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new Error(`context ${key}=${String(value)}: must be a whole number of at least 1`);
  }
  return parsed;
}

/** The keys whose value is set: a context value left out keeps the stack's default. */
const defined = <T extends object>(value: T) =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };

function migrationStep(): IndexMigrationStep | undefined {
  const value = app.node.tryGetContext('indexMigrationStep');
  if (value === undefined) return undefined;
  const step = INDEX_MIGRATION_STEPS.find((candidate) => String(candidate) === String(value));
  if (step === undefined) {
    throw new Error(
      `context indexMigrationStep=${String(value)}: must be ${INDEX_MIGRATION_STEPS.join(', ')} ` +
        '(docs/deploy.md, "Upgrading a deployed stack"), or left out',
    );
  }
  return step;
}

const executionMinutes = number('executionTimeoutMinutes');
const webhookRate = number('webhookRate');
const webhookBurst = number('webhookBurst');
const stack = new CrossdockStack(app, app.node.tryGetContext('stackName') ?? 'Crossdock', {
  limits: defined({
    runningJobs: number('runningJobs'),
    perDestination: number('perDestination'),
    blobsPerJob: number('blobsPerJob'),
  }),
  ...defined({
    transferConcurrency: number('transferConcurrency'),
    dispatcherConcurrency: number('dispatcherConcurrency'),
    dispatcherMaxConcurrency: number('dispatcherMaxConcurrency'),
    dispatchBatchSize: number('dispatchBatchSize'),
    copyByteBudgetMiB: number('copyByteBudgetMiB'),
    recordsKeepDays: number('recordsKeepDays'),
    indexMigrationStep: migrationStep(),
  }),
  reconcile: defined({
    everyMinutes: number('reconcileEveryMinutes'),
    staleAfterMinutes: number('staleAfterMinutes'),
    tooLongMinutes: number('tooLongMinutes'),
  }),
  ...(executionMinutes ? { executionTimeout: Duration.minutes(executionMinutes) } : {}),
  ...(webhookRate || webhookBurst
    ? { webhookThrottle: { rate: webhookRate ?? 50, burst: webhookBurst ?? 100 } }
    : {}),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
acknowledgeNagFindings(stack);
app.synth();
