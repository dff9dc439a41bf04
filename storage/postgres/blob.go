package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/verification"
)

// BlobChunkSize is the size of the rows a BlobStore splits blobs into:
// 256 KiB (the last chunk of a blob is shorter).
const BlobChunkSize = 256 << 10

// BlobStore is a documents.BlobStore keeping document bytes in the Store's
// schema (tables blobs and blob_chunks, migration 0008), so that every
// replica on the schema reads every document with nothing but PostgreSQL.
// Wrap it in documents.NewSealedStore, with the keys of Store.DataKeys, to
// keep the bytes encrypted at rest:
//
//	blobs, err := documents.NewSealedStore(store.Blobs(), keyring, store.DataKeys())
//
// Put streams the upload into rows of BlobChunkSize inside one transaction
// and writes the blob's row last, so a blob is whole or absent, across
// crashes too, and a failed, cancelled or over-limit Put leaves nothing.
// The transaction holds one pool connection for as long as the client takes
// to send the file: bound uploads with the HTTP server's ReadTimeout and
// size pool_max_conns for the concurrent uploads you expect. Open reads one
// chunk per query, holding no connection between reads, so a slow download
// never pins a connection. Neither holds more than one chunk in memory.
//
// Keys are documents.NewBlobKey keys. BlobStore implements
// documents.OwnerEraser (it deletes every blob of the owner), and the Store
// implements verification.DocumentEraser, so Service.Erase deletes the bytes
// in the same transaction as the subject's records.
type BlobStore struct {
	s *Store
}

var (
	_ documents.BlobStore         = (*BlobStore)(nil)
	_ documents.OwnerEraser       = (*BlobStore)(nil)
	_ verification.DocumentEraser = (*Store)(nil)
)

// Blobs returns the BlobStore of the Store's schema. It shares the Store's
// pool and is closed with it; call it on the Store returned by Open or New,
// not on the one passed to an InTx callback (blobs have transactions of
// their own).
func (s *Store) Blobs() *BlobStore {
	return &BlobStore{s: &Store{db: s.db, q: s.db.pool}}
}

// Put implements documents.BlobStore.
func (b *BlobStore) Put(ctx context.Context, owner string, r io.Reader, limit int64) (documents.Blob, error) {
	if err := documents.ValidateOwner(owner); err != nil {
		return documents.Blob{}, err
	}
	if err := b.s.begin(ctx); err != nil {
		return documents.Blob{}, fmt.Errorf("postgres: blob put: %w", err)
	}
	if limit <= 0 {
		limit = documents.DefaultMaxFileSize
	}
	if limit < math.MaxInt64 {
		r = io.LimitReader(r, limit+1)
	}
	key := documents.NewBlobKey()
	tx, err := b.s.db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return documents.Blob{}, blobErr(ctx, "blob put", err)
	}
	// After Commit, Rollback is a no-op; on any failure it discards every
	// chunk written so far.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	// COPY streams the chunks through one reused buffer; an INSERT per
	// chunk would make pgx copy every chunk twice.
	src := &chunkSource{ctx: ctx, r: r, key: key, limit: limit, buf: make([]byte, BlobChunkSize), sum: sha256.New()}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{b.s.db.schema, "blob_chunks"}, []string{"blob_key", "seq", "data"}, src); err != nil {
		if src.err != nil {
			return documents.Blob{}, src.err
		}
		return documents.Blob{}, blobErr(ctx, "blob put", err)
	}
	size, chunks, sum := src.size, src.seq, src.sum
	digest := hex.EncodeToString(sum.Sum(nil))
	if _, err := tx.Exec(ctx, b.s.sql(`INSERT INTO {{schema}}.blobs (key, owner, size, sha256, chunks) VALUES ($1, $2, $3, $4, $5)`),
		key, owner, size, digest, chunks); err != nil {
		return documents.Blob{}, blobErr(ctx, "blob put", err)
	}
	if err := ctx.Err(); err != nil {
		return documents.Blob{}, fmt.Errorf("postgres: blob put: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return documents.Blob{}, blobErr(ctx, "blob put", err)
	}
	return documents.Blob{Key: key, Owner: owner, Size: size, SHA256: digest}, nil
}

