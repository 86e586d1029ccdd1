import { MAX_REQUEST_BODY_BYTES } from '#config/defaults.ts';
import { httpStatusOf } from '../runtime/http-errors.ts';
import { authorize } from './authorize.ts';
import { deleteItem, disablePolicy, enablePolicy, getItem, listItems, writeItem } from './config-routes.ts';
import { policyDrift, policyRuns, syncPolicyNow } from './drift-routes.ts';
import {
  ApiError,
  ApiNotFoundError,
  ApiPayloadTooLargeError,
  BadRequestError,
  MethodNotAllowedError,
  UnsupportedMediaTypeError,
} from './errors.ts';
import { cancelJob, getJob, listJobsRoute, retryJob } from './job-routes.ts';
import type { ApiOptions, ApiPorts, ApiRequest, ApiResponse } from './ports.ts';
import type { ConfigKind } from './validation.ts';

/**
 * The management API (`/api/...`) as one function from a request to a response, for API
 * Gateway's HTTP API and the local server alike. JSON in and out; errors are
 * `{ error: { code, message } }` (400s add `issues: [{ path, message }]`), with the status of
 * the `ApiError` thrown; errors of the domain get theirs from `httpStatusOf` (a job not found
 * 404, a transition its status refuses 409), and anything else is a 500 whose message says
 * nothing of the cause (`onError` sees it).
 *
 * | route                                   | methods                 |
 * | --------------------------------------- | ----------------------- |
 * | /api/registries, /api/sources, /api/policies | GET (list), POST (create) |
 * | /api/{kind}/{name}                      | GET, PUT (create or replace), DELETE |
 * | /api/policies/{name}/enable, /disable   | POST                    |
 * | /api/policies/{name}/drift, /runs       | GET                     |
 * | /api/policies/{name}/sync               | POST                    |
 * | /api/jobs                               | GET (list)              |
 * | /api/jobs/{id}                          | GET                     |
 * | /api/jobs/{id}/cancel, /retry           | POST                    |
 */

/** Bodies over 1 MiB are refused (413), as the webhook route does. */
export const MAX_API_BODY = MAX_REQUEST_BODY_BYTES;

const KIND_OF: Record<string, ConfigKind> = { registries: 'registry', sources: 'source', policies: 'policy' };

type Handler = (ports: ApiPorts, request: ParsedRequest) => Promise<ApiResponse>;

interface ParsedRequest {
  method: string;
  path: string;
  params: string[];
  query: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
  body: string | undefined;
}

interface Route {
  /** Literal segments, `*` for a parameter. */
  pattern: string[];
  methods: Record<string, Handler>;
}

const param = (request: ParsedRequest, index = 0) => request.params[index] as string;

function routes(): Route[] {
  const table: Route[] = [];
  for (const [plural, kind] of Object.entries(KIND_OF)) {
    table.push({
      pattern: ['api', plural],
      methods: {
        GET: (ports) => listItems(ports, kind),
        POST: async (ports, request) => writeItem(ports, kind, jsonBody(request)),
      },
    });
    table.push({
      pattern: ['api', plural, '*'],
      methods: {
        GET: (ports, request) => getItem(ports, kind, param(request)),
        PUT: async (ports, request) => writeItem(ports, kind, jsonBody(request), param(request)),
        DELETE: (ports, request) => deleteItem(ports, kind, param(request)),
      },
    });
  }
  table.push(
    {
      pattern: ['api', 'policies', '*', 'enable'],
      methods: { POST: (ports, request) => enablePolicy(ports, param(request)) },
    },
    {
      pattern: ['api', 'policies', '*', 'disable'],
      methods: { POST: (ports, request) => disablePolicy(ports, param(request)) },
    },
    {
      pattern: ['api', 'policies', '*', 'drift'],
      methods: { GET: (ports, request) => policyDrift(ports, param(request), request.query) },
    },
    {
      pattern: ['api', 'policies', '*', 'sync'],
      methods: { POST: (ports, request) => syncPolicyNow(ports, param(request)) },
    },
    {
      pattern: ['api', 'policies', '*', 'runs'],
      methods: { GET: (ports, request) => policyRuns(ports, param(request), request.query) },
    },
    { pattern: ['api', 'jobs'], methods: { GET: (ports, request) => listJobsRoute(ports, request.query) } },
    { pattern: ['api', 'jobs', '*'], methods: { GET: (ports, request) => getJob(ports, param(request)) } },
    {
      pattern: ['api', 'jobs', '*', 'cancel'],
      methods: { POST: (ports, request) => cancelJob(ports, param(request)) },
    },
    {
      pattern: ['api', 'jobs', '*', 'retry'],
      methods: { POST: (ports, request) => retryJob(ports, param(request)) },
    },
  );
  return table;
}

