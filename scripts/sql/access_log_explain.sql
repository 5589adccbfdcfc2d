-- The access-log page's queries (accounts.selectors.access_event_page, as Django writes them,
-- with the columns shortened), under EXPLAIN (ANALYZE, BUFFERS), on a database filled by
-- scripts/sql/access_log_fill.sql or `manage.py generate_scale_data`. docs/SCALING.md, "The
-- access log", quotes the figures.
--
--   psql "$DATABASE_URL" -f scripts/sql/access_log_explain.sql > plans.txt
--   grep -E '^=====|Index Cond|Rows Removed|Execution Time|^ +Buffers' plans.txt | less
--
-- "big" is the clinic with the most rows, "small" the one with the fewest. Run it twice and
-- read the second (warm) run: the benchmark measures warm pages too.
\set ON_ERROR_STOP on
\pset pager off
\timing off
SELECT clinic_id AS big FROM accounts_accessevent WHERE clinic_id IS NOT NULL
 GROUP BY clinic_id ORDER BY count(*) DESC LIMIT 1 \gset
SELECT clinic_id AS small FROM accounts_accessevent WHERE clinic_id IS NOT NULL
 GROUP BY clinic_id ORDER BY count(*) LIMIT 1 \gset
SELECT user_id AS busy_user FROM accounts_accessevent WHERE clinic_id = :big
 GROUP BY user_id ORDER BY count(*) DESC LIMIT 1 \gset
SELECT object_id AS client FROM accounts_accessevent
 WHERE clinic_id = :big AND object_type = 'client' ORDER BY occurred_at DESC LIMIT 1 \gset
-- A cursor 100,000 rows back in the big clinic's log (page 2,001 of 50).
SELECT occurred_at AS t, id AS i FROM accounts_accessevent WHERE clinic_id = :big
 ORDER BY occurred_at DESC, id DESC OFFSET 100000 LIMIT 1 \gset
-- Half a year ago, as a "To (date)" filter sends it (the next day's first moment, local time).
SELECT (date_trunc('day', now() AT TIME ZONE 'America/Los_Angeles') - interval '179 days')
       AT TIME ZONE 'America/Los_Angeles' AS day_after \gset
\set cols 'e.id, e.occurred_at, e.user_id, e.username, e.action, e.object_type, e.object_id, e.clinic_id, e.ip_address, e.outcome, e.reason, u.id, u.username, u.first_name, u.last_name'
\set from 'accounts_accessevent e LEFT OUTER JOIN accounts_user u ON e.user_id = u.id'
\set older '(e.occurred_at <= :\'t\' AND (e.occurred_at < :\'t\' OR (e.id < :i AND e.occurred_at = :\'t\')))'
\set newer '(e.occurred_at >= :\'t\' AND (e.occurred_at > :\'t\' OR (e.id > :i AND e.occurred_at = :\'t\')))'
\set desc 'ORDER BY e.occurred_at DESC, e.id DESC LIMIT 51'
\set asc 'ORDER BY e.occurred_at ASC, e.id ASC LIMIT 51'

\echo ===== 1 newest page, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT :cols FROM :from WHERE e.clinic_id = :big :desc;
\echo ===== 2 newest page, small clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT :cols FROM :from WHERE e.clinic_id = :small :desc;
\echo ===== 3 older page 100,000 rows back, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT :cols FROM :from WHERE e.clinic_id = :big AND :older :desc;
\echo ===== 4 newer page from there, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT :cols FROM :from WHERE e.clinic_id = :big AND :newer :asc;
\echo ===== 5 action=export, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT :cols FROM :from
 WHERE e.clinic_id = :big AND e.action = 'export' :desc;
\echo ===== 6 action=lockout, small clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT :cols FROM :from
 WHERE e.clinic_id = :small AND e.action = 'lockout' :desc;
\echo ===== 7 action=export, older page from the cursor, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT :cols FROM :from
 WHERE e.clinic_id = :big AND e.action = 'export' AND :older :desc;
\echo ===== 8 client id, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT :cols FROM :from
 WHERE e.clinic_id = :big AND e.object_id = :'client' AND e.object_type = 'client' :desc;
\echo ===== 9 staff member, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT :cols FROM accounts_accessevent e
 INNER JOIN accounts_user u ON e.user_id = u.id
 WHERE e.clinic_id = :big AND e.user_id = :busy_user :desc;
\echo ===== 10 to half a year ago, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT :cols FROM :from
 WHERE e.clinic_id = :big AND e.occurred_at < :'day_after' :desc;
\echo ===== 11 one day half a year ago, action=export, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT :cols FROM :from
 WHERE e.clinic_id = :big AND e.action = 'export'
   AND e.occurred_at >= (:'day_after'::timestamptz - interval '1 day')
   AND e.occurred_at < :'day_after' :desc;
\echo ===== 12 a person's recent sign-ins (every page's header: recent_account_activity)
EXPLAIN (ANALYZE, BUFFERS) SELECT e.* FROM accounts_accessevent e
 WHERE e.user_id = :busy_user
   AND e.action IN ('sign-in', 'sign-out', 'failed-sign-in', 'lockout')
 ORDER BY e.occurred_at DESC, e.id DESC LIMIT 5;

-- --- For comparison: the page before keyset pages (Paginator: COUNT(*), then OFFSET) --------
-- and the date filters as they were (a function of occurred_at, which no index can range on).
\echo ===== B1 before: the count every page ran, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT COUNT(*) FROM accounts_accessevent e WHERE e.clinic_id = :big;
\echo ===== B2 before: page 2,001 by OFFSET, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT :cols FROM :from WHERE e.clinic_id = :big
 ORDER BY e.occurred_at DESC, e.id DESC LIMIT 50 OFFSET 100000;
\echo ===== B3 before: the count with action=export, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT COUNT(*) FROM accounts_accessevent e
 WHERE e.clinic_id = :big AND e.action = 'export';
\echo ===== B4 before: the count with a staff member, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT COUNT(*) FROM accounts_accessevent e
 WHERE e.clinic_id = :big AND e.user_id = :busy_user;
\echo ===== B5 before: the count with "to half a year ago" as a local date, big clinic
EXPLAIN (ANALYZE, BUFFERS) SELECT COUNT(*) FROM accounts_accessevent e
 WHERE e.clinic_id = :big
   AND (e.occurred_at AT TIME ZONE 'America/Los_Angeles')::date < (:'day_after'::timestamptz AT TIME ZONE 'America/Los_Angeles')::date;
\echo ===== B6 before: its first page
EXPLAIN (ANALYZE, BUFFERS) SELECT :cols FROM :from
 WHERE e.clinic_id = :big
   AND (e.occurred_at AT TIME ZONE 'America/Los_Angeles')::date < (:'day_after'::timestamptz AT TIME ZONE 'America/Los_Angeles')::date
 ORDER BY e.occurred_at DESC, e.id DESC LIMIT 50;
