-- 0006_templates (PostgreSQL): message templates for every channel, with an
-- approval workflow. A template (tenant, channel, name, language; WhatsApp
-- ones also name the account whose business account holds them) has
-- numbered versions; each version's content (body, header, footer, buttons,
-- e-mail subject and HTML) is fixed once submitted, and carries its own
-- decision trail: draft -> pending (submitted by/at) -> approved | rejected
-- (decided by/at, reason). templates.version is the current version and
-- templates.status its status: a template is sendable only while its current
-- version is approved (and, on WhatsApp, Meta's own status, provider_status,
-- is approved too). Editing an approved version makes a new draft version.
-- Templates synced from Meta (source 'provider') keep working: their one
-- version is approved by Meta, so provider_status decides.
-- SQLite cannot drop NOT NULL from templates.account_id: the table is
-- rebuilt with its rows.
CREATE TABLE templates_new (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    channel          TEXT NOT NULL CHECK (channel IN ('sms', 'whatsapp', 'email', 'telegram', 'instagram',
                                                      'webchat')),
    account_id       TEXT REFERENCES channel_accounts (id), -- NULL: every account of the channel
    name             TEXT NOT NULL,
    language         TEXT NOT NULL,
    category         TEXT NOT NULL DEFAULT '',
    source           TEXT NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'provider')),
    version          INTEGER NOT NULL DEFAULT 1,
    status           TEXT NOT NULL CHECK (status IN ('draft', 'pending', 'approved', 'rejected')),
    provider_status  TEXT NOT NULL DEFAULT '',   -- WhatsApp: Meta's status, lower-case; '' = not submitted
    provider_id      TEXT,                       -- Meta's message template id
    provider_reason  TEXT,                       -- Meta's rejection reason, or why submitting failed
    is_default       INTEGER NOT NULL DEFAULT 0, -- the tenant's default e-mail template
    synced_at        BIGINT NOT NULL DEFAULT 0,  -- last seen in a complete provider listing
    created_by       TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (account_id, name, language)
);
INSERT INTO templates_new (id, tenant_id, channel, account_id, name, language, category, source, version, status,
                           provider_status, synced_at, created_by, created_at, updated_at)
    SELECT t.id, t.tenant_id, a.channel, t.account_id, t.name, t.language, t.category, 'provider', 1, 'approved',
           t.status, t.updated_at, 'provider', t.updated_at, t.updated_at
      FROM templates t JOIN channel_accounts a ON a.id = t.account_id
     WHERE a.channel IN ('sms', 'whatsapp', 'email', 'telegram', 'instagram', 'webchat');

CREATE TABLE template_versions (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    template_id   TEXT NOT NULL REFERENCES templates_new (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    body          TEXT NOT NULL DEFAULT '',
    header        TEXT,                          -- text header (WhatsApp)
    footer        TEXT,
    buttons       TEXT,                          -- JSON array of {type, text, url | phone_number}
    subject       TEXT,                          -- e-mail
    html          TEXT,                          -- e-mail: the HTML alternative of body
    variables     TEXT NOT NULL DEFAULT '[]',    -- JSON array of the placeholders' names, in first-use order
    status        TEXT NOT NULL CHECK (status IN ('draft', 'pending', 'approved', 'rejected')),
    created_by    TEXT NOT NULL DEFAULT '',      -- "user:<id>", "apikey:<id>", "system" or "provider"
    created_at    BIGINT NOT NULL,
    submitted_by  TEXT,
    submitted_at  BIGINT NOT NULL DEFAULT 0,
    decided_by    TEXT,
    decided_at    BIGINT NOT NULL DEFAULT 0,
    reason        TEXT,                          -- a rejection's reason
    PRIMARY KEY (template_id, version)
);
INSERT INTO template_versions (tenant_id, template_id, version, body, status, created_by, created_at, decided_by,
                               decided_at)
    SELECT t.tenant_id, t.id, 1, t.body, 'approved', 'provider', t.updated_at, 'provider', t.updated_at
      FROM templates t WHERE t.id IN (SELECT id FROM templates_new);
DROP TABLE templates;
ALTER TABLE templates_new RENAME TO templates;
-- Templates that belong to no account are unique per channel, name and language.
CREATE UNIQUE INDEX templates_channel_name ON templates (tenant_id, channel, name, language)
    WHERE account_id IS NULL;
-- One default template per tenant and channel.
CREATE UNIQUE INDEX templates_default ON templates (tenant_id, channel) WHERE is_default = 1;
CREATE INDEX templates_tenant ON templates (tenant_id, channel, name);

-- The inbound event log stores Meta's template status updates
-- (kind 'template_status', allowed since 0004); nothing to change there.
