package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/verification"
)

// BlobChunkSize is the size of the rows a BlobStore splits blobs into:
// 256 KiB (the last chunk of a blob is shorter).
const BlobChunkSize = 256 << 10

// spoolPrefix starts the name of a spool file, for the moment between its
// creation and its removal.
const spoolPrefix = ".openkyc-spool-"

// BlobStore is a documents.BlobStore keeping document bytes in the Store's
// database (tables blobs and blob_chunks, migration 0007), so that the
// documents live, are backed up and are erased with the records. Wrap it in
// documents.NewSealedStore, with the keys of Store.DataKeys, to keep the
// bytes encrypted at rest:
//
//	blobs, err := documents.NewSealedStore(store.Blobs(), keyring, store.DataKeys())
//
// SQLite has one writer at a time, so Put does not hold the write lock while
// a client sends its file: it first copies the stream, at the client's
// pace, into a spool file in the database's directory, which is unlinked as
// soon as it is created (no other process can open it and a crash leaves
// nothing behind); then it copies the spool into rows of BlobChunkSize in
// one write transaction, at disk speed, writing the blob's row last. A blob
// is whole or absent, and a failed, cancelled or over-limit Put leaves
// nothing. Open reads one chunk per query on the read pool. Neither holds
// more than one chunk in memory; wrap the store in a SealedStore so that
// the spool only ever holds ciphertext.
//
// Keys are documents.NewBlobKey keys. BlobStore implements
// documents.OwnerEraser, and the Store implements
// verification.DocumentEraser, so Service.Erase deletes the bytes in the same
// transaction as the subject's records.
type BlobStore struct {
	s *Store

	mu  sync.Mutex
	dir string // the spool directory, once known
}

var (
	_ documents.BlobStore         = (*BlobStore)(nil)
	_ documents.OwnerEraser       = (*BlobStore)(nil)
	_ verification.DocumentEraser = (*Store)(nil)
)

// Blobs returns the BlobStore of the Store's database. It shares the
// Store's connections and is closed with it; call it on the Store returned
// by Open, not on the one passed to an InTx callback.
func (s *Store) Blobs() *BlobStore {
	return &BlobStore{s: &Store{c: s.c}}
}

// spoolDir returns the directory of the main database file, looked up once.
func (b *BlobStore) spoolDir(ctx context.Context) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dir != "" {
		return b.dir, nil
	}
	rows, err := b.s.c.reader.QueryContext(ctx, "PRAGMA database_list")
	if err != nil {
		return "", b.s.blobErr(ctx, "blob put: locating the database directory", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq        int
			name, file string
		)
		if err := rows.Scan(&seq, &name, &file); err != nil {
			return "", b.s.blobErr(ctx, "blob put: locating the database directory", err)
		}
		if name == "main" && file != "" {
			b.dir = filepath.Dir(file)
			return b.dir, nil
		}
	}
	if err := rows.Err(); err != nil {
		return "", b.s.blobErr(ctx, "blob put: locating the database directory", err)
	}
	return "", errors.New("sqlite: blob put: the database has no main file")
}

