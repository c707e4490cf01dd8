-- 0013_kb_vocab (SQLite): what knowledge base searches need to leave out
-- the words that occur in a large share of the chunks (src/store/store_kb.c
-- explains the rule). FTS5 does not store a word's document frequency:
-- kb_fts_vocab reads it by walking the word's posting list, which costs
-- about as much as searching for it, so the frequent words are kept apart
-- in kb_common (refreshed from kb_fts_vocab by the writes, whenever the
-- index has changed by a tenth since the last refresh; empty below 1,000
-- chunks). kb_fts_stats counts kb_fts's rows (one row, id 1). kb_tok is
-- SQLite's porter tokenizer, which turns a query word into the term the
-- index holds ("shipping" -> "ship") to look it up in kb_common.
CREATE VIRTUAL TABLE kb_fts_vocab USING fts5vocab(kb_fts, 'row');
CREATE VIRTUAL TABLE kb_tok USING fts3tokenize(porter);

CREATE TABLE kb_common (
    term  TEXT NOT NULL PRIMARY KEY,      -- an index term (stemmed)
    doc   INTEGER NOT NULL                -- chunks holding it, at the refresh
) WITHOUT ROWID;

CREATE TABLE kb_fts_stats (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    chunks             INTEGER NOT NULL,  -- rows in kb_fts now
    chunks_at_refresh  INTEGER NOT NULL   -- rows when kb_common was computed (0: never)
);
INSERT INTO kb_fts_stats (id, chunks, chunks_at_refresh) VALUES (1, (SELECT COUNT(*) FROM kb_fts), 0);
INSERT INTO kb_common (term, doc)
    SELECT term, doc FROM kb_fts_vocab, kb_fts_stats s
    WHERE s.chunks >= 1000 AND doc > s.chunks / 20;
UPDATE kb_fts_stats SET chunks_at_refresh = chunks WHERE chunks >= 1000;
