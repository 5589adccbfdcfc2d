-- Fill a freshly migrated, otherwise empty PostgreSQL database with a county-sized access log,
-- fast, for reading the access-log page's query plans (docs/SCALING.md, "The access log").
-- Not the benchmark's data (that is `manage.py generate_scale_data`): only what EXPLAIN needs.
--
--   psql "$DATABASE_URL" -v events=10000000 -f scripts/sql/access_log_fill.sql
--
-- 100 clinics (`Clinic 001` ...) of different sizes, 30 staff each (`clin-<clinic>-<n>`,
-- unusable passwords), and :events rows over the year before now, in time order as the real
-- log is written (ids and the table's physical order follow time). Clinic k gets a share of
-- about sqrt(k/100) - sqrt((k-1)/100): clinic 001 has ~10% of the rows, clinic 100 ~0.5%.
-- Actions as a clinic's day has them: mostly views of client records, few exports, rare
-- lockouts. Each client id (1..250,000) belongs to one clinic (id mod 100).
\set ON_ERROR_STOP on
\if :{?events}
\else
\set events 10000000
\endif

BEGIN;
INSERT INTO accounts_clinic (name, service_planning_area, is_active)
SELECT format('Clinic %s', lpad(k::text, 3, '0')), 1 + (k % 8), true
FROM generate_series(1, 100) AS k;

INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
                           is_staff, is_active, date_joined, clinic_id)
SELECT '!', false, format('clin-%s-%s', lpad(c.k::text, 3, '0'), lpad(n::text, 2, '0')),
       'Staff', format('%s-%s', c.k, n), '', false, true, now() - interval '2 years', c.id
FROM (SELECT id, row_number() OVER (ORDER BY name) AS k FROM accounts_clinic) AS c
CROSS JOIN generate_series(1, 30) AS n;
COMMIT;

-- One statement; about 3 minutes for 10 million rows on 2 cores with the indexes in place.
INSERT INTO accounts_accessevent (occurred_at, username, action, object_type, object_id,
                                  ip_address, outcome, reason, user_id, clinic_id)
SELECT e.at, u.username, e.action,
       CASE WHEN e.on_client THEN 'client' ELSE '' END,
       CASE WHEN e.on_client
            THEN (e.clinic_k + 100 * floor(e.r3 * 2500)::int)::text ELSE '' END,
       '10.0.0.1'::inet,
       CASE e.action WHEN 'failed-sign-in' THEN 'failure' WHEN 'lockout' THEN 'failure'
                     WHEN 'denied' THEN 'denied' ELSE 'success' END,
       '', u.id, u.clinic_id
FROM (
    SELECT now() - interval '365 days' + (i * (interval '365 days' / :events)) AS at,
           1 + floor(100 * r1 * r1)::int AS clinic_k,
           1 + floor(30 * r2)::int AS staff_n,
           r3,
           a.action,
           a.action IN ('view', 'create', 'edit', 'print', 'export') AS on_client
    FROM (
        SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4
        FROM generate_series(1, :events) AS i
    ) AS g
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN r4 < 0.780 THEN 'view'
            WHEN r4 < 0.830 THEN 'create'
            WHEN r4 < 0.890 THEN 'edit'
            WHEN r4 < 0.900 THEN 'print'
            WHEN r4 < 0.902 THEN 'export'
            WHEN r4 < 0.940 THEN 'sign-in'
            WHEN r4 < 0.970 THEN 'sign-out'
            WHEN r4 < 0.985 THEN 'failed-sign-in'
            WHEN r4 < 0.986 THEN 'lockout'
            ELSE 'denied' END AS action
    ) AS a
) AS e
JOIN accounts_user AS u
  ON u.username = format('clin-%s-%s', lpad(e.clinic_k::text, 3, '0'), lpad(e.staff_n::text, 2, '0'))
ORDER BY e.at;

ANALYZE accounts_clinic;
ANALYZE accounts_user;
ANALYZE accounts_accessevent;
