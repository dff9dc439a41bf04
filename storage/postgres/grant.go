package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

// Grants and deep offsets
//
// A grant's id is its position in the global history (1..N) and client_seq
// its position in its client's history (1..n). AddGrant takes both from
// counters in the same statement as the insert: the global one from the
// counters row 'grants', the client's from subjects.grant_count. Each is
// bumped with UPDATE ... RETURNING, whose row lock is held until the
// transaction ends, so numbers are handed out one transaction at a time, a
// rolled-back number is handed out again, and a committed grant never sits
// behind an uncommitted one: both sequences stay dense in commit order.
// (The cost: transactions that add grants run their remaining statements
// and commit one at a time. Transitions on one subject are serialised by
// LockSubject anyway; across subjects only the grant-adding tail is.)
//
// Because grants are never updated or deleted, "skip k grants" is then
// "id > k" ascending and "id <= N-k" descending, and the same with
// client_seq per client: every page is an index range scan whose cost does
// not depend on the offset, and the totals are the counters themselves.
// Total and page are read in one statement, so they agree with each other.
//
// A tag-scoped listing (GrantFilter.Tags) covers the grants of the subjects
// currently carrying one of the tags. That set changes whenever a subject's
// tags do, so no position stored on a grant can follow it; instead the
// store counts grants per tag set and per bucket of bucketSize consecutive
// ids (grant_buckets, migration 0003), kept exact by AddGrant and by a
// trigger that moves a subject's counts when its tag set changes. A page
// sums the buckets of the tag sets carrying one of the tags: the running
// sum gives the total, the bucket holding the offset and how many matching
// grants precede that bucket, and the bucket holding the page's last row.
// The page is then read from that id range, skipping at most the matching
// grants inside the first bucket. The cost is one row per bucket per
// matching tag set (about 1,000 per tag set for a million grants) plus at
// most bucketSize ids per bucket the page spans, the same at offset 0 and
// at offset 900,000. It grows with the number of distinct tag sets that
// match and, for tags so rare that a page spans many buckets, with the id
// range the page covers; both are independent of the offset.

// bucketSize is the number of consecutive grant ids per grant_buckets row;
// migration 0003 uses the same number.
const bucketSize = "1024"

const grantCols = `g.id, g.client_id, g.level_id, g.level_name, g.prev_level_id, g.prev_level_name, g.reason, g.user_id, g.created_at`

// AddGrant implements verification.GrantStore. It returns ErrNotFound if the
// subject does not exist; the counters are then left untouched. Inside a
// transaction, lock the subject (LockSubject) before adding its grant: the
// statement locks the subject row, then the global counter row, then the
// bucket row of the subject's tag set.
func (s *Store) AddGrant(ctx context.Context, g *verification.Grant) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	var prevID *int
	var prevName *string
	if g.Previous != nil {
		prevID, prevName = &g.Previous.ID, &g.Previous.Name
	}
	var id int64
	err := s.q.QueryRow(ctx, s.sql(`
		WITH c AS (
			UPDATE {{schema}}.subjects SET grant_count = grant_count + 1
			 WHERE id = $1
			RETURNING grant_count, tagset_id
		), n AS (
			UPDATE {{schema}}.counters SET value = value + 1
			 WHERE name = 'grants' AND EXISTS (SELECT 1 FROM c)
			RETURNING value
		), b AS (
			INSERT INTO {{schema}}.grant_buckets (tagset_id, bucket, n)
			SELECT c.tagset_id, n.value / `+bucketSize+`, 1 FROM c, n WHERE c.tagset_id IS NOT NULL
			ON CONFLICT (tagset_id, bucket) DO UPDATE SET n = {{schema}}.grant_buckets.n + 1
		)
		INSERT INTO {{schema}}.grants (id, client_id, client_seq, level_id, level_name, prev_level_id, prev_level_name, reason, user_id, created_at)
		SELECT n.value, $1, c.grant_count, $2, $3, $4, $5, $6, $7, $8 FROM c, n
		RETURNING id`),
		g.SubjectID, g.Level.ID, g.Level.Name, prevID, prevName, g.Reason, g.AdminID, tsIn(g.CreatedAt)).Scan(&id)
	if noRows(err) {
		return notFound("subject", g.SubjectID)
	}
	if err != nil {
		return fail(ctx, "add grant", err)
	}
	g.ID = id
	return nil
}

