-- 0011_knowledge (SQLite): the assistant's knowledge base. A document
-- (kb_documents) is split into chunks (kb_chunks, rebuilt whenever the body
-- changes); kb_fts is an FTS5 index over each chunk's indexed text, its
-- rowid the chunk's id, written in the same transaction as the chunk.
-- The indexed text is the chunk text for English documents and the text
-- after the Spanish normaliser of src/assistant/ for Spanish ones (FTS5 has
-- no Spanish stemmer); the porter tokenizer stems English on top.
-- tags is a JSON array of strings. Retrieval filters by tenant and skips
-- disabled documents.
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
    UNIQUE (document_id, seq)
);
CREATE INDEX kb_chunks_tenant ON kb_chunks (tenant_id, document_id);

CREATE VIRTUAL TABLE kb_fts USING fts5(text, tokenize = 'porter unicode61 remove_diacritics 2');
