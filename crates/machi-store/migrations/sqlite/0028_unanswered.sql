-- Questions residents asked at the answer desk that machi had no good answer to, for staff to
-- answer (as an FAQ entry); the same question asked again counts up.
CREATE TABLE unanswered_questions (
    tenant_id TEXT NOT NULL,
    question_key TEXT NOT NULL,
    question TEXT NOT NULL,
    times BIGINT NOT NULL,
    first_asked_at TEXT NOT NULL,
    last_asked_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, question_key)
);
