import { createRequire } from 'node:module';
import type { Agent as UndiciAgent } from 'undici';

/**
 * undici's Agent with its request API, loaded without the rest of undici. `import 'undici'`
 * evaluates all of it — fetch, WebSocket, caches, mocks, EventSource and the Node built-ins they
 * need — which took 115–125 ms of every CLI run's start here, against 55–70 ms for the
 * dispatcher and its request API alone (docs/performance.md, "Start-up"). undici's own index
 * does exactly this: it assigns the API to the Dispatcher prototype. Only the registry client
 * needs it; its types still come from undici's public entry.
 */
const require = createRequire(import.meta.url);
const api: object = require('undici/lib/api/index.js');
const Dispatcher: { prototype: object } = require('undici/lib/dispatcher/dispatcher.js');
Object.assign(Dispatcher.prototype, api);

export const Agent: typeof UndiciAgent = require('undici/lib/dispatcher/agent.js');
export type Agent = UndiciAgent;
