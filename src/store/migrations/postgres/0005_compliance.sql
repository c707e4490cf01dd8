-- Compliance: the review queue for replies that look like an opt-out but are
-- not a carrier keyword ("please stop texting me"). Such a reply opts nobody
-- out by itself; it waits here until a person opts the sender out or
-- dismisses it.
CREATE TABLE compliance_reviews (
    id           TEXT PRIMARY KEY,              -- "crv_…", time-ordered
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id   TEXT NOT NULL,                 -- the channel account the reply came to
    channel      TEXT NOT NULL,
    address      TEXT NOT NULL,                 -- the sender, normalised like contact_identities.address
    message_id   TEXT NOT NULL,                 -- the inbound message
    excerpt      TEXT NOT NULL,                 -- the start of the reply
    phrase       TEXT NOT NULL,                 -- what the matcher recognised
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'opted_out', 'dismissed')),
    created_at   BIGINT NOT NULL,
    resolved_at  BIGINT,
    resolved_by  TEXT
);
CREATE UNIQUE INDEX compliance_reviews_message ON compliance_reviews (tenant_id, message_id);
CREATE INDEX compliance_reviews_status ON compliance_reviews (tenant_id, status, id);
-- The suppression list API lists a tenant's entries newest first.
CREATE INDEX suppressions_tenant_created ON suppressions (tenant_id, created_at);
