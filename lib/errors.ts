import type { LimitName } from './limits';

/**
 * The one catalogue of API errors. Every HTTP error the appliance returns is an
 * RFC 9457 problem document whose `code` is a key of `ERRORS`; the README lists
 * the same codes and a test keeps the two in step.
 */

export interface ErrorSpec {
  readonly status: number;
  readonly title: string;
}

export const ERRORS = {
  bad_json: { status: 400, title: 'request body is not valid JSON' },
  validation_failed: { status: 400, title: 'request failed validation' },
  invalid_path: { status: 400, title: 'a path segment is not valid' },
  invalid_query: { status: 400, title: 'a query parameter is not valid' },
  invalid_record: { status: 400, title: 'a record is not valid' },
  invalid_zone_file: { status: 400, title: 'the zone file is not valid' },
  body_incomplete: { status: 400, title: 'the request body ended before its declared length (the client went away or was too slow: [limits] http_request_timeout)' },
  bad_request: { status: 400, title: 'the request is not valid HTTP/1.1 (a bad byte in the request line or a header, a missing Host, bad framing)' },
  unauthorized: { status: 401, title: 'missing or unknown bearer token' },
  peer_unauthorized: { status: 401, title: 'the peer request is not signed with this cluster’s name and secret, or is outside the time window, or was replayed' },
  forbidden: { status: 403, title: "the token's role does not allow this" },
  observer_read_only: { status: 403, title: 'this node is an observer: it serves what it pulls and accepts no writes; write to a member' },
  route_not_found: { status: 404, title: 'no such endpoint' },
  instance_not_found: { status: 404, title: 'no live instance with that id: register again' },
  zone_not_found: { status: 404, title: 'no such zone' },
  rrset_not_found: { status: 404, title: 'no records of that name and type' },
  key_not_found: { status: 404, title: 'no such key' },
  method_not_allowed: { status: 405, title: 'method not allowed on this endpoint' },
  zone_exists: { status: 409, title: 'the zone exists already' },
  txn_failed: { status: 409, title: 'a transaction operation failed; nothing was written' },
  dnssec_off: { status: 409, title: 'DNSSEC signing is off on this node ([dnssec] enabled = false): there are no keys' },
  rollover_in_progress: { status: 409, title: 'a ZSK rollover of this zone is under way; start the next one after it ends' },
  recursion_off: { status: 409, title: 'recursion is off on this node ([recursion] mode = "off"): there is no resolver cache' },
  zone_read_only: { status: 409, title: 'the zone is loaded from a zone file named in the config and cannot be changed through the API' },
  limit_reached: { status: 409, title: 'a configured limit ([limits]) would be exceeded: records per RRset or instances per service' },
  request_timeout: { status: 408, title: 'the request did not arrive in time ([limits] http_header_timeout for the headers, http_request_timeout for all of it)' },
  body_too_large: { status: 413, title: 'request body is too large' },
  unsupported_media_type: { status: 415, title: 'unsupported content type' },
  headers_too_large: { status: 431, title: 'the request headers are larger than 16 KiB' },
  shutting_down: { status: 503, title: 'the node is shutting down' },
  too_many_waiters: { status: 503, title: 'too many blocking queries are waiting ([limits] blocking_queries): retry later or without index' },
  storage_failed: { status: 503, title: 'the write could not be made durable' },
  internal: { status: 500, title: 'internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** One field-level complaint inside a `validation_failed` problem. */
export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/**
 * ApiError is thrown (or returned) by any operation that must end in a problem
 * response; `detail` is safe to show to the client and never holds secrets.
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly errors: readonly FieldError[] | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  /** The configured limit this error enforces, counted in nekoq_limit_hits_total. */
  readonly limit: LimitName | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    extra?: { errors?: readonly FieldError[]; headers?: Record<string, string>; limit?: LimitName },
  ) {
    super(detail ?? ERRORS[code].title);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = detail;
    this.errors = extra?.errors;
    this.headers = extra?.headers;
    this.limit = extra?.limit;
  }
}

/** The JSON body of a problem response (RFC 9457 §3) with our `code` extension. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  instance?: string;
  errors?: readonly FieldError[];
}

/** problemBody renders an ApiError as the problem document for request path `instance`. */
export function problemBody(err: ApiError, instance?: string): ProblemBody {
  const body: ProblemBody = {
    type: `urn:nekoq:problem:${err.code}`,
    title: ERRORS[err.code].title,
    status: err.status,
    code: err.code,
  };
  if (err.detail !== undefined) body.detail = err.detail;
  if (instance !== undefined) body.instance = instance;
  if (err.errors !== undefined) body.errors = err.errors;
  return body;
}
