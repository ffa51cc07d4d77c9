-- 避難情報: a notice's 警戒レベル (3, 4 or 5; NULL when it is no evacuation notice) and whether
-- it is lifted (解除, 1) or issued (発令, 0).
ALTER TABLE notices ADD COLUMN evacuation_level BIGINT;
ALTER TABLE notices ADD COLUMN evacuation_lifted BIGINT NOT NULL DEFAULT 0;
