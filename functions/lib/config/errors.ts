/**
 * A config that cannot be used, with every problem found and where it is. Messages name paths,
 * keys and variable names, never values: a value may be a secret that came from `${ENV}`.
 */
export interface ConfigIssue {
  /** Where in the document, `policies[0].destination.registry`; '' for the document as a whole. */
  path: string;
  message: string;
  /** 1-based position in the file, when known. */
  line?: number;
  column?: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];
  readonly file: string | undefined;

  constructor(issues: readonly ConfigIssue[], file?: string) {
    const lines = issues.map((issue) => `  ${describeIssue(issue, file)}`);
    super(`invalid config:\n${lines.join('\n')}`);
    this.issues = issues;
    this.file = file;
  }
}

/** `crossdock.yaml:17:28: policies[0].destination.registry: unknown registry "dc-c"`, as editors link it. */
export function describeIssue(issue: ConfigIssue, file?: string): string {
  const position =
    issue.line === undefined ? [] : [issue.line, ...(issue.column === undefined ? [] : [issue.column])];
  const where =
    file !== undefined
      ? [file, ...position].join(':')
      : position.length > 0
        ? `line ${position.join(':')}`
        : '';
  return [where, issue.path, issue.message].filter((part) => part !== '').join(': ');
}
