-- 0003_messaging (PostgreSQL): what the messaging core stores. Channel accounts
-- (credentials sealed in secrets under "channel/<account id>"), contacts and
-- their channel identities, conversations, messages and their status history,
-- inbound webhook events (the receipt is their unique (account, event id)),
-- security events, opt-outs, provider templates, tenant settings and the
-- realtime event log that WebSocket clients resume from.
-- Times are Unix milliseconds; 0 or NULL means "not yet".
CREATE TABLE channel_accounts (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    provider     TEXT NOT NULL,                -- twilio | whatsapp (the adapter)
    channel      TEXT NOT NULL,                -- sms | whatsapp (what users see and filter by)
    name         TEXT NOT NULL DEFAULT '',
    account_key  TEXT NOT NULL UNIQUE,         -- public: /webhooks/<provider>/<account_key>
    address      TEXT NOT NULL DEFAULT '',     -- our sender: E.164 number, messaging service or phone number id
    created_at   BIGINT NOT NULL,
    removed_at   BIGINT NOT NULL DEFAULT 0    -- removed accounts keep their history and take no webhooks
);
CREATE INDEX channel_accounts_tenant ON channel_accounts (tenant_id, created_at);

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX contacts_tenant ON contacts (tenant_id, created_at, id);

-- One row per way to reach a contact; address is normalised (E.164 for phone
-- and whatsapp, lower-case for email), so it is the lookup key for inbound.
CREATE TABLE contact_identities (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('phone', 'whatsapp', 'email')),
    address     TEXT NOT NULL,
    contact_id  TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, address)
);
CREATE INDEX contact_identities_contact ON contact_identities (contact_id);

-- One conversation per contact and channel account; a new inbound message
-- reopens a resolved one.
CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    contact_id       TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    account_id       TEXT NOT NULL REFERENCES channel_accounts (id),
    channel          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'resolved')),
    assignee_id      TEXT,
    last_message_at  BIGINT NOT NULL,
    last_inbound_at  BIGINT NOT NULL DEFAULT 0, -- the customer's last message: messaging windows
    unread           INTEGER NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (tenant_id, contact_id, account_id)
);
CREATE INDEX conversations_list ON conversations (tenant_id, last_message_at, id);

-- status: inbound messages are 'received'; outbound ones move
-- queued -> sent -> delivered -> read, or end failed | undelivered.
CREATE TABLE messages (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    conversation_id      TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    account_id           TEXT NOT NULL REFERENCES channel_accounts (id),
    direction            TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    address              TEXT NOT NULL DEFAULT '', -- the customer's: sender (inbound) or recipient (outbound), normalised
    type                 TEXT NOT NULL DEFAULT 'text',
    body                 TEXT NOT NULL DEFAULT '',
    media                TEXT,                 -- JSON array of {url, id, content_type}
    template             TEXT,                 -- JSON {name, language, variables}
    status               TEXT NOT NULL CHECK (status IN ('received', 'queued', 'sent', 'delivered', 'read',
                                                         'failed', 'undelivered')),
    provider_message_id  TEXT,
    error_code           TEXT,
    error_text           TEXT,
    idempotency_key      TEXT,                 -- the outbound API's Idempotency-Key
    created_at           BIGINT NOT NULL,     -- received (inbound) or accepted and queued (outbound)
    sent_at              BIGINT NOT NULL DEFAULT 0,
    delivered_at         BIGINT NOT NULL DEFAULT 0,
    read_at              BIGINT NOT NULL DEFAULT 0,
    failed_at            BIGINT NOT NULL DEFAULT 0,
    updated_at           BIGINT NOT NULL,
    UNIQUE (account_id, provider_message_id)
);
CREATE INDEX messages_conversation ON messages (conversation_id, created_at, id);
-- Only outbound messages sent with an Idempotency-Key have one: inbound ones stay out of the index.
CREATE UNIQUE INDEX messages_idempotency ON messages (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Every status callback, applied or not (a late or repeated one is kept with
-- applied = 0). received_at - provider_ts is the callback latency.
CREATE TABLE message_events (
    id           BIGSERIAL PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    message_id   TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    status       TEXT NOT NULL,
    provider_ts  BIGINT NOT NULL DEFAULT 0,
    received_at  BIGINT NOT NULL,
    error_code   TEXT,
    error_text   TEXT,
    applied      INTEGER NOT NULL
);
CREATE INDEX message_events_message ON message_events (message_id, id);

-- Webhook ingestion: one row per provider event, written with its
-- inbound.process job in the transaction that precedes the 200. The unique
-- (account_id, event_id) is the receipt that makes a redelivery a no-op.
CREATE TABLE inbound_events (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL REFERENCES channel_accounts (id),
    event_id     TEXT NOT NULL,                -- provider id, or sha256 of the canonical payload
    kind         TEXT NOT NULL CHECK (kind IN ('message', 'status')),
    payload      TEXT NOT NULL,                -- the normalised event, JSON
    received_at  BIGINT NOT NULL,
    UNIQUE (account_id, event_id)
);

-- Refused webhooks and other security-relevant refusals; never a payload.
CREATE TABLE security_events (
    id          BIGSERIAL PRIMARY KEY,
    tenant_id   TEXT,                          -- NULL when no tenant could be named
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,                 -- e.g. webhook_refused
    provider    TEXT NOT NULL DEFAULT '',
    account_id  TEXT,
    ip          TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL                  -- bad_signature | missing_signature | replay | …
);
CREATE INDEX security_events_tenant ON security_events (tenant_id, at);

-- Addresses that opted out of one channel account (STOP and friends).
CREATE TABLE opt_outs (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES channel_accounts (id),
    address     TEXT NOT NULL,                 -- normalised like contact_identities.address
    keyword     TEXT NOT NULL DEFAULT '',
    source      TEXT NOT NULL,                 -- keyword | manual
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, address)
);

-- Message templates known for a channel account (WhatsApp: synced from Meta,
-- whose approval is what allows sending outside the 24-hour window).
CREATE TABLE templates (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES channel_accounts (id),
    name        TEXT NOT NULL,
    language    TEXT NOT NULL,
    category    TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,                 -- approved | pending | rejected | paused | disabled
    updated_at  BIGINT NOT NULL,
    UNIQUE (account_id, name, language)
);

CREATE TABLE tenant_settings (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- The realtime event log: seq is per tenant (1, 2, …), assigned in commit
-- order, and is the id a WebSocket client resumes from.
CREATE TABLE events (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    type        TEXT NOT NULL,
    data        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX events_created ON events (created_at);

-- The job queue's indexes, one partial index per state, each shaped for its
-- one use, so a claim is a short index walk however long the backlog of
-- another type and a job's writes (insert, claim, outcome) move one small
-- index entry each: ready jobs by type (claims), running ones by lease
-- (expired leases), done ones by age (pruning), dead ones per tenant (the
-- dead-letter list).
DROP INDEX jobs_claim;
DROP INDEX jobs_tenant_state;
CREATE INDEX jobs_ready ON jobs (type, run_at) WHERE state = 'queued';
CREATE INDEX jobs_lease ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_done ON jobs (run_at) WHERE state = 'done';
CREATE INDEX jobs_dead ON jobs (tenant_id, updated_at) WHERE state = 'dead';
