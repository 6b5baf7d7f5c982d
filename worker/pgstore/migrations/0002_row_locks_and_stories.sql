-- 0002: one writer of an article at a time by the row lock of its current row, not by an
-- advisory lock per article (a bulk ingest, such as 0001's upgrade of a large table, ran out of
-- lock slots); the story id from the record's `story` object (schema_version 2+); the first
-- sink's rows, renamed by 0001, converted here.

DROP FUNCTION nw_make_current(bigint);

-- Make version `vid` its article's current row (typed columns, entities) unless a version
-- processed later is current (or always, with `force`); true if it did. The row lock the
-- upsert takes serialises concurrent writers of one article.
CREATE FUNCTION nw_make_current(vid bigint, force boolean) RETURNS boolean
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  rec jsonb;
  aid text;
  done text;
BEGIN
  SELECT record, article_id INTO rec, aid FROM article_versions WHERE version_id = vid;
  INSERT INTO articles AS a (id, version_id, submission, versions, url, canonical_url, source,
                             title, published_at, processed_at, language, story_id, summary,
                             text, entity_keys)
  SELECT aid, vid, v.submission,
         (SELECT count(*) FROM article_versions WHERE article_id = aid),
         rec->>'url', coalesce(rec->>'canonical_url', rec->>'url'),
         nw_source(rec->>'source', rec->>'url'), rec->>'title',
         nw_timestamptz(rec->>'published_at'), v.processed_at, rec->>'language',
         coalesce(rec->>'story_id', rec->'story'->>'id'), rec->'summary'->>'text',
         coalesce(rec->>'text', ''),
         coalesce((SELECT array_agg(DISTINCT nw_entity_key(e->>'type', e->>'normal'))
                     FROM jsonb_array_elements(coalesce(rec->'entities', '[]')) e), '{}')
    FROM article_versions v WHERE v.version_id = vid
  ON CONFLICT (id) DO UPDATE
     SET version_id = EXCLUDED.version_id, submission = EXCLUDED.submission,
         versions = CASE WHEN force THEN EXCLUDED.versions ELSE a.versions + 1 END,
         url = EXCLUDED.url, canonical_url = EXCLUDED.canonical_url, source = EXCLUDED.source,
         title = EXCLUDED.title, published_at = EXCLUDED.published_at,
         processed_at = EXCLUDED.processed_at, language = EXCLUDED.language,
         story_id = EXCLUDED.story_id, summary = EXCLUDED.summary, text = EXCLUDED.text,
         entity_keys = EXCLUDED.entity_keys
   WHERE force OR a.processed_at <= EXCLUDED.processed_at
  RETURNING id INTO done;
  IF done IS NULL THEN
    RETURN false;
  END IF;
  DELETE FROM article_entities WHERE article_id = aid;
  INSERT INTO article_entities (article_id, type, normal, count, salience, dated_at)
  SELECT aid, e->>'type', e->>'normal', sum((e->>'count')::integer),
         max((e->>'salience')::real), (SELECT dated_at FROM articles WHERE id = aid)
    FROM jsonb_array_elements(coalesce(rec->'entities', '[]')) e
   GROUP BY e->>'type', e->>'normal';
  RETURN true;
END $$;

-- Store one record (the sink's JSON): a new version if its (id, submission) is new; it becomes
-- the current row unless a later-processed version is already current. True if new.
CREATE OR REPLACE FUNCTION nw_ingest(rec jsonb) RETURNS boolean
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  vid bigint;
BEGIN
  INSERT INTO article_versions (article_id, submission, processed_at, record)
  VALUES (rec->>'id', coalesce(rec->>'submission', '1'), (rec->>'processed_at')::timestamptz,
          rec)
  ON CONFLICT (article_id, submission) DO NOTHING
  RETURNING version_id INTO vid;
  IF vid IS NULL THEN
    RETURN false;
  END IF;
  IF NOT nw_make_current(vid, false) THEN
    -- an older submission landing late: kept as a version only
    UPDATE articles SET versions = versions + 1 WHERE id = rec->>'id';
  END IF;
  RETURN true;
END $$;

-- Take back one stored submission (the deliver step dead-letters the article after a later
-- sink failed): the version goes; the latest one left, if any, is current again.
CREATE OR REPLACE FUNCTION nw_discard(aid text, sub text) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  vid bigint;
  latest bigint;
BEGIN
  SELECT version_id INTO vid FROM article_versions WHERE article_id = aid AND submission = sub;
  IF vid IS NULL THEN
    RETURN;
  END IF;
  DELETE FROM articles WHERE id = aid AND version_id = vid;
  DELETE FROM article_versions WHERE version_id = vid;
  SELECT version_id INTO latest FROM article_versions WHERE article_id = aid
   ORDER BY processed_at DESC, version_id DESC LIMIT 1;
  IF latest IS NOT NULL THEN
    PERFORM nw_make_current(latest, true);
  END IF;
END $$;

UPDATE articles a SET story_id = v.record->'story'->>'id'
  FROM article_versions v
 WHERE v.version_id = a.version_id AND a.story_id IS NULL AND v.record ? 'story';

DO $$
BEGIN
  IF to_regclass('articles_before_0001') IS NOT NULL THEN
    PERFORM nw_ingest(record || jsonb_build_object(
                        'id', id, 'submission', submission,
                        'processed_at', to_jsonb(processed_at)))
       FROM articles_before_0001 ORDER BY processed_at, id;
    DROP TABLE articles_before_0001;
  END IF;
END $$;
