import type { Context } from 'aws-lambda';

let invocations = 0;

/** The Context a local invocation gets: what Powertools reads (name, request id, time left). */
export function lambdaContext(functionName: string, timeoutMs: number, requestId?: string): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId ?? `local-${process.pid}-${++invocations}`,
    logGroupName: `/crossdock/local/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
