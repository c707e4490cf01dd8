-- 0009_contacts (SQLite): contacts are listed newest activity first.
-- last_activity_at is the latest of the contact's creation and its last
-- message in any conversation (kept up to date with every message recorded
-- and by merges), so the list pages by an index instead of computing a
-- maximum over conversations for every contact.
ALTER TABLE contacts ADD COLUMN last_activity_at INTEGER NOT NULL DEFAULT 0;
UPDATE contacts SET last_activity_at = MAX(created_at,
    COALESCE((SELECT MAX(cv.last_message_at) FROM conversations cv WHERE cv.contact_id = contacts.id), 0));
CREATE INDEX contacts_activity ON contacts (tenant_id, last_activity_at, id);
-- A contact's conversations (merges, engagement counts).
CREATE INDEX conversations_contact ON conversations (tenant_id, contact_id);
