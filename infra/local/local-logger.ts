/**
 * The little the local building blocks log: warnings and errors of work that runs in the
 * background (poll loops, execution endings), where nobody awaits a rejection. Powertools'
 * Logger fits this shape; the default writes to the console.
 */
export interface LocalLogger {
  warn(message: string, details: Record<string, unknown>): void;
  error(message: string, details: Record<string, unknown>): void;
}

export const consoleLogger: LocalLogger = {
  warn: (message, details) => console.warn(message, details),
  error: (message, details) => console.error(message, details),
};
