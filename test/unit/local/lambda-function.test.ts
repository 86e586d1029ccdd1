import { describe, expect, it } from 'vitest';
import { type LocalContext, LocalFunction } from '../../../infra/local/lambda-function.ts';

/** The local runtime's Lambda: AWS's reserved concurrency and timeout, with the errors the ASL sees. */
describe('LocalFunction', () => {
  it('throttles an invocation beyond its reserved concurrency with Lambda.TooManyRequestsException', async () => {
    let release: () => void = () => undefined;
    const busy = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fn = new LocalFunction('pool', async () => busy, { timeoutSeconds: 5, reservedConcurrency: 2 });

    const running = [fn.invoke({}), fn.invoke({})];
    await expect(fn.invoke({})).rejects.toMatchObject({ name: 'Lambda.TooManyRequestsException' });
    release();
    await Promise.all(running);
    await expect(fn.invoke({})).resolves.toBeUndefined(); // a slot is free again

    expect(fn.stats).toEqual({ invocations: 3, throttles: 1, timeouts: 0 });
  });

  it('fails an invocation still running at its timeout as Sandbox.Timedout and aborts its work', async () => {
    let seen: AbortSignal | undefined;
    const fn = new LocalFunction(
      'slow',
      async (_event: unknown, context) => {
        seen = (context as LocalContext).abortSignal;
        await new Promise((resolve) => setTimeout(resolve, 5000));
      },
      { timeoutSeconds: 0.2 },
    );

    const started = Date.now();
    await expect(fn.invoke({})).rejects.toMatchObject({ name: 'Sandbox.Timedout' });

    expect(Date.now() - started).toBeLessThan(1000);
    expect(seen?.aborted).toBe(true);
    expect(fn.stats.timeouts).toBe(1);
  });

  it('counts down the time left as Lambda does, and passes an outside abort to the work', async () => {
    const controller = new AbortController();
    const fn = new LocalFunction(
      'aborted',
      async (_event: unknown, context) => {
        const left = context.getRemainingTimeInMillis();
        controller.abort(new Error('stopping'));
        return { left, aborted: (context as LocalContext).abortSignal.aborted };
      },
      { timeoutSeconds: 3 },
    );

    const result = await fn.invoke({}, { signal: controller.signal });

    expect(result.left).toBeGreaterThan(2500);
    expect(result.left).toBeLessThanOrEqual(3000);
    expect(result.aborted).toBe(true);
  });
});
