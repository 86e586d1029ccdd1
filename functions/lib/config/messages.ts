import type { z } from 'zod';

/**
 * Zod's generic messages in the user's terms, never quoting a value (it may be a secret): a
 * YAML file speaks of mappings and lists, a JSON body of objects and arrays.
 */
export interface Vocabulary {
  object: string;
  array: string;
  null: string;
}

export const YAML_WORDS: Vocabulary = { object: 'a mapping', array: 'a list', null: 'empty' };
export const JSON_WORDS: Vocabulary = { object: 'an object', array: 'an array', null: 'null' };

export function plainMessages(words: Vocabulary) {
  const describeType = (expected: string) =>
    ({ object: words.object, array: words.array, boolean: 'true or false' })[expected] ?? `a ${expected}`;
  const describeValue = (input: unknown) => {
    if (input === null) return words.null;
    if (Array.isArray(input)) return words.array;
    if (typeof input === 'object') return words.object;
    return `a ${typeof input}`;
  };
  return (issue: z.core.$ZodRawIssue): string | undefined => {
    if (issue.code === 'invalid_type') {
      if (issue.input === undefined) return 'is required';
      return `must be ${describeType(issue.expected)}, not ${describeValue(issue.input)}`;
    }
    if (issue.code === 'invalid_value') return `must be one of: ${issue.values.map(String).join(', ')}`;
    return undefined;
  };
}
