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
    super(configErrorText(issues, file));
    this.issues = issues;
    this.file = file;
  }
}

/** A ConfigError's text: a header, then each issue on a line of its own, passed through `each` (the CLI escapes it). */
export function configErrorText(
  issues: readonly ConfigIssue[],
  file: string | undefined,
  each: (line: string) => string = (line) => line,
): string {
  return ['invalid config:', ...issues.map((issue) => `  ${each(describeIssue(issue, file))}`)].join('\n');
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