// Open implements documents.BlobStore. The stream reads one chunk per query
// with ctx, so cancelling ctx fails the next Read; a blob deleted while it
// is being read fails the next Read with an error matching
// documents.ErrBlobNotFound.
func (b *BlobStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := b.s.begin(ctx); err != nil {
		return nil, fmt.Errorf("postgres: blob open: %w", err)
	}
	if err := documents.ValidateBlobKey(key); err != nil {
		return nil, err
	}
	var (
		size   int64
		chunks int
	)
	err := b.s.db.pool.QueryRow(ctx, b.s.sql(`SELECT size, chunks FROM {{schema}}.blobs WHERE key = $1`), key).Scan(&size, &chunks)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", documents.ErrBlobNotFound, key)
	}
	if err != nil {
		return nil, blobErr(ctx, "blob open", err)
	}
	return &chunkReader{
		ctx: ctx, chunks: chunks,
		fetch: func(ctx context.Context, seq int, dst *chunkBuf) error {
			rows, err := b.s.db.pool.Query(ctx, b.s.sql(`SELECT data FROM {{schema}}.blob_chunks WHERE blob_key = $1 AND seq = $2`), key, seq)
			if err != nil {
				return blobErr(ctx, "blob read", err)
			}
			defer rows.Close()
			if !rows.Next() {
				return blobErr(ctx, "blob read", rows.Err())
			}
			if err := rows.Scan(dst); err != nil {
				return blobErr(ctx, "blob read", err)
			}
			return nil
		},
	}, nil
}

// Delete implements documents.BlobStore: it deletes the blob's row and, by
// cascade, its chunks. Deleting an absent blob returns nil.
func (b *BlobStore) Delete(ctx context.Context, key string) error {
	if err := b.s.begin(ctx); err != nil {
		return fmt.Errorf("postgres: blob delete: %w", err)
	}
	if err := documents.ValidateBlobKey(key); err != nil {
		return err
	}
	if _, err := b.s.db.pool.Exec(ctx, b.s.sql(`DELETE FROM {{schema}}.blobs WHERE key = $1`), key); err != nil {
		return blobErr(ctx, "blob delete", err)
	}
	return nil
}

// EraseOwner implements documents.OwnerEraser: it deletes every blob of
// owner in one statement.
func (b *BlobStore) EraseOwner(ctx context.Context, owner string) error {
	if err := documents.ValidateOwner(owner); err != nil {
		return err
	}
	if err := b.s.begin(ctx); err != nil {
		return fmt.Errorf("postgres: blob erase owner: %w", err)
	}
	if _, err := b.s.db.pool.Exec(ctx, b.s.sql(`DELETE FROM {{schema}}.blobs WHERE owner = $1`), owner); err != nil {
		return blobErr(ctx, "blob erase owner", err)
	}
	return nil
}

// ListBlobs calls fn with the key of every blob and the time its row was
// committed (the server's clock), streaming the rows, for an orphan sweep
// (the documents.BlobLister capability). An error from fn stops the walk
// and is returned.
func (b *BlobStore) ListBlobs(ctx context.Context, fn func(key string, written time.Time) error) error {
	if err := b.s.begin(ctx); err != nil {
		return fmt.Errorf("postgres: list blobs: %w", err)
	}
	rows, err := b.s.db.pool.Query(ctx, b.s.sql(`SELECT key, created_at FROM {{schema}}.blobs`))
	if err != nil {
		return blobErr(ctx, "list blobs", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key string
			at  time.Time
		)
		if err := rows.Scan(&key, &at); err != nil {
			return blobErr(ctx, "list blobs", err)
		}
		if err := fn(key, at.UTC()); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return blobErr(ctx, "list blobs", err)
	}
	return nil
}

// EraseDocuments implements verification.DocumentEraser: in the current
// transaction (or in one statement each outside one), it deletes every blob
// of owner kept by Blobs and owner's data key kept by DataKeys.
func (s *Store) EraseDocuments(ctx context.Context, owner string) error {
	if err := documents.ValidateOwner(owner); err != nil {
		return fmt.Errorf("postgres: erase documents: %w: %w", verification.ErrInvalid, err)
	}
	if err := s.begin(ctx); err != nil {
		return err
	}
	if _, err := s.q.Exec(ctx, s.sql(`DELETE FROM {{schema}}.blobs WHERE owner = $1`), owner); err != nil {
		return fail(ctx, "erase documents", err)
	}
	if _, err := s.q.Exec(ctx, s.sql(`DELETE FROM {{schema}}.data_keys WHERE owner = $1`), owner); err != nil {
		return fail(ctx, "erase documents", err)
	}
	return nil
}