const ROUTES = routes();

function match(segments: string[]): { route: Route; params: string[] } | undefined {
  for (const route of ROUTES) {
    if (route.pattern.length !== segments.length) continue;
    const params: string[] = [];
    const matches = route.pattern.every((part, i) => {
      if (part === '*') {
        params.push(segments[i] as string);
        return true;
      }
      return part === segments[i];
    });
    if (matches) return { route, params };
  }
  return undefined;
}

/** Path segments, percent-decoded; a trailing slash is ignored. Undefined when one cannot be decoded. */
function segmentsOf(path: string): string[] | undefined {
  const parts = path.split('/').filter((part, i, all) => !(part === '' && (i === 0 || i === all.length - 1)));
  try {
    return parts.map((part) => decodeURIComponent(part));
  } catch {
    return undefined;
  }
}

/** The parsed JSON body; 413 over the limit, 415 for a type other than JSON, 400 when missing or malformed. */
function jsonBody(request: ParsedRequest): unknown {
  const { body } = request;
  if (body !== undefined && Buffer.byteLength(body, 'utf8') > MAX_API_BODY) {
    throw new ApiPayloadTooLargeError(`the body is over ${MAX_API_BODY} bytes`);
  }
  const type = request.headers['content-type'];
  if (type !== undefined) {
    const mediaType = (type.split(';')[0] ?? '').trim().toLowerCase();
    if (mediaType !== 'application/json' && !mediaType.endsWith('+json')) {
      throw new UnsupportedMediaTypeError('the body must be JSON (Content-Type: application/json)');
    }
  }
  if (body === undefined || body.trim() === '') {
    throw new BadRequestError('a JSON body is required', [{ path: '', message: 'is required' }]);
  }
  try {
    return JSON.parse(body);
  } catch {
    // Not the parser's message: it quotes the body, which may hold a secret.
    throw new BadRequestError('the body is not valid JSON', [{ path: '', message: 'is not valid JSON' }]);
  }
}

function lowerCaseKeys(
  record: Record<string, string | undefined> | undefined,
): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(record ?? {}).map(([key, value]) => [key.toLowerCase(), value]));
}

function errorResponse(error: ApiError): ApiResponse {
  const body: { error: { code: string; message: string; issues?: unknown } } = {
    error: { code: error.code, message: error.message },
  };
  if (error instanceof BadRequestError && error.issues.length > 0) body.error.issues = error.issues;
  return { statusCode: error.statusCode, headers: { ...error.headers }, body };
}

/** The API's codes for the statuses of domain errors (`httpStatusOf`). */
const CODES: Record<number, string> = { 400: 'bad_request', 404: 'not_found', 409: 'conflict' };

/** An error of the domain below (a job or record missing, a transition refused) as the API answers it. */
function fromDomainError(error: unknown): ApiError | undefined {
  const status = httpStatusOf(error);
  const code = status === undefined ? undefined : CODES[status];
  return code === undefined ? undefined : new ApiError((error as Error).message, status as number, code);
}

export async function handleApiRequest(
  ports: ApiPorts,
  request: ApiRequest,
  options: ApiOptions = {},
): Promise<ApiResponse> {
  const headers = lowerCaseKeys(request.headers);
  const method = request.method.toUpperCase();
  try {
    if (options.token !== undefined && options.token !== '') authorize(headers, options.token);
    const segments = segmentsOf(request.path);
    const found = segments && match(segments);
    if (!found) throw new ApiNotFoundError(`no route ${request.path}`);
    const handler = found.route.methods[method];
    if (!handler) throw new MethodNotAllowedError(method, request.path, Object.keys(found.route.methods));
    return await handler(ports, {
      method,
      path: request.path,
      params: found.params,
      query: request.query ?? {},
      headers,
      body: request.body,
    });
  } catch (error) {
    if (error instanceof ApiError) return errorResponse(error);
    const fromDomain = fromDomainError(error);
    if (fromDomain) return errorResponse(fromDomain);
    options.onError?.(error, request);
    return { statusCode: 500, body: { error: { code: 'internal', message: 'internal error' } } };
  }
}

/** The response as HTTP text: JSON with its content type. */
export function toHttpResponse(response: ApiResponse): {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
} {
  return {
    statusCode: response.statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', ...response.headers },
    body: JSON.stringify(response.body),
  };
}
