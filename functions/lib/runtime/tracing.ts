import type middy from '@middy/core';

/**
 * The X-Ray trace of each invocation, in a Lambda only. X-Ray's SDK, which Powertools' Tracer
 * loads, turns on async hooks that track every promise (cls-hooked) as soon as it is imported,
 * tracing enabled or not: in the local runtime that cost ~6 % of its main thread under a burst
 * of jobs, for traces nobody collects (docs/performance.md, "Local runtime cost"). So the
 * Tracer and its middleware are loaded where they trace, and nowhere else.
 */
export const tracing: middy.MiddlewareObj | undefined =
  process.env.AWS_LAMBDA_FUNCTION_NAME === undefined ? undefined : await loadTracing();

async function loadTracing(): Promise<middy.MiddlewareObj> {
  const [{ Tracer }, { captureLambdaHandler }] = await Promise.all([
    import('@aws-lambda-powertools/tracer'),
    import('@aws-lambda-powertools/tracer/middleware'),
  ]);
  // No response in the trace: a workflow task's plan (its lanes, the manifests it carries) or a
  // job listing can pass X-Ray's 64 KB segment limit, and the whole trace would be dropped.
  return captureLambdaHandler(new Tracer({ serviceName: 'crossdock' }), { captureResponse: false });
}
