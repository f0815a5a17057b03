/**
 * The names of the configured limits ([limits] and [rrl]) as they appear in
 * nekoq_limit_hits_total{limit}. Each is counted where it is enforced; every
 * name is exported from the start, so a dashboard sees 0 rather than nothing.
 */
export const LIMIT_NAMES = [
  'http_body_bytes',
  'http_header_timeout',
  'http_request_timeout',
  'http_max_connections',
  'blocking_queries',
  'dns_message_bytes',
  'dns_tcp_connections',
  'dns_tcp_connections_per_client',
  'dns_tcp_idle_timeout',
  'dns_tcp_read_timeout',
  'resolutions_per_client',
  'records_per_rrset',
  'instances_per_service',
  'kv_value_bytes',
] as const;

export type LimitName = (typeof LIMIT_NAMES)[number];

/** LimitHits counts how often each limit turned something away. */
export class LimitHits {
  private readonly counts = new Map<LimitName, number>(LIMIT_NAMES.map((n) => [n, 0]));

  hit(name: LimitName): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  get(name: LimitName): number {
    return this.counts.get(name) ?? 0;
  }

  entries(): IterableIterator<[LimitName, number]> {
    return this.counts.entries();
  }
}

/**
 * Gate admits at most `max` holders at once (blocking queries, resolutions of one
 * client); `enter` returns false when full and counts the hit.
 */
export class Gate {
  private held = 0;

  constructor(
    private readonly max: number,
    private readonly hits: LimitHits,
    private readonly name: LimitName,
  ) {}

  get active(): number {
    return this.held;
  }

  enter(): boolean {
    if (this.held >= this.max) {
      this.hits.hit(this.name);
      return false;
    }
    this.held++;
    return true;
  }

  leave(): void {
    if (this.held > 0) this.held--;
  }
}
