package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/openkyc/kyc/verification"
)

func scanFile(row scanner) (verification.File, error) {
	var (
		f                    verification.File
		createdAt, decidedAt int64
	)
	err := row.Scan(&f.ID, &f.SubjectID, &f.BlobKey, &f.ContentType, &f.Size, &f.SHA256,
		&f.DocumentType, &f.Side, &f.Status, &f.Reason, &createdAt, &decidedAt)
	if err != nil {
		return f, err
	}
	f.CreatedAt, f.DecidedAt = fromMicros(createdAt), fromMicros(decidedAt)
	return f, nil
}

// CreateFile implements verification.FileStore.
func (s *Store) CreateFile(ctx context.Context, f verification.File) error {
	return s.write(ctx, func(tx *Store) error {
		_, err := tx.conn(ctx).exec(stFileInsert, f.ID, f.SubjectID, f.BlobKey, f.ContentType, f.Size, f.SHA256,
			f.DocumentType, f.Side, string(f.Status), f.Reason, micros(f.CreatedAt), micros(f.DecidedAt))
		return s.insertErr(ctx, "create file", err, f.SubjectID)
	})
}

// GetFile implements verification.FileStore.
func (s *Store) GetFile(ctx context.Context, id string) (verification.File, error) {
	if err := s.check(ctx); err != nil {
		return verification.File{}, err
	}
	f, err := scanFile(s.conn(ctx).queryRow(stFileGet, id))
	if errors.Is(err, sql.ErrNoRows) {
		return verification.File{}, notFound("file", id)
	}
	return f, s.c.mapErr(ctx, "get file", err)
}

// UpdateFile implements verification.FileStore.
func (s *Store) UpdateFile(ctx context.Context, f verification.File) error {
	return s.write(ctx, func(tx *Store) error {
		res, err := tx.conn(ctx).exec(stFileUpdate, f.BlobKey, f.ContentType, f.Size, f.SHA256,
			f.DocumentType, f.Side, string(f.Status), f.Reason, micros(f.DecidedAt), f.ID)
		return s.rowsAffected(ctx, "update file", res, err, "file", f.ID)
	})
}

// DeleteFile implements verification.FileStore. With secure_delete on, the
// row's bytes are overwritten in the database file; Checkpoint clears the
// log.
func (s *Store) DeleteFile(ctx context.Context, id string) error {
	return s.write(ctx, func(tx *Store) error {
		res, err := tx.conn(ctx).exec(stFileDelete, id)
		return s.rowsAffected(ctx, "delete file", res, err, "file", id)
	})
}

// ListFiles implements verification.FileStore.
func (s *Store) ListFiles(ctx context.Context, f verification.FileFilter) ([]verification.File, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	if f.SubjectID != 0 {
		add("subject_id = ?", f.SubjectID)
	}
	if f.DocumentType != "" {
		add("document_type = ?", f.DocumentType)
	}
	if f.Side != "" {
		add("side = ?", f.Side)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if !f.DecidedBefore.IsZero() {
		add("decided_at <> 0 AND decided_at < ?", micros(f.DecidedBefore))
	}
	if f.BlobKeys != nil {
		if len(f.BlobKeys) == 0 {
			where = append(where, "0")
		} else {
			where = append(where, "blob_key IN (?"+strings.Repeat(", ?", len(f.BlobKeys)-1)+")")
			for _, k := range f.BlobKeys {
				args = append(args, k)
			}
		}
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	cn := s.conn(ctx)
	rows, err := cn.querySQL(cn.sql(`SELECT `+fileCols+` FROM {{prefix}}files`+cond+` ORDER BY created_at, id`), args...)
	return collect(ctx, s.c, "list files", rows, err, scanFile)
}
