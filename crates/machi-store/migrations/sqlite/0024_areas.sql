-- 町字: a city's towns (町) and the 丁目 in them, the one vocabulary of areas for notices and
-- subscriptions. An area reaches the areas nested in it and the 町 it lies in.
CREATE TABLE areas (
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    code TEXT NOT NULL DEFAULT '',
    -- The 町 of a 丁目; NULL for a 町.
    parent TEXT,
    kana TEXT NOT NULL DEFAULT '',
    -- The order of the city's list.
    position BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
CREATE INDEX areas_by_parent ON areas (tenant_id, parent);
