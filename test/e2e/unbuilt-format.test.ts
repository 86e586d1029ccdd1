import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrossdockProcess, startCrossdock } from '../support/crossdock-process.ts';
import { distributionSource, registryList } from '../support/serve-config.ts';

/**
 * The config takes the webhook formats crossdock plans (github) besides the ones it
 * reads (distribution, harbor, zot, quay, dockerhub); a delivery in a planned one is answered 400. `serve`
 * says so at start, naming the source, rather than leaving it to the sender's error log.
 */
describe('a source in a webhook format that is not built yet', () => {
  let crossdock: CrossdockProcess;

  beforeAll(async () => {
    crossdock = await startCrossdock({
      config: {
        registries: registryList({ a: 'http://127.0.0.1:5000', g: 'http://127.0.0.1:5001' }),
        sources: [distributionSource('a'), { ...distributionSource('g'), format: 'github' }],
      },
    });
  });
  afterAll(() => crossdock?.stop());

  it('is named in a warning at start, and its deliveries are answered 400', async () => {
    const warnings = crossdock
      .logs()
      .split('\n')
      .filter((line) => line.includes('"level":"WARN"'));
    expect(warnings.filter((line) => line.includes('not built yet'))).toHaveLength(1);
    expect(warnings.join('\n')).toContain(
      'source g: webhook format \\"github\\" is not built yet, so its deliveries are answered 400 (built: distribution, harbor, zot, quay, dockerhub)',
    );

    const delivery = await fetch(`${crossdock.url}/webhooks/g`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer hook-g' },
      body: JSON.stringify({ action: 'published', package: { name: 'app', package_type: 'container' } }),
    });
    expect(delivery.status).toBe(400);
  });
});
