-- 0003: articles in the order they landed (the pages' live front page polls for those
-- processed after the newest it shows).
CREATE INDEX articles_landed ON articles (processed_at DESC, id DESC);
