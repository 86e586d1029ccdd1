import type { z } from 'zod';
import { MalformedPayloadError } from './errors.ts';

/** Parses `payload` with `schema`, or throws a 400 naming the first field that is missing or wrong. */
export function parseShape<Schema extends z.ZodType>(
  schema: Schema,
  payload: unknown,
  what: string,
): z.infer<Schema> {
  const result = schema.safeParse(payload);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('');
  const where = path ? `at ${path.replace(/^\./, '')}` : 'at the top level';
  throw new MalformedPayloadError(`not a ${what}: ${where}: ${issue?.message ?? 'invalid'}`);
}
