-- The durable job queue (DESIGN.md §2): one row per job, claimed with a lease.
-- state: queued | running | done | dead. Times are Unix ms. A job is ready when
-- queued with run_at <= now, or running with an expired lease (lease_until < now).
-- idempotency_key is unique per type; NULL keys never collide.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    type             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    run_at           INTEGER NOT NULL,
    lease_until      INTEGER NOT NULL DEFAULT 0,
    locked_by        TEXT,
    last_error       TEXT,
    idempotency_key  TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (type, idempotency_key)
);
CREATE INDEX jobs_claim ON jobs (state, run_at);
CREATE INDEX jobs_tenant_state ON jobs (tenant_id, state);
