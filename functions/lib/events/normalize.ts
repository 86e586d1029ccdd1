import type { SourceConfig } from '#config/schema.ts';
import { parseDistributionEvents } from './distribution.ts';
import { parseDockerHubEvents } from './dockerhub.ts';
import { UnsupportedFormatError } from './errors.ts';
import { parseGitHubEvents } from './github.ts';
import { parseHarborEvents } from './harbor.ts';
import { parseQuayEvents } from './quay.ts';
import type { ParsedEvents, ParseOptions } from './registry-event.ts';
import { parseZotEvents } from './zot.ts';

export type { ParsedEvents, ParseOptions, RegistryEvent } from './registry-event.ts';

export type WebhookFormat = SourceConfig['format'];

/** A Map, so that only these formats have a parser, never an inherited property. */
const PARSERS = new Map<WebhookFormat, (payload: unknown, options: ParseOptions) => ParsedEvents>([
  ['distribution', parseDistributionEvents],
  ['harbor', parseHarborEvents],
  ['zot', parseZotEvents],
  ['quay', parseQuayEvents],
  ['dockerhub', parseDockerHubEvents],
  ['github', parseGitHubEvents],
]);

/**
 * Turns a parsed webhook body of `format` into push and delete events of `options.registry`.
 * Irrelevant or invalid events are counted in `ignored`; a body that is not the format's shape
 * throws `MalformedPayloadError` (400).
 */
export function parseEvents(format: WebhookFormat, payload: unknown, options: ParseOptions): ParsedEvents {
  const parser = PARSERS.get(format);
  if (parser === undefined)
    throw new UnsupportedFormatError(
      `webhook format "${format}" is not supported (supported: ${[...PARSERS.keys()].join(', ')})`,
    );
  return parser(payload, options);
}
