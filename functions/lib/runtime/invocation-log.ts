import { AsyncLocalStorage } from 'node:async_hooks';
import { LogFormatter, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import type { Context } from 'aws-lambda';

/**
 * Which invocation a log line belongs to, kept per async context rather than on the shared
 * logger: the local runtime runs many handlers at once in one process, where Powertools'
 * `injectLambdaContext` and `appendKeys` (one state per logger) would give a line the function
 * name and job id of whichever invocation started last. In a Lambda it is the same thing.
 */

interface Invocation {
  context: Context;
  coldStart: boolean;
  keys: LogAttributes;
}

const invocations = new AsyncLocalStorage<Invocation>();
let started = false;

/** Runs one invocation of a handler with its context as the log context. */
export function inInvocation<T>(context: Context, run: () => Promise<T>): Promise<T> {
  const coldStart = !started;
  started = true;
  return invocations.run({ context, coldStart, keys: {} }, run);
}

/** Keys (e.g. `jobId`) on every line the current invocation logs from here on. */
export function addLogKeys(keys: LogAttributes): void {
  const invocation = invocations.getStore();
  if (invocation) Object.assign(invocation.keys, keys);
}

/** Powertools' JSON line, with the function fields and keys of the invocation that logs it. */
export class InvocationLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const invocation = invocations.getStore();
    const context = invocation?.context;
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        cold_start: invocation?.coldStart,
        function_arn: context?.invokedFunctionArn,
        function_memory_size: context?.memoryLimitInMB,
        function_name: context?.functionName,
        function_request_id: context?.awsRequestId,
        sampling_rate: attributes.sampleRateValue,
        xray_trace_id: attributes.xRayTraceId,
      },
    }).addAttributes({ ...invocation?.keys, ...additional });
  }
}
