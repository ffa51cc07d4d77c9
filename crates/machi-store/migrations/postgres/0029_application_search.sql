-- Staff search for words in the answers (machi_core::applications::search), in the intake
-- transaction: the answers' terms in order (answer_terms) and the set of them under a GIN
-- index, which finds the candidates; the ordered text then confirms that each word's terms
-- stand together. Built-in array GIN rather than pg_trgm: no extension to install, and
-- two-character words (山田) are found, which trigrams cannot do. `submitted_at` (the
-- application's) lets a search look at the newest applications first: the planner combines
-- its B-tree with the GIN index (BitmapAnd), so a common name reads only recent candidates.
CREATE TABLE application_search (
    tenant_id TEXT NOT NULL,
    receipt_number TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    terms TEXT NOT NULL,
    term_set TEXT[] NOT NULL,
    PRIMARY KEY (tenant_id, receipt_number)
);
CREATE INDEX application_search_by_term ON application_search USING GIN (term_set);
CREATE INDEX application_search_by_time ON application_search (tenant_id, submitted_at);
-- Applications stored before the index existed are indexed when machi next opens; this row
-- says that is still to do (it goes when done), so that an up-to-date database is not read
-- through on every start.
CREATE TABLE application_search_backlog (pending INTEGER NOT NULL);
INSERT INTO application_search_backlog (pending) VALUES (1);
