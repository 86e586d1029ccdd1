import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { inInvocation } from './invocation-log.ts';
import { metrics } from './observability.ts';
import { tracing } from './tracing.ts';

/**
 * What every crossdock handler gets around it: the Lambda context in its log lines, a trace
 * segment in a Lambda (tracing.ts), and its metrics flushed at the end. Handlers stay plain async functions.
 */
export function observed<TEvent, TResult>(handler: (event: TEvent, context: Context) => Promise<TResult>) {
  // The invocation's context names every line it logs (function_name, request id): see invocation-log.ts.
  const observedHandler = middy((event: TEvent, context: Context) =>
    inInvocation(context, () => handler(event, context)),
  );
  if (tracing) observedHandler.use(tracing);
  // Disabled metrics (the local runtime's default) would still warn "no metrics" on every call.
  return process.env.POWERTOOLS_METRICS_DISABLED === 'true'
    ? observedHandler
    : observedHandler.use(publishMetrics);
}

/**
 * Flushes the invocation's metrics at its end, failed or not. Powertools' logMetrics would log a
 * warning for every invocation that recorded none (a dispatcher batch of dropped messages, a
 * workflow task): only flush when there is something to publish.
 */
const publishMetrics: middy.MiddlewareObj = {
  after: () => flush(),
  onError: () => flush(),
};

function flush(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
