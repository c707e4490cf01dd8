-- 0007_webchat (SQLite): website chat sessions. A visitor's widget starts a
-- session with the account's public widget token and keeps a secret for it;
-- only the secret's SHA-256 is stored. The session id is the visitor's
-- address (contact_identities kind 'webchat'); a session started with an
-- e-mail address is linked to that address's contact at once.
CREATE TABLE webchat_sessions (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id    TEXT NOT NULL REFERENCES channel_accounts (id),
    secret_hash   TEXT NOT NULL UNIQUE,          -- hex SHA-256 of the session secret
    contact_id    TEXT REFERENCES contacts (id) ON DELETE SET NULL,
    name          TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    ip            TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
);
CREATE INDEX webchat_sessions_account ON webchat_sessions (tenant_id, account_id, created_at);
