-- 郵便番号 → 住所: the national postcode file (KEN_ALL.CSV), one row per postcode and town.
-- Shared by every city of a deployment: postcodes are national. Replaced whole by
-- `machi import postcodes`; the demo loads its city's own when the table is empty.
CREATE TABLE postcodes (
    postcode TEXT NOT NULL,
    seq INTEGER NOT NULL,
    prefecture TEXT NOT NULL,
    city TEXT NOT NULL,
    town TEXT NOT NULL,
    PRIMARY KEY (postcode, seq)
);
