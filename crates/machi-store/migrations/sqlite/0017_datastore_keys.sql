-- The datastore's primary keys and row numbers, as CKAN keeps them: primary_key is a JSON list
-- of field ids (the table holds a unique index over them); last_id is the last _id given, so
-- that a deleted row's _id is never given again. NULL for tables written before it was kept,
-- whose largest _id stands for it.
ALTER TABLE datastore_resources ADD COLUMN primary_key TEXT NOT NULL DEFAULT '[]';
ALTER TABLE datastore_resources ADD COLUMN last_id INTEGER;
