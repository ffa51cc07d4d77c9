-- 開庁日: the days a city hall is closed besides weekends and 年末年始. National holidays have
-- tenant_id '' (shared by every city; loaded from the bundled Cabinet Office list, replaced by
-- `machi import calendar`); a city's own closures have its id.
CREATE TABLE calendar_days (
    tenant_id TEXT NOT NULL,
    day TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
