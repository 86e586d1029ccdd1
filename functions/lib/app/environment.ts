import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient } from '../stores/client.ts';
import { Crossdock, type Executions, type ScanStarter } from './crossdock.ts';
import { secretsManagerVault } from './secrets-manager-vault.ts';
import { SettingsError, settingsFromEnvironment } from './settings.ts';

/** A Lambda's Crossdock: AWS SDK clients, settings from the environment the stack set. */
export function appFromEnvironment(env: NodeJS.ProcessEnv = process.env): Crossdock {
  const settings = settingsFromEnvironment(env);
  const sfn = new SFNClient({});
  const executions: Executions = {
    async start(name, input) {
      if (!settings.stateMachineArn)
        throw new SettingsError('STATE_MACHINE_ARN is not set for this function');
      try {
        await sfn.send(
          new StartExecutionCommand({
            stateMachineArn: settings.stateMachineArn,
            name,
            input: JSON.stringify(input),
          }),
        );
        return 'started';
      } catch (error) {
        // The same name with the same input is idempotent on AWS; a finished one answers this.
        if (!(error instanceof ExecutionAlreadyExists)) throw error;
        return 'existed';
      }
    },
    async describe(executionArn) {
      try {
        const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
        const status = execution.status ?? 'RUNNING';
        if (status === 'RUNNING' || status === 'PENDING_REDRIVE') return { status: 'RUNNING' };
        return { status, error: execution.error, cause: execution.cause };
      } catch (error) {
        if (error instanceof ExecutionDoesNotExist) return { status: 'UNKNOWN' };
        throw error;
      }
    },
  };
  const lambda = new LambdaClient({});
  const scans: ScanStarter = {
    async start(request) {
      if (!settings.scanFunctionName)
        throw new SettingsError('SCAN_FUNCTION_NAME is not set for this function');
      await lambda.send(
        new InvokeCommand({
          FunctionName: settings.scanFunctionName,
          InvocationType: 'Event',
          Payload: Buffer.from(JSON.stringify(request)),
        }),
      );
    },
  };
  const vault = secretsManagerVault();
  return new Crossdock({
    scans,
    vault,
    settings,
    dynamo: createDocumentClient(),
    sqs: new SQSClient({}),
    executions,
    secret: (name) => vault.read(name),
    sharedCoordination: true,
  });
}
