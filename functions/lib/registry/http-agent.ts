import type { Agent as UndiciAgent } from 'undici';
import api from 'undici/lib/api/index.js';
import agent from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';

/**
 * undici's Agent with its request API, loaded without the rest of undici. `import 'undici'`
 * evaluates all of it — fetch, WebSocket, caches, mocks, EventSource and the Node built-ins they
 * need — which took 115–125 ms of every CLI run's start here, against 55–70 ms for the
 * dispatcher and its request API alone (docs/performance.md, "Start-up"). undici's own index
 * does exactly this: it assigns the API to the Dispatcher prototype. Static imports, so that a
 * Lambda's bundle carries these modules; the types are the public entry's (undici-internals.d.ts).
 * These paths are undici's internals, not its API: package.json pins undici's exact version, and
 * test/unit/infra/lambda-bundle.test.ts and every registry test load them.
 */
Object.assign(Dispatcher.prototype, api);

export const Agent = agent;
export type Agent = UndiciAgent;
