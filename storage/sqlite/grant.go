package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"strings"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/openkyc/kyc/verification"
)

func scanGrant(row scanner) (verification.Grant, error) {
	var (
		g          verification.Grant
		prevID     sql.NullInt64
		prevName   sql.NullString
		createTime int64
	)
	err := row.Scan(&g.ID, &g.SubjectID, &g.Level.ID, &g.Level.Name, &prevID, &prevName, &g.Reason, &g.AdminID, &createTime)
	if err != nil {
		return verification.Grant{}, err
	}
	if prevID.Valid {
		g.Previous = &verification.LevelRef{ID: int(prevID.Int64), Name: prevName.String}
	}
	g.CreatedAt = fromMicros(createTime)
	return g, nil
}

// AddGrant implements verification.GrantStore. The grant's ID is the next
// of a dense sequence (see the package documentation); a grant for an
// unknown subject is ErrNotFound.
func (s *Store) AddGrant(ctx context.Context, g *verification.Grant) error {
	var prevID, prevName any
	if g.Previous != nil {
		prevID, prevName = g.Previous.ID, g.Previous.Name
	}
	var id int64
	err := s.write(ctx, func(tx *Store) error {
		err := tx.conn(ctx).queryRow(stGrantInsert, g.SubjectID,
			g.Level.ID, g.Level.Name, prevID, prevName, g.Reason, g.AdminID, micros(g.CreatedAt)).Scan(&id)
		if errCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
			return notFound("subject", g.SubjectID)
		}
		return s.c.mapErr(ctx, "add grant", err)
	})
	if err != nil {
		return err
	}
	g.ID = id
	return nil
}

// GetGrant implements verification.GrantStore.
func (s *Store) GetGrant(ctx context.Context, id int64) (verification.Grant, error) {
	if err := s.check(ctx); err != nil {
		return verification.Grant{}, err
	}
	g, err := scanGrant(s.conn(ctx).queryRow(stGrantGet, id))
	if errors.Is(err, sql.ErrNoRows) {
		return verification.Grant{}, notFound("grant", id)
	}
	return g, s.c.mapErr(ctx, "get grant", err)
}

// ListGrants implements verification.GrantStore. Total and page come from
// one snapshot. The global and per-client listings cost two index seeks
// whatever the offset; a listing by tags a walk over small per-tag-set count
// tables and at most 1023 index entries (see the package documentation).
func (s *Store) ListGrants(ctx context.Context, f verification.GrantFilter) (verification.Page[verification.Grant], error) {
	page := verification.Page[verification.Grant]{Items: []verification.Grant{}}
	limit, offset := max(f.Limit, 0), max(f.Offset, 0)
	err := s.snapshot(ctx, "list grants", func(cn conn) error {
		var err error
		switch {
		case f.Tags != nil:
			page, err = s.listTagged(ctx, cn, dedupTags(f.Tags), f.SubjectID, limit, offset, f.Desc)
		case f.SubjectID != 0:
			page, err = s.listClient(ctx, cn, f.SubjectID, limit, offset, f.Desc)
		default:
			page, err = s.listAll(ctx, cn, limit, offset, f.Desc)
		}
		return err
	})
	if err != nil {
		return verification.Page[verification.Grant]{}, err
	}
	if page.Items == nil {
		page.Items = []verification.Grant{}
	}
	return page, nil
}

// dedupTags returns tags sorted and without duplicates (nil for nil).
func dedupTags(tags []string) []string {
	if tags == nil {
		return nil
	}
	out := slices.Clone(tags)
	slices.Sort(out)
	return slices.Compact(out)
}

// listAll pages through every grant: IDs are 1..total, so offset k is the
// seek id > k (ascending) or id <= total-k (descending).
func (s *Store) listAll(ctx context.Context, cn conn, limit, offset int, desc bool) (verification.Page[verification.Grant], error) {
	var total int64
	if err := cn.queryRow(stGrantTotal).Scan(&total); err != nil {
		return verification.Page[verification.Grant]{}, s.c.mapErr(ctx, "count grants", err)
	}
	page := verification.Page[verification.Grant]{Total: int(total)}
	if limit == 0 || int64(offset) >= total {
		return page, nil
	}
	var err error
	if desc {
		page.Items, err = s.grantRows(ctx, cn, stGrantPageDesc, total-int64(offset), limit)
	} else {
		page.Items, err = s.grantRows(ctx, cn, stGrantPageAsc, offset, limit)
	}
	return page, err
}

