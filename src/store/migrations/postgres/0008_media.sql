-- 0008_media (PostgreSQL): inbound media downloaded from the providers into the
-- local media store. One row per item of a message's media array (item =
-- its index), created pending with the message and filled by the
-- media.fetch job: the stored file (storage_key, named by content hash under
-- the tenant's directory), its size and sha256, the type we serve (sniffed
-- from the bytes) beside the type the provider claimed; or failed with why
-- (too large, provider refusal, retries exhausted). The message itself is
-- never lost with its media.
CREATE TABLE media (
    id                     TEXT PRIMARY KEY,
    tenant_id              TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    message_id             TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    account_id             TEXT NOT NULL REFERENCES channel_accounts (id),
    item                   INTEGER NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('pending', 'stored', 'failed')),
    source_url             TEXT,                 -- Twilio MediaUrlN, Telegram file, …
    provider_media_id      TEXT,                 -- WhatsApp media id
    provider_content_type  TEXT,                 -- what the provider claimed
    content_type           TEXT,                 -- what we serve (sniffed)
    size                   BIGINT NOT NULL DEFAULT 0,
    sha256                 TEXT,
    storage_key            TEXT,                 -- <tenant>/<xx>/<sha256> under SB_MEDIA_DIR
    error_code             TEXT,
    error_text             TEXT,
    attempts               BIGINT NOT NULL DEFAULT 0,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    UNIQUE (message_id, item)
);
CREATE INDEX media_tenant ON media (tenant_id, created_at);
