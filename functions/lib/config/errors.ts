/** A config that cannot be used, with every problem found and where it is. */
export interface ConfigIssue {
  /** Where in the document: `policies[0].destination.registry`. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly issues: ConfigIssue[];
  readonly file: string | undefined;

  constructor(issues: ConfigIssue[], file?: string) {
    const where = file === undefined ? 'invalid config' : `invalid config ${file}`;
    super(
      `${where}:\n${issues.map((i) => `  ${i.path === '' ? '(top)' : i.path}: ${i.message}`).join('\n')}`,
    );
    this.issues = issues;
    this.file = file;
  }
}
