// The logging facade: components log through a Logger handed to them (never console.* or a
// stream of their own), so the process that composes them decides where lines go and at what
// level, and a test can capture them. A line is `<ISO time> [<scope>] <message>`; warnings and
// errors are prefixed `warning:` / `error:`, as the agent's log always read.

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A logger for a part of this one: `[agent/bgp]`. */
  child(scope: string): Logger;
}

/** Where formatted lines go (a stream's write, an array in a test). */
export type LogSink = (line: string) => void;

export interface LoggerOptions {
  readonly sink: LogSink;
  readonly scope?: string;
  /** Lines below this level are dropped (default info). */
  readonly level?: LogLevel;
  /** The clock, for tests (default: now). */
  readonly now?: () => Date;
}

const PREFIX: Readonly<Record<LogLevel, string>> = { debug: 'debug: ', info: '', warn: 'warning: ', error: 'error: ' };

export function createLogger(o: LoggerOptions): Logger {
  const min = LOG_LEVELS.indexOf(o.level ?? 'info');
  const now = o.now ?? ((): Date => new Date());
  const at = (level: LogLevel) => (message: string): void => {
    if (LOG_LEVELS.indexOf(level) < min) return;
    const scope = o.scope === undefined || o.scope === '' ? '' : ` [${o.scope}]`;
    o.sink(`${now().toISOString()}${scope} ${PREFIX[level]}${message}`);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (scope) => createLogger({ ...o, scope: o.scope === undefined || o.scope === '' ? scope : `${o.scope}/${scope}` }),
  };
}

/** A logger that drops everything (a component whose owner asked for no log). */
export const nullLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => nullLogger,
};

/** Parse a level name (FelixConfiguration's logSeverityScreen spelling too: Debug, Info, Warning, Error, Fatal). */
export function tryParseLogLevel(text: string | undefined): LogLevel | undefined {
  switch (text?.toLowerCase()) {
    case 'debug':
      return 'debug';
    case 'info':
      return 'info';
    case 'warn':
    case 'warning':
      return 'warn';
    case 'error':
    case 'fatal':
      return 'error';
    default:
      return undefined;
  }
}
