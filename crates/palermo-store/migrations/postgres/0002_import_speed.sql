-- Faster bulk imports.
--
-- `entities_batch` served no query (an entity reaches its batch through the
-- batch's primary key), yet every imported row paid an index entry holding
-- the 36-character batch id.
DROP INDEX IF EXISTS entities_batch;

-- The foreign key entities.batch_id -> import_batches (id) was checked row by
-- row: a locking lookup per row, about a third of the server's time in an
-- import's COPY. The same rule is now checked once per statement over the
-- statement's new rows (a transition table), and a batch that entities name
-- cannot be deleted or renumbered.
ALTER TABLE entities DROP CONSTRAINT IF EXISTS entities_batch_id_fkey;

CREATE FUNCTION entities_batch_exists() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing TEXT;
BEGIN
    SELECT n.batch_id INTO missing FROM new_rows n
        WHERE NOT EXISTS (SELECT 1 FROM import_batches b WHERE b.id = n.batch_id)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entities.batch_id % names no import batch', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER entities_batch_exists_insert AFTER INSERT ON entities
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entities_batch_exists();
CREATE TRIGGER entities_batch_exists_update AFTER UPDATE ON entities
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION entities_batch_exists();

CREATE FUNCTION import_batches_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM entities WHERE batch_id = OLD.id) THEN
        RAISE EXCEPTION 'import batch % still has entities', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER import_batches_keep BEFORE DELETE OR UPDATE OF id ON import_batches
    FOR EACH ROW EXECUTE FUNCTION import_batches_keep();
