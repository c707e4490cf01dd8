-- 0004_channels (SQLite): what every channel needs from the messaging core.
-- Identities gain the channels whose addresses are provider ids (Telegram
-- chat id, Instagram-scoped user id, website chat session id); SQLite cannot
-- alter a CHECK, so the table is rebuilt with its rows. Messages record who
-- sent them (origin: agent = a person in the dashboard, api = an API key,
-- assistant, campaign, system; sent_by = the user or key id) because channel
-- rules depend on it (Instagram's HUMAN_AGENT tag is for people only), and
-- e-mail's subject and HTML part.
CREATE TABLE contact_identities_new (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('phone', 'whatsapp', 'email', 'telegram', 'instagram', 'webchat')),
    address     TEXT NOT NULL,
    contact_id  TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind, address)
);
INSERT INTO contact_identities_new (tenant_id, kind, address, contact_id, created_at)
    SELECT tenant_id, kind, address, contact_id, created_at FROM contact_identities;
DROP TABLE contact_identities;
ALTER TABLE contact_identities_new RENAME TO contact_identities;
CREATE INDEX contact_identities_contact ON contact_identities (contact_id);

ALTER TABLE messages ADD COLUMN origin TEXT NOT NULL DEFAULT 'api'
    CHECK (origin IN ('customer', 'agent', 'api', 'assistant', 'campaign', 'system'));
UPDATE messages SET origin = 'customer' WHERE direction = 'inbound';
ALTER TABLE messages ADD COLUMN sent_by TEXT;          -- user or API key id; NULL for inbound and system
ALTER TABLE messages ADD COLUMN subject TEXT;          -- e-mail
ALTER TABLE messages ADD COLUMN html TEXT;             -- e-mail: the HTML alternative of body

-- Inbound events gain the template status updates Meta sends about a
-- business's templates (rebuilt for the CHECK, as above).
CREATE TABLE inbound_events_new (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL REFERENCES channel_accounts (id),
    event_id     TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('message', 'status', 'template_status')),
    payload      TEXT NOT NULL,
    received_at  INTEGER NOT NULL,
    UNIQUE (account_id, event_id)
);
INSERT INTO inbound_events_new (id, tenant_id, account_id, event_id, kind, payload, received_at)
    SELECT id, tenant_id, account_id, event_id, kind, payload, received_at FROM inbound_events;
DROP TABLE inbound_events;
ALTER TABLE inbound_events_new RENAME TO inbound_events;

-- E-mail threading: the Message-ID of each e-mail we sent or received, so a
-- reply's In-Reply-To / References find their conversation.
ALTER TABLE messages ADD COLUMN rfc_message_id TEXT;
CREATE INDEX messages_rfc_message_id ON messages (tenant_id, rfc_message_id) WHERE rfc_message_id IS NOT NULL;

-- Suppressions: addresses no message may be sent to on a channel, for one
-- tenant or (tenant_id '') for every tenant, each with why and how it got
-- there. Checked with opt-outs by the one send gate before anything is
-- queued. channel '*' suppresses the address on every channel.
CREATE TABLE suppressions (
    tenant_id   TEXT NOT NULL,                 -- '' = the global list
    channel     TEXT NOT NULL,                 -- email | sms | whatsapp | telegram | instagram | webchat | *
    address     TEXT NOT NULL,                 -- normalised like contact_identities.address
    reason      TEXT NOT NULL DEFAULT '',      -- e.g. the bounce's SMTP answer, "bot was blocked by the user"
    source      TEXT NOT NULL CHECK (source IN ('keyword', 'bounce', 'complaint', 'unsubscribe_link', 'manual',
                                                'import', 'blocked')),
    created_by  TEXT,                          -- user or API key id for manual and import entries
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, channel, address)
);
CREATE INDEX suppressions_address ON suppressions (address);

-- Monitoring reads a tenant's messages and callbacks by time.
CREATE INDEX messages_tenant_created ON messages (tenant_id, created_at);
CREATE INDEX message_events_tenant_received ON message_events (tenant_id, received_at);
