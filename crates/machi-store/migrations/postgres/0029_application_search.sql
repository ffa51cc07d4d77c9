-- Staff search for words in the answers (machi_core::applications::search), in the intake
-- transaction: the answers folded (one per line) and the set of their character pairs under a
-- GIN index, which finds the candidates; the folded text then confirms each word. Built-in
-- array GIN rather than pg_trgm: no extension to install, and two-character words (山田)
-- are found, which trigrams cannot do.
CREATE TABLE application_search (
    tenant_id TEXT NOT NULL,
    receipt_number TEXT NOT NULL,
    folded TEXT NOT NULL,
    pairs TEXT[] NOT NULL,
    PRIMARY KEY (tenant_id, receipt_number)
);
CREATE INDEX application_search_by_pair ON application_search USING GIN (pairs);
