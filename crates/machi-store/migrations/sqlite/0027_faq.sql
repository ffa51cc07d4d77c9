-- よくある質問: a city's questions and answers, each leading to its procedures.
CREATE TABLE faq_entries (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    department_code TEXT NOT NULL DEFAULT '',
    department TEXT NOT NULL DEFAULT '',
    question_ja TEXT NOT NULL,
    question_en TEXT NOT NULL DEFAULT '',
    answer_ja TEXT NOT NULL,
    answer_en TEXT NOT NULL DEFAULT '',
    -- JSON arrays of procedure ids and keywords.
    procedures TEXT NOT NULL DEFAULT '[]',
    keywords TEXT NOT NULL DEFAULT '[]',
    position BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