// Put implements documents.BlobStore.
func (b *BlobStore) Put(ctx context.Context, owner string, r io.Reader, limit int64) (documents.Blob, error) {
	if err := documents.ValidateOwner(owner); err != nil {
		return documents.Blob{}, err
	}
	if err := b.s.check(ctx); err != nil {
		return documents.Blob{}, fmt.Errorf("sqlite: blob put: %w", err)
	}
	if limit <= 0 {
		limit = documents.DefaultMaxFileSize
	}
	dir, err := b.spoolDir(ctx)
	if err != nil {
		return documents.Blob{}, err
	}
	spool, err := os.CreateTemp(dir, spoolPrefix+"*")
	if err != nil {
		return documents.Blob{}, fmt.Errorf("sqlite: blob put: spool: %w", err)
	}
	name := spool.Name()
	if runtime.GOOS != "windows" {
		// Unlinked at once: reachable only through this descriptor, gone at
		// Close or at a crash. Windows cannot remove an open file.
		_ = os.Remove(name)
	}
	defer func() {
		_ = spool.Close()
		if runtime.GOOS == "windows" {
			_ = os.Remove(name)
		}
	}()

	buf := make([]byte, BlobChunkSize)
	sum := sha256.New()
	size, err := spoolCopy(ctx, spool, sum, r, limit, buf)
	if err != nil {
		return documents.Blob{}, err
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return documents.Blob{}, fmt.Errorf("sqlite: blob put: spool: %w", err)
	}
	key := documents.NewBlobKey()
	digest := hex.EncodeToString(sum.Sum(nil))
	chunks := int((size + BlobChunkSize - 1) / BlobChunkSize)
	err = b.s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		ins, err := tx.c.wconn.PrepareContext(cn.ctx, cn.sql(`INSERT INTO {{prefix}}blob_chunks (blob_key, seq, data) VALUES (?, ?, ?)`))
		if err != nil {
			return err
		}
		defer ins.Close()
		for seq := range chunks {
			// The write lock is held: a cancellation stops at the next chunk.
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := io.ReadFull(spool, buf)
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("spool: %w", err)
			}
			if _, err := ins.ExecContext(cn.ctx, key, seq, buf[:n]); err != nil {
				return err
			}
		}
		_, err = cn.q.ExecContext(cn.ctx, cn.sql(`INSERT INTO {{prefix}}blobs (key, owner, size, sha256, chunks) VALUES (?, ?, ?, ?, ?)`),
			key, owner, size, digest, chunks)
		return err
	})
	if err != nil {
		return documents.Blob{}, b.s.blobErr(ctx, "blob put", err)
	}
	return documents.Blob{Key: key, Owner: owner, Size: size, SHA256: digest}, nil
}

// spoolCopy copies r to w and sum through buf, checking ctx before every
// read, and fails with documents.ErrTooLarge once more than limit bytes
// were read. It reads at most limit+1 bytes of r.
func spoolCopy(ctx context.Context, w io.Writer, sum io.Writer, r io.Reader, limit int64, buf []byte) (int64, error) {
	if limit < math.MaxInt64 {
		r = io.LimitReader(r, limit+1)
	}
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return size, fmt.Errorf("sqlite: blob put: %w", err)
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			size += int64(n)
			if size > limit {
				return size, fmt.Errorf("%w: more than %d bytes", documents.ErrTooLarge, limit)
			}
			sum.Write(buf[:n])
			if _, err := w.Write(buf[:n]); err != nil {
				return size, fmt.Errorf("sqlite: blob put: spool: %w", err)
			}
		}
		if errors.Is(rerr, io.EOF) {
			return size, nil
		}
		if rerr != nil {
			return size, fmt.Errorf("sqlite: blob put: reading upload: %w", rerr)
		}
	}
}

// Open implements documents.BlobStore. The stream reads one chunk per query
// with ctx, so cancelling ctx fails the next Read; a blob deleted while it
// is being read fails the next Read with an error matching
// documents.ErrBlobNotFound.
func (b *BlobStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := b.s.check(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: blob open: %w", err)
	}
	if err := documents.ValidateBlobKey(key); err != nil {
		return nil, err
	}
	var chunks int
	err := b.s.c.reader.QueryRowContext(ctx, withPrefix(`SELECT chunks FROM {{prefix}}blobs WHERE key = ?`, b.s.c.prefix), key).Scan(&chunks)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", documents.ErrBlobNotFound, key)
	}
	if err != nil {
		return nil, b.s.blobErr(ctx, "blob open", err)
	}
	return &chunkReader{ctx: ctx, b: b, key: key, chunks: chunks}, nil
}

// Delete implements documents.BlobStore: it deletes the blob's row and, by
// cascade, its chunks. Deleting an absent blob returns nil.
func (b *BlobStore) Delete(ctx context.Context, key string) error {
	if err := b.s.check(ctx); err != nil {
		return fmt.Errorf("sqlite: blob delete: %w", err)
	}
	if err := documents.ValidateBlobKey(key); err != nil {
		return err
	}
	return b.s.blobErr(ctx, "blob delete", b.s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		_, err := cn.q.ExecContext(cn.ctx, cn.sql(`DELETE FROM {{prefix}}blobs WHERE key = ?`), key)
		return err
	}))
}

// EraseOwner implements documents.OwnerEraser: it deletes every blob of
// owner in one transaction.
func (b *BlobStore) EraseOwner(ctx context.Context, owner string) error {
	if err := documents.ValidateOwner(owner); err != nil {
		return err
	}
	if err := b.s.check(ctx); err != nil {
		return fmt.Errorf("sqlite: blob erase owner: %w", err)
	}
	return b.s.blobErr(ctx, "blob erase owner", b.s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		_, err := cn.q.ExecContext(cn.ctx, cn.sql(`DELETE FROM {{prefix}}blobs WHERE owner = ?`), owner)
		return err
	}))
}

