-- えらべる化: the categories of notices a city sets for itself (none: machi's defaults), in the
-- order residents see them, each with the CAP <category> it maps to.
CREATE TABLE notice_categories (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    label_ja TEXT NOT NULL,
    label_en TEXT NOT NULL DEFAULT '',
    cap_category TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
