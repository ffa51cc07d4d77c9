-- Staff search for words in the answers (machi_core::applications::search), in the intake
-- transaction. Each indexed application has an integer key here, because a full-text table
-- is keyed by integers and an application by (tenant_id, receipt_number); an explicit
-- INTEGER PRIMARY KEY, unlike an implicit rowid, survives VACUUM (and `VACUUM INTO` backups).
CREATE TABLE application_search (
    id INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    receipt_number TEXT NOT NULL,
    UNIQUE (tenant_id, receipt_number)
);
-- The answers' character pairs in order (bigram_text), so a phrase of pairs is a word.
-- Contentless: the pairs are not stored twice; contentless_delete lets a corrected
-- application's pairs be replaced. The `ascii` tokenizer splits at spaces only (every pair is
-- letters or digits), so one pair is always one token.
CREATE VIRTUAL TABLE application_search_pairs USING fts5(
    pairs,
    content = '',
    contentless_delete = 1,
    tokenize = 'ascii'
);