// grantRow receives a grant's columns, all nullable because the listings
// LEFT JOIN the page to its total.
type grantRow struct {
	id, clientID, userID *int64
	levelID, prevID      *int
	levelName, prevName  *string
	reason               *string
	created              pgtype.Timestamptz
}

func (r *grantRow) dest() []any {
	return []any{&r.id, &r.clientID, &r.levelID, &r.levelName, &r.prevID, &r.prevName, &r.reason, &r.userID, &r.created}
}

func (r *grantRow) grant() verification.Grant {
	g := verification.Grant{ID: *r.id, SubjectID: *r.clientID, Level: verification.LevelRef{ID: *r.levelID, Name: *r.levelName},
		Reason: *r.reason, AdminID: *r.userID, CreatedAt: tsOut(r.created)}
	if r.prevID != nil {
		g.Previous = &verification.LevelRef{ID: *r.prevID}
		if r.prevName != nil {
			g.Previous.Name = *r.prevName
		}
	}
	return g
}

// GetGrant implements verification.GrantStore.
func (s *Store) GetGrant(ctx context.Context, id int64) (verification.Grant, error) {
	if err := s.begin(ctx); err != nil {
		return verification.Grant{}, err
	}
	var r grantRow
	err := s.q.QueryRow(ctx, s.sql(`SELECT `+grantCols+` FROM {{schema}}.grants g WHERE g.id = $1`), id).Scan(r.dest()...)
	if noRows(err) {
		return verification.Grant{}, notFound("grant", id)
	}
	if err != nil {
		return verification.Grant{}, fail(ctx, "get grant", err)
	}
	return r.grant(), nil
}

// The listing queries. Each returns at least one row: the total in the
// first column, then a grant's columns (NULL when the page is empty).
// Parameters: $1 offset, $2 limit, then $3 the client id (and $4 the tags,
// NULL for none) or $3 the tags.
const (
	listAllAsc = `
		SELECT t.n, ` + grantCols + `
		  FROM (SELECT value AS n FROM {{schema}}.counters WHERE name = 'grants') t
		  LEFT JOIN LATERAL (
			SELECT * FROM {{schema}}.grants
			 WHERE id > $1 AND id <= t.n
			 ORDER BY id LIMIT $2) g ON true
		 ORDER BY g.id`
	listAllDesc = `
		SELECT t.n, ` + grantCols + `
		  FROM (SELECT value AS n FROM {{schema}}.counters WHERE name = 'grants') t
		  LEFT JOIN LATERAL (
			SELECT * FROM {{schema}}.grants
			 WHERE id <= t.n - $1
			 ORDER BY id DESC LIMIT $2) g ON true
		 ORDER BY g.id DESC`

	// clientTotal is the client's grant count; with $4 (tags) it is 0 unless
	// the client carries one of them.
	clientTotal = `(SELECT COALESCE((
			SELECT s.grant_count FROM {{schema}}.subjects s
			 WHERE s.id = $3 AND ($4::text[] IS NULL OR EXISTS (
				SELECT 1 FROM {{schema}}.subject_tags st WHERE st.subject_id = s.id AND st.tag = ANY ($4)))
		), 0) AS n) t`
	listClientAsc = `
		SELECT t.n, ` + grantCols + `
		  FROM ` + clientTotal + `
		  LEFT JOIN LATERAL (
			SELECT * FROM {{schema}}.grants
			 WHERE client_id = $3 AND client_seq > $1 AND client_seq <= t.n
			 ORDER BY client_seq LIMIT $2) g ON true
		 ORDER BY g.id`
	listClientDesc = `
		SELECT t.n, ` + grantCols + `
		  FROM ` + clientTotal + `
		  LEFT JOIN LATERAL (
			SELECT * FROM {{schema}}.grants
			 WHERE client_id = $3 AND client_seq <= t.n - $1
			 ORDER BY client_seq DESC LIMIT $2) g ON true
		 ORDER BY g.id DESC`

	// The tag-scoped listings: ts are the matching tag sets, b their grant
	// counts per bucket, c the running sums in listing order. r.first is the
	// bucket holding the offset, r.before the matching grants ahead of it,
	// r.last the bucket holding the page's last row; the page is read from
	// that id range.
	taggedHead = `
		WITH ts AS MATERIALIZED (
			SELECT id FROM {{schema}}.tagsets WHERE tags && $3::text[]
		), b AS MATERIALIZED (
			SELECT bucket, sum(n)::bigint AS n FROM {{schema}}.grant_buckets
			 WHERE tagset_id IN (SELECT id FROM ts)
			 GROUP BY bucket HAVING sum(n) > 0
		), c AS MATERIALIZED (
			SELECT bucket, n, (sum(n) OVER (ORDER BY bucket `
	taggedRange = `))::bigint AS cum FROM b
		), r AS (
			SELECT (SELECT COALESCE(sum(n), 0)::bigint FROM b) AS total, f.bucket AS first, f.cum - f.n AS before,
			       (SELECT bucket FROM c WHERE cum - n < $1 + $2 ORDER BY cum DESC LIMIT 1) AS last
			  FROM (SELECT 1) one LEFT JOIN (SELECT * FROM c WHERE cum > $1 ORDER BY cum LIMIT 1) f ON true
		)
		SELECT r.total, ` + grantCols + `
		  FROM r LEFT JOIN LATERAL (
			SELECT * FROM {{schema}}.grants
			 WHERE $2 > 0 AND r.first IS NOT NULL
			   AND client_id IN (SELECT subject_id FROM {{schema}}.subject_tags WHERE tag = ANY ($3))`
	listTagsAsc = taggedHead + `ASC` + taggedRange + `
			   AND id >= r.first * ` + bucketSize + ` AND id < (r.last + 1) * ` + bucketSize + `
			 ORDER BY id ASC OFFSET $1 - r.before LIMIT $2) g ON true
		 ORDER BY g.id ASC`
	listTagsDesc = taggedHead + `DESC` + taggedRange + `
			   AND id >= r.last * ` + bucketSize + ` AND id < (r.first + 1) * ` + bucketSize + `
			 ORDER BY id DESC OFFSET $1 - r.before LIMIT $2) g ON true
		 ORDER BY g.id DESC`
)

