-- 0001: the query store. Typed tables for the analyst; every submission kept as a version.
-- A table `articles (id, submission, processed_at, record jsonb)` left by the first postgres
-- sink is upgraded in place: renamed here, its rows go through nw_ingest like new records in
-- 0002, then it is dropped.

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM information_schema.columns
              WHERE table_schema = current_schema() AND table_name = 'articles'
                AND column_name = 'record') THEN
    ALTER TABLE articles RENAME TO articles_before_0001;
    ALTER INDEX IF EXISTS articles_pkey RENAME TO articles_before_0001_pkey;
  END IF;
END $$;

CREATE TABLE article_versions (
    version_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id   text NOT NULL,
    submission   text NOT NULL,
    processed_at timestamptz NOT NULL,
    record       jsonb NOT NULL,
    UNIQUE (article_id, submission)
);

CREATE TABLE articles (
    id            text PRIMARY KEY,
    version_id    bigint NOT NULL REFERENCES article_versions (version_id),
    submission    text NOT NULL,
    versions      integer NOT NULL DEFAULT 1,
    url           text,
    canonical_url text,
    source        text,
    title         text,
    published_at  timestamptz,
    processed_at  timestamptz NOT NULL,
    dated_at      timestamptz GENERATED ALWAYS AS (coalesce(published_at, processed_at)) STORED,
    language      text,
    story_id      text,
    summary       text,
    text          text NOT NULL,
    entity_keys   text[] NOT NULL DEFAULT '{}',
    tsv           tsvector GENERATED ALWAYS AS (
                      setweight(to_tsvector('russian', coalesce(title, '')), 'A')
                      || setweight(to_tsvector('russian', text), 'B')) STORED
);
COMMENT ON COLUMN articles.dated_at IS 'published_at, else processed_at: what time filters use';
COMMENT ON COLUMN articles.entity_keys IS 'TYPE:normal (lower case, ё as е) of each entity';

CREATE INDEX articles_dated ON articles (dated_at DESC, id DESC);
CREATE INDEX articles_source ON articles (source, dated_at DESC, id DESC);
CREATE INDEX articles_story ON articles (story_id) WHERE story_id IS NOT NULL;
CREATE INDEX articles_entities ON articles USING gin (entity_keys);
CREATE INDEX articles_tsv ON articles USING gin (tsv);

CREATE TABLE article_entities (
    article_id text NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    type       text NOT NULL,
    normal     text NOT NULL,
    count      integer NOT NULL,
    salience   real NOT NULL,
    dated_at   timestamptz NOT NULL,
    PRIMARY KEY (article_id, type, normal)
);
CREATE INDEX article_entities_by_time ON article_entities (type, dated_at);
CREATE INDEX article_entities_by_name ON article_entities (type, normal, dated_at);

-- An ISO timestamp or date (a date is midnight UTC); NULL for anything else.
CREATE FUNCTION nw_timestamptz(value text) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET timezone TO 'UTC' AS $$
BEGIN
  IF value IS NULL OR value !~ '^\d{4}-\d{2}-\d{2}' THEN
    RETURN NULL;
  END IF;
  RETURN value::timestamptz;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $$;

-- The source of a record: its `source`, else its URL's host; lower case, without `www.`.
CREATE FUNCTION nw_source(source text, url text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT nullif(regexp_replace(lower(coalesce(nullif(btrim(source), ''),
                substring(url FROM '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?([^/?#:]+)'))),
                '^www\.', ''), '')
$$;

CREATE FUNCTION nw_entity_key(type text, normal text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT type || ':' || replace(lower(normal), 'ё', 'е') $$;

-- Make version `vid` its article's current row (typed columns, entities); the number of
-- versions kept is counted afresh.
CREATE FUNCTION nw_make_current(vid bigint) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  rec jsonb;
  aid text;
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
         rec->>'story_id', rec->'summary'->>'text', coalesce(rec->>'text', ''),
         coalesce((SELECT array_agg(DISTINCT nw_entity_key(e->>'type', e->>'normal'))
                     FROM jsonb_array_elements(coalesce(rec->'entities', '[]')) e), '{}')
    FROM article_versions v WHERE v.version_id = vid
  ON CONFLICT (id) DO UPDATE
     SET version_id = EXCLUDED.version_id, submission = EXCLUDED.submission,
         versions = EXCLUDED.versions, url = EXCLUDED.url,
         canonical_url = EXCLUDED.canonical_url, source = EXCLUDED.source,
         title = EXCLUDED.title, published_at = EXCLUDED.published_at,
         processed_at = EXCLUDED.processed_at, language = EXCLUDED.language,
         story_id = EXCLUDED.story_id, summary = EXCLUDED.summary, text = EXCLUDED.text,
         entity_keys = EXCLUDED.entity_keys;
  DELETE FROM article_entities WHERE article_id = aid;
  INSERT INTO article_entities (article_id, type, normal, count, salience, dated_at)
  SELECT aid, e->>'type', e->>'normal', sum((e->>'count')::integer),
         max((e->>'salience')::real), (SELECT dated_at FROM articles WHERE id = aid)
    FROM jsonb_array_elements(coalesce(rec->'entities', '[]')) e
   GROUP BY e->>'type', e->>'normal';
END $$;

-- Store one record (the sink's JSON): a new version if its (id, submission) is new; it becomes
-- the current row unless a later-processed version is already current. True if new.
CREATE FUNCTION nw_ingest(rec jsonb) RETURNS boolean
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  vid bigint;
  processed timestamptz := (rec->>'processed_at')::timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('nw-article:' || (rec->>'id')));
  INSERT INTO article_versions (article_id, submission, processed_at, record)
  VALUES (rec->>'id', coalesce(rec->>'submission', '1'), processed, rec)
  ON CONFLICT (article_id, submission) DO NOTHING
  RETURNING version_id INTO vid;
  IF vid IS NULL THEN
    RETURN false;
  END IF;
  IF EXISTS (SELECT 1 FROM articles WHERE id = rec->>'id' AND processed_at > processed) THEN
    -- an older submission landing late: kept as a version only
    UPDATE articles SET versions = versions + 1 WHERE id = rec->>'id';
  ELSE
    PERFORM nw_make_current(vid);
  END IF;
  RETURN true;
END $$;

-- Take back one stored submission (the deliver step dead-letters the article after a later
-- sink failed): the version goes; the latest one left, if any, is current again.
CREATE FUNCTION nw_discard(aid text, sub text) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  vid bigint;
  latest bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('nw-article:' || aid));
  SELECT version_id INTO vid FROM article_versions WHERE article_id = aid AND submission = sub;
  IF vid IS NULL THEN
    RETURN;
  END IF;
  DELETE FROM articles WHERE id = aid AND version_id = vid;
  DELETE FROM article_versions WHERE version_id = vid;
  SELECT version_id INTO latest FROM article_versions WHERE article_id = aid
   ORDER BY processed_at DESC, version_id DESC LIMIT 1;
  IF latest IS NOT NULL THEN
    PERFORM nw_make_current(latest);
  END IF;
END $$;

-- The first sink's rows (articles_before_0001) are converted by 0002, once its functions
-- stand (edited after 0001 first shipped: its conversion, with a lock per article, could run
-- out of lock slots on a large table; a database that already ran it has no such table left).
