-- Wording a city sets for itself where the law leaves it to the city (the 教示 of how to appeal
-- a refusal, …), by key; without a row, machi's default wording with the city's name is used.
CREATE TABLE city_texts (
    tenant_id TEXT NOT NULL,
    key TEXT NOT NULL,
    ja TEXT NOT NULL,
    en TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
