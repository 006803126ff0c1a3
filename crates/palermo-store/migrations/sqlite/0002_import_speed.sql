-- Faster bulk imports.
--
-- `entities_batch` served no query (an entity reaches its batch through the
-- batch's primary key), yet every imported row paid an index entry holding
-- the 36-character batch id.
DROP INDEX IF EXISTS entities_batch;
