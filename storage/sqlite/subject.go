package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/openkyc/kyc/verification"
)

// encodeTags stores tags as a JSON array (NULL when there are none).
func encodeTags(tags []string) (any, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(tags)
	if err != nil {
		return nil, fmt.Errorf("sqlite: encoding tags: %w", err)
	}
	return string(b), nil
}

func scanSubject(row scanner) (verification.Subject, error) {
	var ss subjectScan
	if err := row.Scan(ss.dest(nil)...); err != nil {
		return verification.Subject{}, err
	}
	return ss.subject()
}

// subjectScan receives a subject's columns (subjectCols).
type subjectScan struct {
	sub                                         verification.Subject
	tags                                        sql.NullString
	hold                                        int64
	deletedAt, redactedAt, createdAt, updatedAt int64
}

func (ss *subjectScan) dest(dest []any) []any {
	return append(dest, &ss.sub.ID, &ss.sub.Identifier, &ss.tags, &ss.sub.Level, &ss.deletedAt, &ss.hold, &ss.redactedAt,
		&ss.sub.EventSeq, &ss.createdAt, &ss.updatedAt)
}

func (ss *subjectScan) subject() (verification.Subject, error) {
	sub := ss.sub
	if ss.tags.Valid {
		var tags []string // not &sub.Tags: sub would move to the heap for every subject
		if err := json.Unmarshal([]byte(ss.tags.String), &tags); err != nil {
			return verification.Subject{}, fmt.Errorf("decoding the tags of subject %d: %w", sub.ID, err)
		}
		sub.Tags = tags
	}
	sub.LegalHold = ss.hold != 0
	sub.DeletedAt, sub.RedactedAt = fromMicros(ss.deletedAt), fromMicros(ss.redactedAt)
	sub.CreatedAt, sub.UpdatedAt = fromMicros(ss.createdAt), fromMicros(ss.updatedAt)
	return sub, nil
}

// tagsetKey returns the canonical form of tags (sorted, without duplicates)
// and its key in the tagsets table, or "" for no tags.
func tagsetKey(tags []string) (string, []string, error) {
	if len(tags) == 0 {
		return "", nil, nil
	}
	canon := slices.Clone(tags)
	slices.Sort(canon)
	canon = slices.Compact(canon)
	b, err := json.Marshal(canon)
	if err != nil {
		return "", nil, fmt.Errorf("sqlite: encoding tags: %w", err)
	}
	return string(b), canon, nil
}

// tagset returns the ID of the tag set of tags, creating it if needed, or
// nil (NULL) for no tags.
func (s *Store) tagset(ctx context.Context, cn conn, tags []string) (any, error) {
	key, canon, err := tagsetKey(tags)
	if err != nil || key == "" {
		return nil, err
	}
	var id int64
	err = cn.queryRow(stTagsetByKey, key).Scan(&id)
	if err == nil {
		return id, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, s.c.mapErr(ctx, "find tag set", err)
	}
	res, err := cn.exec(stTagsetInsert, key)
	if err == nil {
		id, err = res.LastInsertId()
	}
	if err != nil {
		return nil, s.c.mapErr(ctx, "create tag set", err)
	}
	for _, t := range canon {
		if _, err := cn.exec(stTagsetTagInsert, t, id); err != nil {
			return nil, s.c.mapErr(ctx, "create tag set", err)
		}
	}
	return id, nil
}

// CreateSubject implements verification.SubjectStore.
func (s *Store) CreateSubject(ctx context.Context, sub *verification.Subject) error {
	tags, err := encodeTags(sub.Tags)
	if err != nil {
		return err
	}
	var id int64
	err = s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		tagset, err := tx.tagset(ctx, cn, sub.Tags)
		if err != nil {
			return err
		}
		res, err := cn.exec(stSubjectInsert, sub.Identifier, tags, tagset, sub.Level,
			micros(sub.DeletedAt), boolInt(sub.LegalHold), micros(sub.RedactedAt), sub.EventSeq, micros(sub.CreatedAt), micros(sub.UpdatedAt))
		if err == nil {
			id, err = res.LastInsertId()
		}
		return s.c.mapErr(ctx, "create subject", err)
	})
	if err != nil {
		return err
	}
	sub.ID = id
	return nil
}

// GetSubject implements verification.SubjectStore.
func (s *Store) GetSubject(ctx context.Context, id int64) (verification.Subject, error) {
	if err := s.check(ctx); err != nil {
		return verification.Subject{}, err
	}
	sub, err := scanSubject(s.conn(ctx).queryRow(stSubjectGet, id))
	if errors.Is(err, sql.ErrNoRows) {
		return verification.Subject{}, notFound("subject", id)
	}
	return sub, s.c.mapErr(ctx, "get subject", err)
}

// GetSubjectByIdentifier implements verification.SubjectStore.
func (s *Store) GetSubjectByIdentifier(ctx context.Context, identifier string) (verification.Subject, error) {
	var sub verification.Subject
	err := s.pinned(ctx, func(cn conn) (err error) { // a unique-index lookup: see Store.pinned
		sub, err = scanSubject(cn.queryRow(stSubjectByIdentifier, identifier))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		// The identifier is personal data: it stays out of the message.
		return verification.Subject{}, notFound("subject", "by identifier")
	}
	return sub, s.c.mapErr(ctx, "get subject by identifier", err)
}

// LockSubject implements verification.SubjectStore. Inside InTx the
// transaction already holds the database's write lock (BEGIN IMMEDIATE on the
// single writer), so no other transaction can change the subject until it
// ends: the lock is a plain read.
func (s *Store) LockSubject(ctx context.Context, id int64) (verification.Subject, error) {
	return s.GetSubject(ctx, id)
}

// UpdateSubject implements verification.SubjectStore. The tags, and with
// them the tag index of the subject's grants, are rewritten only when they
// changed.
func (s *Store) UpdateSubject(ctx context.Context, sub verification.Subject) error {
	tags, err := encodeTags(sub.Tags)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		// Mostly the tags are unchanged: one UPDATE that matches only
		// then, and the general path below when it changed no row (the
		// tags differ, or there is no such subject).
		res, err := cn.exec(stSubjectUpdateSameTags, sub.Level, micros(sub.DeletedAt), boolInt(sub.LegalHold),
			micros(sub.RedactedAt), sub.EventSeq, micros(sub.UpdatedAt), sub.ID, tags)
		if err != nil {
			return s.c.mapErr(ctx, "update subject", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return s.c.mapErr(ctx, "update subject", err)
		}
		var stored sql.NullString
		err = cn.queryRow(stSubjectUpdate, sub.Level, micros(sub.DeletedAt), boolInt(sub.LegalHold),
			micros(sub.RedactedAt), sub.EventSeq, micros(sub.UpdatedAt), sub.ID).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("subject", sub.ID)
		}
		if err != nil {
			return s.c.mapErr(ctx, "update subject", err)
		}
		if tags == nil && !stored.Valid || stored.Valid && tags == stored.String {
			return nil
		}
		tagset, err := tx.tagset(ctx, cn, sub.Tags)
		if err != nil {
			return err
		}
		_, err = cn.exec(stSubjectSetTags, tags, tagset, sub.ID)
		return s.c.mapErr(ctx, "update subject tags", err)
	})
}
