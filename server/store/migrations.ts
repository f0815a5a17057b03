/**
 * Numbered schema migrations. Migration i (1-based) brings PRAGMA user_version
 * from i-1 to i; applied ones are never edited, only new ones appended.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: bookkeeping, generated secrets, the journal of live instances.
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  CREATE TABLE instances (
    type          TEXT NOT NULL,
    name          TEXT NOT NULL,
    id            TEXT NOT NULL,
    spec          TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    renewed_at    INTEGER NOT NULL,
    create_index  INTEGER NOT NULL,
    modify_index  INTEGER NOT NULL,
    PRIMARY KEY (type, name, id)
  ) STRICT, WITHOUT ROWID;
  `,
  // 2: operator zones (issue #3). RRset values are a JSON array of presentation-format strings.
  `
  CREATE TABLE zones (
    name       TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE rrsets (
    zone  TEXT NOT NULL REFERENCES zones (name) ON DELETE CASCADE,
    name  TEXT NOT NULL,
    type  TEXT NOT NULL,
    ttl   INTEGER NOT NULL,
    rdata TEXT NOT NULL,
    PRIMARY KEY (zone, name, type)
  ) STRICT, WITHOUT ROWID;
  `,
  // 3: the KV store (issue #4). The store-wide index is meta 'kv_index'.
  `
  CREATE TABLE kv (
    key          TEXT PRIMARY KEY,
    value        BLOB NOT NULL,
    flags        INTEGER NOT NULL,
    create_index INTEGER NOT NULL,
    modify_index INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  `,
  // 4: replication (issue #5). One row per replicated key: the newest version this node
  // holds, its owner, clock stamp and the owner's seq; value NULL is a tombstone. The
  // feed position, epoch and floor are meta 'repl_head', 'repl_epoch', 'repl_floor'.
  // Instances remember their owner ('' for this node); peers' feed positions persist.
  `
  CREATE TABLE repl (
    kind   TEXT NOT NULL,
    key    TEXT NOT NULL,
    origin TEXT NOT NULL,
    hlc    TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    value  TEXT,
    at     INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX repl_feed ON repl (origin, seq);
  CREATE INDEX repl_tombstones ON repl (at) WHERE value IS NULL;
  ALTER TABLE instances ADD COLUMN origin TEXT NOT NULL DEFAULT '';
  CREATE TABLE peer_cursors (
    peer  TEXT PRIMARY KEY,
    epoch TEXT NOT NULL,
    seq   INTEGER NOT NULL
  ) STRICT;
  `,
  // 5: DNSSEC keys (issue #8): each zone's KSK and ZSKs with their timeline (ms since
  // the epoch; NULL = not scheduled). The private key is PKCS#8 DER and never leaves
  // this table except into the signer.
  `
  CREATE TABLE dnssec_keys (
    zone        TEXT NOT NULL,
    key_tag     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('ksk', 'zsk')),
    algorithm   INTEGER NOT NULL,
    private_key BLOB NOT NULL,
    publish_at  INTEGER NOT NULL,
    activate_at INTEGER NOT NULL,
    inactive_at INTEGER,
    remove_at   INTEGER,
    PRIMARY KEY (zone, key_tag, created_at)
  ) STRICT;
  `,
];
