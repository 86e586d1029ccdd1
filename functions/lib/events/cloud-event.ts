import { z } from 'zod';

/**
 * CloudEvents in structured mode (`application/cloudevents+json`): the event's attributes and
 * its `data` in one JSON body. Harbor and zot send them (zot in binary mode too: zot.ts).
 */

/** A body that says it is a structured CloudEvent (it has `specversion`). */
export function isStructuredCloudEvent(payload: unknown): boolean {
  return typeof payload === 'object' && payload !== null && 'specversion' in payload;
}

/** The attributes crossdock reads, and `data` in the sender's own shape. */
export const structuredCloudEvent = <Data extends z.ZodType>(data: Data) =>
  z.looseObject({
    specversion: z.string(),
    id: z.string(),
    type: z.string(),
    time: z.string().optional(),
    data,
  });
