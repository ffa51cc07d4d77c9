-- Residents' answers to 「この回答は役に立ちましたか」 under each FAQ answer, counted per entry
-- (kept by id, so they survive the FAQ being imported again).
CREATE TABLE faq_feedback (
    tenant_id TEXT NOT NULL,
    faq_id TEXT NOT NULL,
    helpful BIGINT NOT NULL DEFAULT 0,
    unhelpful BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, faq_id)
);
