-- Smaller, cheaper entity rows for bulk imports.
--
-- `properties` and `markings` become TEXT: no query reads inside them (every
-- reader takes the whole JSON text and parses it in Rust), yet JSONB made the
-- server parse and re-encode both documents of every imported row, the
-- largest part of its work in an import's COPY after the per-row checks.
-- The texts written are the store's own `serde_json` output; JSONB's text
-- form of existing rows is valid JSON too and parses to the same values.
--
-- `content_hash` becomes the 32 bytes of the BLAKE3 hash instead of 64 hex
-- characters. Any other stored text (there is none outside tests) is kept
-- byte for byte.
ALTER TABLE entities
    ALTER COLUMN properties TYPE TEXT USING properties::text,
    ALTER COLUMN markings TYPE TEXT USING markings::text,
    ALTER COLUMN content_hash TYPE BYTEA USING
        CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex')
             ELSE convert_to(content_hash, 'UTF8') END;

-- The statement-level batch check of migration 0002 probed import_batches
-- once per new row; an import's rows all name the same batch, so the check
-- now looks up each distinct batch id once.
CREATE OR REPLACE FUNCTION entities_batch_exists() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing TEXT;
BEGIN
    SELECT n.batch_id INTO missing FROM (SELECT DISTINCT batch_id FROM new_rows) n
        WHERE NOT EXISTS (SELECT 1 FROM import_batches b WHERE b.id = n.batch_id)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'entities.batch_id % names no import batch', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