// grantListing returns the query and arguments for f.
func grantListing(f verification.GrantFilter) (string, []any) {
	// Clamped so that offset+limit cannot overflow a bigint.
	off, lim := min(int64(f.Offset), 1<<61), min(int64(f.Limit), 1<<61)
	switch {
	case f.SubjectID != 0:
		q := listClientAsc
		if f.Desc {
			q = listClientDesc
		}
		return q, []any{off, lim, f.SubjectID, f.Tags}
	case f.Tags != nil:
		q := listTagsAsc
		if f.Desc {
			q = listTagsDesc
		}
		return q, []any{off, lim, f.Tags}
	default:
		q := listAllAsc
		if f.Desc {
			q = listAllDesc
		}
		return q, []any{off, lim}
	}
}

// ListGrants implements verification.GrantStore. A page costs the same at
// any offset; see the comment at the top of this file for how, and for what
// the cost of a tag-scoped page depends on.
func (s *Store) ListGrants(ctx context.Context, f verification.GrantFilter) (verification.Page[verification.Grant], error) {
	if err := s.begin(ctx); err != nil {
		return verification.Page[verification.Grant]{}, err
	}
	page := verification.Page[verification.Grant]{Items: []verification.Grant{}}
	if f.Tags != nil && len(f.Tags) == 0 {
		return page, nil
	}
	if f.Limit < 0 {
		f.Limit = 0
	}
	if f.Offset < 0 {
		f.Offset = 0
	}
	q, args := grantListing(f)
	rows, err := s.q.Query(ctx, s.sql(q), args...)
	if err != nil {
		return verification.Page[verification.Grant]{}, fail(ctx, "list grants", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			n int64
			r grantRow
		)
		if err := rows.Scan(append([]any{&n}, r.dest()...)...); err != nil {
			return verification.Page[verification.Grant]{}, fail(ctx, "list grants", err)
		}
		page.Total = int(n)
		if r.id != nil {
			page.Items = append(page.Items, r.grant())
		}
	}
	if err := rows.Err(); err != nil {
		return verification.Page[verification.Grant]{}, fail(ctx, "list grants", err)
	}
	return page, nil
}
