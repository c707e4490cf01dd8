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
