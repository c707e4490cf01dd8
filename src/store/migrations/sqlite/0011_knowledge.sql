-- 0011_knowledge (SQLite): the assistant's knowledge base. A document
-- (kb_documents) is split into chunks (kb_chunks, rebuilt whenever the body
-- changes); kb_fts is an FTS5 index over the chunks of enabled documents,
-- its rowid the chunk's id, written in the same transaction as the chunk
-- (a disabled document's rows are taken out, and put back when enabled).
-- Its columns: tenant, one token "t" + the tenant id in hex (searches
-- match it, so a tenant's search ranks only its own chunks), and the
-- indexed text: the chunk text for English documents, the text after the
-- Spanish normaliser of src/assistant/ for Spanish ones (kb_chunks.indexed;
-- FTS5 has no Spanish stemmer); the porter tokenizer stems English on top.
-- tags is a JSON array of strings.
CREATE TABLE kb_documents (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    id          TEXT NOT NULL PRIMARY KEY,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    tags        TEXT NOT NULL DEFAULT '[]',
    source      TEXT NOT NULL DEFAULT '',
    language    TEXT NOT NULL DEFAULT 'en',
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX kb_documents_tenant ON kb_documents (tenant_id, updated_at, id);

CREATE TABLE kb_chunks (
    id           INTEGER PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    document_id  TEXT NOT NULL REFERENCES kb_documents (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    text         TEXT NOT NULL,
    indexed      TEXT,                      -- what kb_fts indexes; NULL = text
    UNIQUE (document_id, seq)
);
CREATE INDEX kb_chunks_tenant ON kb_chunks (tenant_id, document_id);

CREATE VIRTUAL TABLE kb_fts USING fts5(tenant, text, tokenize = 'porter unicode61 remove_diacritics 2');
