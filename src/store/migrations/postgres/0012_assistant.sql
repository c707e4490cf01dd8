-- 0012_assistant (PostgreSQL): the assistant's configuration, turns, drafts and
-- logs.
-- agent_configs: every saved configuration is a new version (1, 2, …) of
-- the tenant's agent; the current one is the highest. config is the
-- canonical JSON text (assistant_config_json); the provider's API key is
-- never in it (sealed apart as secret "assistant/llm_api_key").
CREATE TABLE agent_configs (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    config      TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',      -- "rollback to 3", or the author's words
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

-- llm_usage: one row per assistant turn (an inbound message the assistant
-- looked at), whatever it decided. outcome moves on when a person decides
-- a draft: sent | drafted | approved | edited | rejected | handed_over |
-- stale | emergency | failed. cost is in millionths of the currency unit
-- of the tenant's price setting.
CREATE TABLE llm_usage (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    conversation_id    TEXT NOT NULL,
    message_id         TEXT NOT NULL,                 -- the inbound message answered
    channel            TEXT NOT NULL DEFAULT '',
    provider           TEXT NOT NULL DEFAULT '',      -- llm | extractive | none
    model              TEXT NOT NULL DEFAULT '',
    prompt_tokens      BIGINT NOT NULL DEFAULT 0,
    completion_tokens  BIGINT NOT NULL DEFAULT 0,
    latency_ms         BIGINT NOT NULL DEFAULT 0,
    cost_micros        BIGINT NOT NULL DEFAULT 0,
    intent             TEXT NOT NULL DEFAULT '',
    confidence         DOUBLE PRECISION NOT NULL DEFAULT 0,
    outcome            TEXT NOT NULL,
    reason             TEXT NOT NULL DEFAULT '',
    config_version     BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (tenant_id, message_id)
);
CREATE INDEX llm_usage_time ON llm_usage (tenant_id, created_at);

-- assistant_drafts: a reply waiting for a person. status: pending ->
-- sent (approved as is or edited) | rejected | stale (the customer wrote
-- again first) | handed_over. alternatives is a JSON array of strings.
CREATE TABLE assistant_drafts (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    conversation_id    TEXT NOT NULL,
    account_id         TEXT NOT NULL,
    contact_id         TEXT NOT NULL,
    inbound_message_id TEXT NOT NULL,
    usage_id           TEXT NOT NULL,
    text               TEXT NOT NULL,
    alternatives       TEXT NOT NULL DEFAULT '[]',
    reason             TEXT NOT NULL DEFAULT '',
    intent             TEXT NOT NULL DEFAULT '',
    confidence         DOUBLE PRECISION NOT NULL DEFAULT 0,
    status             TEXT NOT NULL DEFAULT 'pending',
    final_text         TEXT,
    edit_distance      INTEGER,
    reject_reason      TEXT NOT NULL DEFAULT '',
    decided_by         TEXT NOT NULL DEFAULT '',
    decided_at         BIGINT NOT NULL DEFAULT 0,
    sent_message_id    TEXT NOT NULL DEFAULT '',
    escalated_at       BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    UNIQUE (tenant_id, inbound_message_id)
);
CREATE INDEX assistant_drafts_status ON assistant_drafts (tenant_id, status, created_at, id);
CREATE INDEX assistant_drafts_conversation ON assistant_drafts (tenant_id, conversation_id, status);

-- assistant_logs: what was sent to the provider and what came back, PII
-- redacted before it is written; deleted after the tenant's retention.
CREATE TABLE assistant_logs (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    usage_id    TEXT NOT NULL,
    prompt      TEXT NOT NULL,
    response    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX assistant_logs_time ON assistant_logs (tenant_id, created_at);

-- assistant_pauses: conversations handed over to a person; the assistant
-- stays quiet in them until a person resumes it (the row is deleted).
CREATE TABLE assistant_pauses (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    conversation_id  TEXT NOT NULL,
    reason           TEXT NOT NULL DEFAULT '',
    paused_by        TEXT NOT NULL DEFAULT '',     -- a user id, or "" for the assistant itself
    paused_at        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, conversation_id)
);