// listClient pages through one client's grants by client_seq (1..total).
func (s *Store) listClient(ctx context.Context, cn conn, client int64, limit, offset int, desc bool) (verification.Page[verification.Grant], error) {
	var total int64
	if err := cn.queryRow(stClientTotal, client).Scan(&total); err != nil {
		return verification.Page[verification.Grant]{}, s.c.mapErr(ctx, "count grants", err)
	}
	page := verification.Page[verification.Grant]{Total: int(total)}
	if limit == 0 || int64(offset) >= total {
		return page, nil
	}
	var err error
	if desc {
		page.Items, err = s.grantRows(ctx, cn, stClientPageDesc, client, total-int64(offset), limit)
	} else {
		page.Items, err = s.grantRows(ctx, cn, stClientPageAsc, client, offset, limit)
	}
	return page, err
}

// listTagged pages through the grants of subjects currently carrying any of
// tags (and, with a client, that client's grants if it carries one).
func (s *Store) listTagged(ctx context.Context, cn conn, tags []string, client int64, limit, offset int, desc bool) (verification.Page[verification.Grant], error) {
	if len(tags) == 0 {
		return verification.Page[verification.Grant]{}, nil // an empty tag list matches nothing
	}
	sets, err := s.tagsetsOf(ctx, cn, tags)
	if err != nil || len(sets) == 0 {
		return verification.Page[verification.Grant]{}, err
	}
	if client == 0 {
		return s.listTagsets(ctx, cn, sets, limit, offset, desc)
	}
	var set sql.NullInt64
	err = cn.queryRow(stSubjectTagset, client).Scan(&set)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (!set.Valid || !slices.Contains(sets, set.Int64)) {
		return verification.Page[verification.Grant]{}, nil
	}
	if err != nil {
		return verification.Page[verification.Grant]{}, s.c.mapErr(ctx, "read subject tags", err)
	}
	return s.listClient(ctx, cn, client, limit, offset, desc)
}

// tagsetsOf returns the IDs of the tag sets holding any of tags.
func (s *Store) tagsetsOf(ctx context.Context, cn conn, tags []string) ([]int64, error) {
	var (
		rows rowSet
		err  error
	)
	if len(tags) == 1 {
		rows, err = cn.query(stTagsetsOfTag, tags[0])
	} else {
		_, args := inList(tags)
		rows, err = cn.queryIn(inTagsets, len(tags), args...)
	}
	return collect(ctx, s.c, "find tag sets", rows, err, func(row scanner) (int64, error) {
		var id int64
		return id, row.Scan(&id)
	})
}

// tagsetsSQL finds the tag sets holding any of n tags.
func tagsetsSQL(n int) string {
	in, _ := inList(make([]string, n))
	return `SELECT DISTINCT tagset_id FROM {{prefix}}tagset_tags WHERE tag IN (` + in + `)`
}

// countsSQL sums the counts of the n tag sets in table (tagset_supers with
// unit super, or tagset_blocks with unit block) per unit, in unit order,
// between two units (arguments: the n tag sets, the first unit, the unit
// after the last).
func countsSQL(table, unit string, n int) string {
	in, _ := inList(make([]string, n))
	return `SELECT ` + unit + `, SUM(n) FROM {{prefix}}` + table + `
		WHERE tagset_id IN (` + in + `) AND ` + unit + ` >= ? AND ` + unit + ` < ?
		GROUP BY ` + unit + ` ORDER BY ` + unit
}

// tagsetPageSQL lists the grants of n tag sets with IDs in a range, in ID
// order (arguments: the n tag sets, the first ID, the ID after the last, the
// limit, the offset).
func tagsetPageSQL(n int) string {
	in, _ := inList(make([]string, n))
	return `SELECT ` + grantCols + ` FROM {{prefix}}grants g WHERE g.id IN (
			SELECT grant_id FROM {{prefix}}grant_tagsets
			WHERE tagset_id IN (` + in + `) AND grant_id >= ? AND grant_id < ?
			ORDER BY grant_id LIMIT ? OFFSET ?)
		ORDER BY g.id`
}

// unitCount is the number of matching grants in one block or superblock.
type unitCount struct{ unit, n int64 }

