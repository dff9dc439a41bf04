package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/verification"
)

// placeholderArgs returns an argument for every parameter of q (numbered ?N
// or positional ?), enough for EXPLAIN QUERY PLAN.
func placeholderArgs(q string) []any {
	n := 0
	if m := regexp.MustCompile(`\?(\d+)`).FindAllStringSubmatch(q, -1); len(m) > 0 {
		for _, x := range m {
			var v int
			_, _ = fmt.Sscan(x[1], &v)
			n = max(n, v)
		}
	} else {
		n = strings.Count(q, "?")
	}
	args := make([]any, n)
	for i := range args {
		args[i] = 1
	}
	return args
}

// TestQueryPlansUseIndexes runs EXPLAIN QUERY PLAN on every listing and
// lookup query, on an empty database and on a populated and ANALYZEd one (so
// that statistics cannot talk the planner into a scan), and requires that no
// table is scanned and that nothing is sorted, except where a listing merges
// several tag sets (bounded sorts, see listTagsets). The events of one
// subject are an exception the schema documents: a walk of the events from
// AfterSeq (a SEARCH on the rowid, filtered).
func TestQueryPlansUseIndexes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "kyc.db"), Options{TablePrefix: "kyc_"})
	require.NoError(t, err)
	defer s.Close()

	queries := map[string]string{
		"tag sets of tags":     tagsetsSQL(3),
		"supers of a set":      countsSQL("tagset_supers", "super", 1),
		"supers of sets":       countsSQL("tagset_supers", "super", 3),
		"blocks of a set":      countsSQL("tagset_blocks", "block", 1),
		"blocks of sets":       countsSQL("tagset_blocks", "block", 3),
		"tag page of a set":    tagsetPageSQL(1),
		"tag page of sets":     tagsetPageSQL(3),
		"events of subject":    stmtSQL[stEventListSubject],
		"files of a subject":   `SELECT ` + fileCols + ` FROM {{prefix}}files WHERE subject_id = ? ORDER BY created_at, id`,
		"open applications":    `SELECT ` + appCols + ` FROM {{prefix}}applications WHERE status IN (?, ?) AND expires_at < ? ORDER BY id LIMIT ? OFFSET ?`,
		"claim deliveries":     claimSQL,
		"dead letters":         `SELECT ` + deliveryCols + ` FROM {{prefix}}deliveries d JOIN {{prefix}}events e ON e.seq = d.seq WHERE d.sink = ? AND d.status = ? ORDER BY d.seq, d.sink LIMIT ? OFFSET ?`,
		"subject applications": `SELECT ` + appCols + ` FROM {{prefix}}applications WHERE subject_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`,
		"review queue":         `SELECT ` + appCols + ` FROM {{prefix}}applications WHERE status IN (?) AND assigned_to = 0 ORDER BY id LIMIT ? OFFSET ?`,
		"review queue of tags": `SELECT ` + appCols + ` FROM {{prefix}}applications WHERE subject_id IN (SELECT s.id FROM {{prefix}}subjects s JOIN {{prefix}}tagset_tags t ON t.tagset_id = s.tagset_id WHERE t.tag IN (?)) AND status IN (?) ORDER BY id LIMIT ? OFFSET ?`,
	}
	names := map[stmtID]string{
		stSubjectGet: "subject", stSubjectByIdentifier: "subject by identifier", stSubjectTagset: "subject tag set",
		stTagsetByKey: "tag set by key", stTagsetsOfTag: "tag sets of a tag",
		stStateList: "states", stStateGet: "state", stReviewList: "reviews",
		stGrantInsert: "grant insert", stGrantGet: "grant", stGrantTotal: "grant total",
		stGrantPageAsc: "grants asc", stGrantPageDesc: "grants desc",
		stClientTotal: "client total", stClientPageAsc: "client asc", stClientPageDesc: "client desc",
		stAppGet: "application", stAppByUUID: "application by uuid", stFileGet: "file",
		stSessionList: "id sessions", stEventListAll: "events",
		stStateDue: "due states", stStateDueUnwarned: "due unwarned states",
		stSubjectStatuses: "subject statuses", stAppOpen: "open applications of a subject",
		stSubjectGrantsAsc: "subject grants asc", stSubjectGrantsDesc: "subject grants desc",
		stSubjectOpenApps: "subject with open applications",
		stIDVerification:  "id verification", stDeliveryHead: "delivery head", stDeliveryGet: "delivery",
		stDeliveryBeyond: "deliveries beyond the claim window",
	}
	for id, name := range names {
		queries[name] = stmtSQL[id]
	}
	mayScan := regexp.MustCompile(`^SCAN \((subquery|CONSTANT)`)
	// Sorting is allowed where several tag sets are merged: their sets of
	// superblocks, of one superblock's blocks, of the rows of a page's blocks
	// (all bounded, see listTagsets); and for the tag sets of several tags.
	// And for the expiry sweep, which sorts the expired open applications.
	maySort := map[string]bool{
		"tag sets of tags": true, "supers of sets": true, "blocks of sets": true, "tag page of sets": true,
		"open applications": true,
	}

	check := func(when string) {
		for name, q := range queries {
			rows, err := s.c.reader.QueryContext(ctx, "EXPLAIN QUERY PLAN "+withPrefix(q, s.c.prefix), placeholderArgs(q)...)
			require.NoError(t, err, name)
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
				plan = append(plan, detail)
			}
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())
			all := strings.Join(plan, "\n")
			for _, line := range plan {
				if strings.HasPrefix(line, "SCAN ") {
					require.Regexp(t, mayScan, line, "%s, %s: a table is scanned:\n%s", when, name, all)
				}
			}
			if !maySort[name] {
				require.NotContains(t, all, "TEMP B-TREE", "%s, %s: the query sorts:\n%s", when, name, all)
			}
			require.Contains(t, all, "SEARCH", "%s, %s: no index search:\n%s", when, name, all)
		}
	}
	check("empty database")

	// Populate: skewed tags and clients, then statistics.
	err = s.InTx(ctx, func(ctx context.Context, tx verification.Store) error {
		var subs []verification.Subject
		for i := range 200 {
			sub := verification.Subject{Identifier: fmt.Sprintf("%036d", i)}
			if i%10 == 0 {
				sub.Tags = []string{"eu"}
			} else if i%3 == 0 {
				sub.Tags = []string{"us", "vip"}
			}
			if err := tx.CreateSubject(ctx, &sub); err != nil {
				return err
			}
			subs = append(subs, sub)
		}
		for i, sub := range subs {
			// Every subject has states; a few of them can come due.
			for _, name := range []string{"emailCode", "idDocument", "nationality"} {
				st := verification.RequirementState{SubjectID: sub.ID, Name: name, Status: levels.Approved, UpdatedAt: time.Unix(1, 0)}
				if name == "idDocument" && i%20 == 0 {
					st.ValidUntil = time.Unix(int64(1000+i), 0)
				}
				if err := tx.PutRequirementState(ctx, st); err != nil {
					return err
				}
			}
		}
		for i := range 1500 {
			g := verification.Grant{SubjectID: subs[i%len(subs)].ID, Level: verification.LevelRef{ID: 1, Name: "Level 1"}, Reason: "created"}
			if i%2 == 0 {
				g.SubjectID = subs[0].ID
			}
			if err := tx.AddGrant(ctx, &g); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)
	_, err = s.c.wconn.ExecContext(ctx, "ANALYZE")
	require.NoError(t, err)
	check("after ANALYZE")
}
