import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { acknowledgeNagFindings } from './nag.ts';
import { CrossdockStack } from './stack.ts';

/** `cdk synth` / `cdk deploy` entry (cdk.json). Stack props come from context, e.g. `-c runningJobs=20`. */
const app = new App();
const number = (key: string): number | undefined => {
  const value = app.node.tryGetContext(key);
  return value === undefined ? undefined : Number(value);
};
const stack = new CrossdockStack(app, app.node.tryGetContext('stackName') ?? 'Crossdock', {
  limits: {
    ...(number('runningJobs') ? { runningJobs: number('runningJobs') } : {}),
    ...(number('perDestination') ? { perDestination: number('perDestination') } : {}),
    ...(number('blobsPerJob') ? { blobsPerJob: number('blobsPerJob') } : {}),
  },
  ...(number('transferConcurrency') ? { transferConcurrency: number('transferConcurrency') } : {}),
  ...(number('dispatcherConcurrency') ? { dispatcherConcurrency: number('dispatcherConcurrency') } : {}),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
acknowledgeNagFindings(stack);
app.synth();