// ListBlobs calls fn with the key of every blob and the time its row was
// written, streaming the rows from one read connection, for an orphan sweep
// (the documents.BlobLister capability); fn may use the store meanwhile. An
// error from fn stops the walk and is returned.
func (b *BlobStore) ListBlobs(ctx context.Context, fn func(key string, written time.Time) error) error {
	if err := b.s.check(ctx); err != nil {
		return fmt.Errorf("sqlite: list blobs: %w", err)
	}
	rows, err := b.s.c.reader.QueryContext(ctx, withPrefix(`SELECT key, created_at FROM {{prefix}}blobs`, b.s.c.prefix))
	if err != nil {
		return b.s.blobErr(ctx, "list blobs", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key string
			at  int64
		)
		if err := rows.Scan(&key, &at); err != nil {
			return b.s.blobErr(ctx, "list blobs", err)
		}
		if err := fn(key, time.UnixMicro(at).UTC()); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return b.s.blobErr(ctx, "list blobs", err)
	}
	return nil
}

// EraseDocuments implements verification.DocumentEraser: in the current
// transaction (or in a new one), it deletes every blob of owner kept by
// Blobs and owner's data key kept by DataKeys.
func (s *Store) EraseDocuments(ctx context.Context, owner string) error {
	if err := documents.ValidateOwner(owner); err != nil {
		return fmt.Errorf("sqlite: erase documents: %w: %w", verification.ErrInvalid, err)
	}
	return s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		if _, err := cn.q.ExecContext(cn.ctx, cn.sql(`DELETE FROM {{prefix}}blobs WHERE owner = ?`), owner); err != nil {
			return s.c.mapErr(ctx, "erase documents", err)
		}
		if _, err := cn.q.ExecContext(cn.ctx, cn.sql(`DELETE FROM {{prefix}}data_keys WHERE owner = ?`), owner); err != nil {
			return s.c.mapErr(ctx, "erase documents", err)
		}
		return nil
	})
}

// blobErr wraps an error of a blob or key operation, keeping context errors
// matchable with errors.Is.
func (s *Store) blobErr(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("sqlite: %s: %w", op, ctx.Err())
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// chunkReader streams a blob one chunk at a time.
type chunkReader struct {
	ctx    context.Context
	b      *BlobStore
	key    string
	chunks int
	next   int // the next chunk to fetch
	buf    []byte
	pos    int
	err    error
}

// Read implements io.Reader.
func (c *chunkReader) Read(p []byte) (int, error) {
	for c.pos == len(c.buf) {
		if c.err != nil {
			return 0, c.err
		}
		if c.next == c.chunks {
			return 0, io.EOF
		}
		if err := c.fetch(); err != nil {
			c.err = err
			return 0, err
		}
		c.next++
		c.pos = 0
	}
	n := copy(p, c.buf[c.pos:])
	c.pos += n
	return n, nil
}

// fetch reads chunk c.next into c.buf.
func (c *chunkReader) fetch() error {
	s := c.b.s
	if err := s.check(c.ctx); err != nil {
		return fmt.Errorf("sqlite: blob read: %w", err)
	}
	rows, err := s.c.reader.QueryContext(c.ctx, withPrefix(`SELECT data FROM {{prefix}}blob_chunks WHERE blob_key = ? AND seq = ?`, s.c.prefix), c.key, c.next)
	if err != nil {
		return s.blobErr(c.ctx, "blob read", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return s.blobErr(c.ctx, "blob read", err)
		}
		return fmt.Errorf("sqlite: blob read: %w: chunk missing (deleted while being read)", documents.ErrBlobNotFound)
	}
	var raw sql.RawBytes
	if err := rows.Scan(&raw); err != nil {
		return s.blobErr(c.ctx, "blob read", err)
	}
	c.buf = append(c.buf[:0], raw...)
	return nil
}

// Close implements io.Closer; the stream holds no connection.
func (c *chunkReader) Close() error {
	c.err = errors.New("sqlite: read of a closed blob")
	c.buf, c.pos = nil, 0
	return nil
}
