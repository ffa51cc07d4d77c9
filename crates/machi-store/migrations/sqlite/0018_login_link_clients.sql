-- Which client asked for each sign-in link (the SHA-256 of its address, or of its IPv6 /64),
-- so that one client cannot have links mailed to any number of addresses. Hashed: the limit
-- needs only to tell clients apart, not to know where residents are.
ALTER TABLE resident_login_links ADD COLUMN client_sha256 TEXT;
CREATE INDEX resident_login_links_by_client ON resident_login_links (client_sha256, created_at);
