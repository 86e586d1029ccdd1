import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const require = createRequire(import.meta.url);

/**
 * dynalite runs in a worker thread of this process: its request parsing and LevelDB work use
 * another core than the pipeline's event loop (on 2 cores, a job's hand-off waited on it — see
 * docs/architecture.md, "Admission"), and a kill -9 still takes it down with the process. An
 * error dynalite does not catch ends the worker; nothing listens then, so it ends this process
 * too, as it did in-process. The worker is evaluated from a string (dynamic imports work in a
 * CommonJS or an ES module context alike), so the same code runs from the sources and the bundle.
 */
const DYNALITE_THREAD = `
(async () => {
  const { parentPort, workerData } = await import('node:worker_threads');
  const { createRequire } = await import('node:module');
  const require = createRequire(workerData.dynaliteUrl);
  // LevelDB answers a read from memory or the OS's cache in microseconds; classic-level's
  // async get hands each one to libuv's pool and back, which cost this thread ~0.13 ms a read
  // on a busy machine (docs/performance.md, "The local runtime's own cost"). This thread only
  // serves records, so it reads synchronously.
  const { ClassicLevel } = createRequire(require.resolve('level'))('classic-level');
  ClassicLevel.prototype._get = function (key, options) {
    try {
      return Promise.resolve(this._getSync(key, options));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  // dynalite 4 ends a query's or scan's stream with iterator.return(), which abstract-level's
  // iterators lack (they have close()), so every query left its LevelDB iterator open, pinning
  // memory natively: serve's RSS grew ~17 MiB per 200 jobs, without end (docs/performance.md,
  // "The local runtime's own cost"). Each iterator gets the return() dynalite calls, and is
  // counted while open (the 'iterators' message answers the count).
  let openIterators = 0;
  for (const method of ['keys', 'values']) {
    const create = ClassicLevel.prototype[method];
    ClassicLevel.prototype[method] = function (...args) {
      const iterator = create.apply(this, args);
      openIterators++;
      const close = iterator.close.bind(iterator);
      let closing;
      iterator.close = () => {
        if (!closing) {
          openIterators--;
          closing = close();
        }
        return closing;
      };
      iterator.return = () => iterator.close();
      return iterator;
    };
  }
  const { default: dynalite } = await import(workerData.dynaliteUrl);
  const server = dynalite({ path: workerData.dir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.on('error', (error) => parentPort.postMessage({ error: String(error && error.message) }));
  server.listen(workerData.socketPath, () => {
    // The folder (0700) keeps others out already; the socket's own mode says so too.
    require('node:fs').chmodSync(workerData.socketPath, 0o600);
    parentPort.postMessage({ listening: true });
  });
  // The runtime's own requests come as messages and go to dynalite's request handler directly:
  // no HTTP, no socket (the HTTP stack was a good part of every record operation's cost).
  const handle = server.listeners('request')[0];
  const { EventEmitter } = await import('node:events');
  parentPort.on('message', (message) => {
    if (message === 'iterators') {
      parentPort.postMessage({ iterators: openIterators });
      return;
    }
    if (message === 'close') {
      server.close((error) => parentPort.postMessage({ closed: true, error: error ? String(error.message) : undefined }));
      return;
    }
    if (!message || message.request === undefined) return;
    const { id, method, url, headers, body } = message.request;
    const request = Object.assign(new EventEmitter(), { method, url, headers });
    const responseHeaders = {};
    const response = {
      statusCode: 200,
      setHeader(name, value) { responseHeaders[name.toLowerCase()] = String(value); },
      end(data) {
        const bytes = data === undefined ? new Uint8Array(0) : Buffer.from(data);
        parentPort.postMessage({ response: { id, statusCode: response.statusCode, headers: responseHeaders, body: bytes } });
      },
    };
    handle(request, response);
    setImmediate(() => {
      if (body && body.length > 0) request.emit('data', Buffer.from(body));
      request.emit('end');
    });
  });
})();
`;

interface ThreadResponse {
  id: number;
  statusCode: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** The thread's answers to `iterators` and `close`. */
interface ThreadAnswer {
  iterators?: number;
  closed?: boolean;
  error?: string;
}

export interface DynaliteThread {
  /** Hands a request to dynalite in the thread, as its HTTP server would. */
  request(request: {
    method: string;
    url: string;
    headers: Record<string, string>;
    body: Uint8Array;
  }): Promise<ThreadResponse>;
  /** LevelDB iterators open in the thread (a query's or scan's, while it reads). */
  openIterators(): Promise<number>;
  close(): Promise<void>;
}

export async function startDynaliteThread(dir: string, socketPath: string): Promise<DynaliteThread> {
  // A socket left by a killed process would refuse the listen; the folder is ours (its LOCK).
  await rm(socketPath, { force: true });
  const worker = new Worker(DYNALITE_THREAD, {
    eval: true,
    workerData: { dynaliteUrl: pathToFileURL(require.resolve('dynalite')).href, dir, socketPath },
  });
  await new Promise<void>((resolve, reject) => {
    const failed = (error: unknown) => reject(error instanceof Error ? error : new Error(String(error)));
    worker.once('error', failed);
    worker.once('message', (message: { listening?: boolean; error?: string }) => {
      worker.off('error', failed);
      if (message.listening) resolve();
      else failed(new Error(`dynalite did not start: ${message.error}`));
    });
  });
  const pending = new Map<number, (response: ThreadResponse) => void>();
  let nextId = 0;
  worker.on('message', (message: { response?: ThreadResponse }) => {
    if (message.response === undefined) return;
    pending.get(message.response.id)?.(message.response);
    pending.delete(message.response.id);
  });
  /** Sends the thread a command and waits for the message that answers it. */
  const answerTo = (command: 'iterators' | 'close', answers: (message: ThreadAnswer) => boolean) =>
    new Promise<ThreadAnswer>((resolve) => {
      const onMessage = (message: ThreadAnswer) => {
        if (!answers(message)) return;
        worker.off('message', onMessage);
        resolve(message);
      };
      worker.on('message', onMessage);
      worker.postMessage(command);
    });
  return {
    request(request) {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        worker.postMessage({ request: { id, ...request } });
      });
    },
    async openIterators() {
      const { iterators } = await answerTo('iterators', (message) => message.iterators !== undefined);
      return iterators as number;
    },
    async close() {
      try {
        const { error } = await answerTo('close', (message) => message.closed === true);
        if (error) throw new Error(error);
      } finally {
        await worker.terminate();
      }
    },
  };
}
