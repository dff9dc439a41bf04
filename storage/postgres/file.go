package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/verification"
)

const fileCols = `id, subject_id, blob_key, content_type, size, sha256, document_type, side, status, reason, created_at, decided_at`

func scanFile(row pgx.Row) (verification.File, error) {
	var (
		f                verification.File
		created, decided pgtype.Timestamptz
	)
	err := row.Scan(&f.ID, &f.SubjectID, &f.BlobKey, &f.ContentType, &f.Size, &f.SHA256, &f.DocumentType, &f.Side,
		&f.Status, &f.Reason, &created, &decided)
	f.CreatedAt, f.DecidedAt = tsOut(created), tsOut(decided)
	return f, err
}

// CreateFile implements verification.FileStore: ErrConflict for a used ID,
// ErrNotFound for an unknown subject.
func (s *Store) CreateFile(ctx context.Context, f verification.File) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.q.Exec(ctx, s.sql(`
		INSERT INTO {{schema}}.files (`+fileCols+`)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
		 WHERE EXISTS (SELECT 1 FROM {{schema}}.subjects WHERE id = $2)
		ON CONFLICT (id) DO NOTHING`),
		f.ID, f.SubjectID, f.BlobKey, f.ContentType, f.Size, f.SHA256, f.DocumentType, f.Side, f.Status, f.Reason,
		tsIn(f.CreatedAt), tsIn(f.DecidedAt))
	if err != nil {
		return fail(ctx, "create file", err)
	}
	if tag.RowsAffected() == 0 {
		return s.insertRefused(ctx, `SELECT EXISTS (SELECT 1 FROM {{schema}}.files WHERE id = $1)`, f.ID, "file", f.SubjectID)
	}
	return nil
}

// GetFile implements verification.FileStore.
func (s *Store) GetFile(ctx context.Context, id string) (verification.File, error) {
	if err := s.begin(ctx); err != nil {
		return verification.File{}, err
	}
	f, err := scanFile(s.q.QueryRow(ctx, s.sql(`SELECT `+fileCols+` FROM {{schema}}.files WHERE id = $1`), id))
	if noRows(err) {
		return verification.File{}, notFound("file", id)
	}
	return f, fail(ctx, "get file", err)
}

// UpdateFile implements verification.FileStore.
func (s *Store) UpdateFile(ctx context.Context, f verification.File) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.q.Exec(ctx, s.sql(`
		UPDATE {{schema}}.files
		   SET blob_key = $2, content_type = $3, size = $4, sha256 = $5, document_type = $6, side = $7,
		       status = $8, reason = $9, decided_at = $10
		 WHERE id = $1`),
		f.ID, f.BlobKey, f.ContentType, f.Size, f.SHA256, f.DocumentType, f.Side, f.Status, f.Reason, tsIn(f.DecidedAt))
	if err != nil {
		return fail(ctx, "update file", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("file", f.ID)
	}
	return nil
}

// DeleteFile implements verification.FileStore.
func (s *Store) DeleteFile(ctx context.Context, id string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	tag, err := s.q.Exec(ctx, s.sql(`DELETE FROM {{schema}}.files WHERE id = $1`), id)
	if err != nil {
		return fail(ctx, "delete file", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("file", id)
	}
	return nil
}

// ListFiles implements verification.FileStore. A zero CreatedAt (NULL)
// sorts first, as the zero time does in Go.
func (s *Store) ListFiles(ctx context.Context, f verification.FileFilter) ([]verification.File, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	var c conds
	if f.SubjectID != 0 {
		c.add("subject_id = ?", f.SubjectID)
	}
	if f.DocumentType != "" {
		c.add("document_type = ?", f.DocumentType)
	}
	if f.Side != "" {
		c.add("side = ?", f.Side)
	}
	if f.Status != "" {
		c.add("status = ?", f.Status)
	}
	if !f.DecidedBefore.IsZero() {
		c.add("decided_at < ?", f.DecidedBefore)
	}
	if !f.CreatedBefore.IsZero() {
		c.add("created_at < ?", f.CreatedBefore)
	}
	if f.BlobKeys != nil {
		c.add("blob_key = ANY(?)", f.BlobKeys)
	}
	rows, err := s.q.Query(ctx, s.sql(`SELECT `+fileCols+` FROM {{schema}}.files WHERE `+c.where()+
		` ORDER BY created_at ASC NULLS FIRST, id`), c.args...)
	if err != nil {
		return nil, fail(ctx, "list files", err)
	}
	out, err := collect(rows, scanFile)
	return out, fail(ctx, "list files", err)
}