// counts runs a countsSQL query (kind inSupers or inBlocks).
func (s *Store) counts(ctx context.Context, cn conn, kind inKind, sets []int64, from, to int64) ([]unitCount, error) {
	_, args := inList(sets)
	rows, err := cn.queryIn(kind, len(sets), append(args, from, to)...)
	return collect(ctx, s.c, "count grants", rows, err, func(row scanner) (unitCount, error) {
		var u unitCount
		return u, row.Scan(&u.unit, &u.n)
	})
}

// listTagsets pages through the grants of the given tag sets. Every grant
// belongs to at most one tag set, so the sums of their counts are exact. The
// page covers the positions lo..hi (0-based, ascending order) of the
// matching grants: the superblock counts give the total and the superblock
// holding each end, that superblock's block counts the block, and one range
// query over those blocks the rows.
func (s *Store) listTagsets(ctx context.Context, cn conn, sets []int64, limit, offset int, desc bool) (verification.Page[verification.Grant], error) {
	supers, err := s.counts(ctx, cn, inSupers, sets, 0, math.MaxInt64)
	if err != nil {
		return verification.Page[verification.Grant]{}, err
	}
	var total int64
	for _, u := range supers {
		total += u.n
	}
	page := verification.Page[verification.Grant]{Total: int(total)}
	if limit == 0 || int64(offset) >= total {
		return page, nil
	}
	lo, hi := int64(offset), min(int64(offset)+int64(limit), total)-1
	if desc {
		lo, hi = max(total-int64(offset)-int64(limit), 0), total-1-int64(offset)
	}
	blocks := map[int64][]unitCount{} // per superblock, fetched once
	locate := func(pos int64) (block, before int64, err error) {
		super, before, ok := locateUnit(supers, pos)
		if !ok {
			return 0, 0, errTagIndex
		}
		bs, cached := blocks[super]
		if !cached {
			per := int64(1) << (superShift - blockShift)
			if bs, err = s.counts(ctx, cn, inBlocks, sets, super*per, (super+1)*per); err != nil {
				return 0, 0, err
			}
			blocks[super] = bs
		}
		block, inSuper, ok := locateUnit(bs, pos-before)
		if !ok {
			return 0, 0, errTagIndex
		}
		return block, before + inSuper, nil
	}
	loBlock, loBefore, err := locate(lo)
	if err != nil {
		return page, err
	}
	hiBlock, _, err := locate(hi)
	if err != nil {
		return page, err
	}
	_, args := inList(sets)
	args = append(args, loBlock<<blockShift, (hiBlock+1)<<blockShift, hi-lo+1, lo-loBefore)
	rows, err := cn.queryIn(inPage, len(sets), args...)
	if err != nil {
		return page, s.c.mapErr(ctx, "list grants", err)
	}
	if page.Items, err = s.collectGrants(ctx, rows); err != nil {
		return page, err
	}
	if desc {
		slices.Reverse(page.Items)
	}
	return page, nil
}

// locateUnit returns the unit holding the 0-based position pos of counts
// and the number of grants in the units before it; false if pos is past
// their sum.
func locateUnit(counts []unitCount, pos int64) (unit, before int64, ok bool) {
	for _, u := range counts {
		if pos < before+u.n {
			return u.unit, before, true
		}
		before += u.n
	}
	return 0, before, false
}

// errTagIndex reports superblock and block counts that disagree, which the
// schema's triggers rule out.
var errTagIndex = errors.New("sqlite: list grants: the tag index counts disagree")

// inList returns "?, ?, ..." for vals and vals as arguments.
func inList[T any](vals []T) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", "), args
}

// grantRows runs a prepared grant listing.
func (s *Store) grantRows(ctx context.Context, cn conn, id stmtID, args ...any) ([]verification.Grant, error) {
	rows, err := cn.query(id, args...)
	if err != nil {
		return nil, s.c.mapErr(ctx, "list grants", err)
	}
	return s.collectGrants(ctx, rows)
}

func (s *Store) collectGrants(ctx context.Context, rows rowSet) ([]verification.Grant, error) {
	defer rows.Close()
	out := []verification.Grant{}
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, s.c.mapErr(ctx, "list grants", err)
		}
		out = append(out, g)
	}
	return out, s.c.mapErr(ctx, "list grants", rows.Err())
}
