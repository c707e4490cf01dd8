-- 0010_inbox (SQLite): indexes behind the inbox list. Every filter of
-- GET /api/v1/conversations that narrows the list much (status, assignee,
-- channel account, unread) has an index that also gives the list's order
-- (last activity, then id, newest first), so a page reads its rows in order
-- and stops at the limit instead of sorting a tenant's whole inbox. The
-- unread count stays the per-conversation counter conversations.unread
-- (inbound messages since an agent last read the conversation).
CREATE INDEX conversations_status ON conversations (tenant_id, status, last_message_at, id);
CREATE INDEX conversations_assignee ON conversations (tenant_id, assignee_id, last_message_at, id);
CREATE INDEX conversations_account ON conversations (tenant_id, account_id, last_message_at, id);
CREATE INDEX conversations_unread ON conversations (tenant_id, last_message_at, id) WHERE unread > 0;