// blobErr wraps a driver error of a blob or key operation: the context's
// error when it is done (so errors.Is(err, context.Canceled) holds),
// otherwise the driver's error wrapped with the operation's name, for logs.
// A nil err is a chunk query that found no row: the blob was deleted while
// it was being read.
func blobErr(ctx context.Context, op string, err error) error {
	if err == nil {
		return fmt.Errorf("postgres: %s: %w: chunk missing (deleted while being read)", op, documents.ErrBlobNotFound)
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("postgres: %s: %w", op, cerr)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// fill reads from r into buf until buf is full or r ends, checking ctx
// before every read. It returns the bytes read and whether r ended; a read
// error other than io.EOF is wrapped.
func fill(ctx context.Context, r io.Reader, buf []byte) (n int, eof bool, err error) {
	for n < len(buf) {
		if err := ctx.Err(); err != nil {
			return n, false, fmt.Errorf("postgres: blob put: %w", err)
		}
		m, rerr := r.Read(buf[n:])
		n += m
		if errors.Is(rerr, io.EOF) {
			return n, true, nil
		}
		if rerr != nil {
			return n, false, fmt.Errorf("postgres: blob put: reading upload: %w", rerr)
		}
	}
	return n, false, nil
}

// chunkSource is the upload as rows of blob_chunks, read one chunk at a
// time as COPY asks for them.
type chunkSource struct {
	ctx   context.Context
	r     io.Reader
	key   string
	limit int64
	buf   []byte
	n     int // bytes of the current chunk in buf
	seq   int // chunks produced so far
	size  int64
	sum   hash.Hash
	eof   bool
	err   error
}

// Next implements pgx.CopyFromSource.
func (c *chunkSource) Next() bool {
	if c.eof || c.err != nil {
		return false
	}
	n, eof, err := fill(c.ctx, c.r, c.buf)
	c.size += int64(n)
	switch {
	case err != nil:
		c.err = err
		return false
	case c.size > c.limit:
		c.err = fmt.Errorf("%w: more than %d bytes", documents.ErrTooLarge, c.limit)
		return false
	}
	c.eof = eof
	if n == 0 {
		return false
	}
	c.sum.Write(c.buf[:n])
	c.n = n
	c.seq++
	return true
}

// Values implements pgx.CopyFromSource.
func (c *chunkSource) Values() ([]any, error) {
	return []any{c.key, c.seq - 1, c.buf[:c.n]}, nil
}

// Err implements pgx.CopyFromSource.
func (c *chunkSource) Err() error { return c.err }

// chunkBuf receives one chunk from the driver without allocating: pgx hands
// ScanBytes its own memory, which is copied into the reused buffer.
type chunkBuf struct{ b []byte }

// ScanBytes implements pgtype.BytesScanner.
func (c *chunkBuf) ScanBytes(v []byte) error {
	c.b = append(c.b[:0], v...)
	return nil
}

// chunkReader streams a blob one chunk at a time.
type chunkReader struct {
	ctx    context.Context
	chunks int
	next   int // the next chunk to fetch
	buf    chunkBuf
	pos    int
	fetch  func(ctx context.Context, seq int, dst *chunkBuf) error
	err    error
}

// Read implements io.Reader.
func (c *chunkReader) Read(p []byte) (int, error) {
	for c.pos == len(c.buf.b) {
		if c.err != nil {
			return 0, c.err
		}
		if c.next == c.chunks {
			return 0, io.EOF
		}
		if err := c.fetch(c.ctx, c.next, &c.buf); err != nil {
			c.err = err
			return 0, err
		}
		c.next++
		c.pos = 0
	}
	n := copy(p, c.buf.b[c.pos:])
	c.pos += n
	return n, nil
}

// Close implements io.Closer; the stream holds no connection.
func (c *chunkReader) Close() error {
	c.err = errors.New("postgres: read of a closed blob")
	c.buf.b, c.pos = nil, 0
	return nil
}
