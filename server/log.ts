import type { LogLevel } from '../lib/config/config';

/** Fields attached to a log line. Values under secret-looking keys are replaced by "[redacted]". */
export type LogFields = Record<string, unknown>;

export interface Log {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** child returns a Log that adds `fields` to every line. */
  child(fields: LogFields): Log;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /pass|secret|token|authorization|cookie|credential/i;

function redact(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEY.test(k)) out[k] = '[redacted]';
    else if (v instanceof Error) out[k] = v.message;
    else out[k] = v;
  }
  return out;
}

/**
 * createLog writes one JSON object per line to `write` (stdout by default):
 * {"time":…,"level":…,"msg":…, …fields}. Lines below `level` are dropped.
 */
export function createLog(level: LogLevel, write: (line: string) => void = (l) => process.stdout.write(l), base: LogFields = {}): Log {
  const min = RANK[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < min) return;
    const line = { time: new Date().toISOString(), level: lvl, msg, ...base, ...(fields && redact(fields)) };
    write(`${JSON.stringify(line)}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLog(level, write, { ...base, ...redact(fields) }),
  };
}
