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
-- The answers' terms in order (answer_terms: kanji and kana pairs, whole Latin words), so a
-- phrase of terms is a word. Contentless: the terms are not stored twice; contentless_delete
-- lets a corrected application's terms be replaced. The `ascii` tokenizer splits at ASCII
-- spaces and marks only, and every term is letters and digits, so one term is one token.
CREATE VIRTUAL TABLE application_search_terms USING fts5(
    terms,
    content = '',
    contentless_delete = 1,
    tokenize = 'ascii'
);
-- Applications stored before the index existed are indexed when machi next opens; this row
-- says that is still to do (it goes when done), so that an up-to-date database is not read
-- through on every start.
CREATE TABLE application_search_backlog (pending INTEGER NOT NULL);
INSERT INTO application_search_backlog (pending) VALUES (1);
