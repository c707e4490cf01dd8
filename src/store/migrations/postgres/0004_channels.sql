-- 0004_channels (PostgreSQL): what every channel needs from the messaging
-- core. Identities gain the channels whose addresses are provider ids
-- (Telegram chat id, Instagram-scoped user id, website chat session id).
-- Messages record who sent them (origin: agent = a person in the dashboard,
-- api = an API key, assistant, campaign, system; sent_by = the user or key
-- id) because channel rules depend on it (Instagram's HUMAN_AGENT tag is for
-- people only), and e-mail's subject and HTML part.
ALTER TABLE contact_identities DROP CONSTRAINT contact_identities_kind_check;
ALTER TABLE contact_identities ADD CONSTRAINT contact_identities_kind_check
    CHECK (kind IN ('phone', 'whatsapp', 'email', 'telegram', 'instagram', 'webchat'));

ALTER TABLE messages ADD COLUMN origin TEXT NOT NULL DEFAULT 'api'
    CHECK (origin IN ('customer', 'agent', 'api', 'assistant', 'campaign', 'system'));
UPDATE messages SET origin = 'customer' WHERE direction = 'inbound';
ALTER TABLE messages ADD COLUMN sent_by TEXT;
ALTER TABLE messages ADD COLUMN subject TEXT;
ALTER TABLE messages ADD COLUMN html TEXT;

-- Inbound events gain the template status updates Meta sends about a
-- business's templates.
ALTER TABLE inbound_events DROP CONSTRAINT inbound_events_kind_check;
ALTER TABLE inbound_events ADD CONSTRAINT inbound_events_kind_check
    CHECK (kind IN ('message', 'status', 'template_status'));

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
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, channel, address)
);
CREATE INDEX suppressions_address ON suppressions (address);

-- Monitoring reads a tenant's messages and callbacks by time.
CREATE INDEX messages_tenant_created ON messages (tenant_id, created_at);
CREATE INDEX message_events_tenant_received ON message_events (tenant_id, received_at);
