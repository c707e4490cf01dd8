-- 0011_knowledge (PostgreSQL): the assistant's knowledge base. A document
-- (kb_documents) is split into chunks (kb_chunks, rebuilt whenever the body
-- changes); each chunk carries a generated tsvector in its document's
-- language (english or spanish text search configuration) under a GIN
-- index, ranked with ts_rank. tags is a JSON array of strings. Retrieval
-- filters by tenant and skips disabled documents.
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
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX kb_documents_tenant ON kb_documents (tenant_id, updated_at, id);

CREATE TABLE kb_chunks (
    id           BIGSERIAL PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    document_id  TEXT NOT NULL REFERENCES kb_documents (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    language     TEXT NOT NULL DEFAULT 'en',
    text         TEXT NOT NULL,
    tsv          tsvector GENERATED ALWAYS AS (
                   CASE WHEN language = 'es' THEN to_tsvector('spanish'::regconfig, text)
                        ELSE to_tsvector('english'::regconfig, text) END) STORED,
    UNIQUE (document_id, seq)
);
CREATE INDEX kb_chunks_tenant ON kb_chunks (tenant_id, document_id);
CREATE INDEX kb_chunks_tsv ON kb_chunks USING GIN (tsv);
