// Package s3blob is a documents.BlobStore on S3 and S3-compatible object
// storage (AWS S3, Cloudflare R2, MinIO, Ceph RGW, Versity Gateway), for
// hosts whose replicas share documents through a bucket rather than through
// their database. It lives in a nested module so that the core module keeps
// its short dependency list.
//
//	client, err := minio.New("s3.eu-west-1.amazonaws.com", &minio.Options{
//		Creds:  credentials.NewStaticV4(accessKey, secretKey, ""),
//		Secure: true,
//	})
//	store, err := s3blob.New(ctx, s3blob.Options{Client: client, Bucket: "kyc-documents", Prefix: "prod/"})
//	sealed, err := documents.NewSealedStore(store, keyring, pgStore.DataKeys()) // encrypted before it leaves the process
//
// Objects are named Prefix + owner + "/" + a random key, so every object of
// a subject sits under one prefix: EraseOwner lists and deletes it, and a
// bucket policy or lifecycle rule can address it. The blob key handed back
// by Put is owner + "/" + 32 hex characters; Open and Delete refuse anything
// else with documents.ErrInvalidKey, so a key from a request never names
// another prefix.
//
// S3 needs an object's length before its bytes (a PUT carries
// Content-Length), and an upload's length is known only at its end. Put
// therefore copies the stream, at the client's pace, into a spool file that
// is unlinked as soon as it is created (reachable only through its
// descriptor: gone at Close or at a crash), then sends it in one streaming
// PUT. Memory stays at a 32 KiB buffer plus the client's, whatever the size;
// a multipart upload would instead hold a 5 MiB part (the S3 minimum) in
// memory. Wrap the store in a documents.SealedStore so that the spool and
// the bucket only ever hold ciphertext.
//
// The client is github.com/minio/minio-go/v7: it speaks to every
// S3-compatible service, sends a file of known length as one streaming PUT
// without part buffers, and brings a small dependency tree (see the
// module's README for why not gocloud.dev/blob).
package s3blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/openkyc/kyc/documents"
)

// maxSinglePut is the largest object S3 accepts in one PUT: 5 GiB. Larger
// blobs go up as multipart uploads, which buffer one part in memory.
const maxSinglePut = 5 << 30

// copyBufferSize is the buffer Put copies the stream through.
const copyBufferSize = 32 << 10

// spoolPrefix starts the name of a spool file, for the moment between its
// creation and its removal.
const spoolPrefix = ".openkyc-s3-spool-"

// Options configure a Store.
type Options struct {
	// Client is the S3 client; required. Its credentials need GetObject,
	// PutObject, DeleteObject and ListBucket on the bucket.
	Client *minio.Client
	// Bucket is the bucket holding the objects; required. It must exist:
	// New checks that it does and fails otherwise.
	Bucket string
	// Prefix starts every object name ("kyc/", "prod/documents/"); empty
	// means the bucket's root. If set, it must end with "/".
	Prefix string
	// SpoolDir is the directory of the unlinked spool files of uploads;
	// empty means os.TempDir(). Use a local disk readable only by the
	// process.
	SpoolDir string
}

// Store is a documents.BlobStore (and documents.OwnerEraser) on one bucket.
// It is safe for concurrent use.
type Store struct {
	client *minio.Client
	bucket string
	prefix string
	spool  string
}

var (
	_ documents.BlobStore   = (*Store)(nil)
	_ documents.OwnerEraser = (*Store)(nil)
)

// New returns a Store on opts.Bucket after checking that the bucket exists
// and answers, so a wrong endpoint, credential or bucket fails at start-up
// rather than at the first upload.
func New(ctx context.Context, opts Options) (*Store, error) {
	switch {
	case opts.Client == nil:
		return nil, errors.New("s3blob: Options.Client is required")
	case opts.Bucket == "":
		return nil, errors.New("s3blob: Options.Bucket is required")
	case opts.Prefix != "" && !strings.HasSuffix(opts.Prefix, "/"):
		return nil, fmt.Errorf("s3blob: Options.Prefix %q must end with \"/\"", opts.Prefix)
	}
	ok, err := opts.Client.BucketExists(ctx, opts.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3blob: checking bucket %q: %w", opts.Bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("s3blob: bucket %q does not exist", opts.Bucket)
	}
	spool := opts.SpoolDir
	if spool == "" {
		spool = os.TempDir()
	}
	return &Store{client: opts.Client, bucket: opts.Bucket, prefix: opts.Prefix, spool: spool}, nil
}

// Bucket returns the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// ObjectName returns the name of the object holding the blob with key, for
// hosts that presign URLs or set policies themselves. It fails like Open
// for an invalid key.
func (s *Store) ObjectName(key string) (string, error) {
	if _, err := parseKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

// Put implements documents.BlobStore: it spools the stream (reading at most
// limit+1 bytes of it), then stores it with one PUT. Nothing is stored
// unless the whole stream was read and the PUT succeeded.
func (s *Store) Put(ctx context.Context, owner string, r io.Reader, limit int64) (documents.Blob, error) {
	if err := documents.ValidateOwner(owner); err != nil {
		return documents.Blob{}, err
	}
	if err := ctx.Err(); err != nil {
		return documents.Blob{}, fmt.Errorf("s3blob: put: %w", err)
	}
	if limit <= 0 {
		limit = documents.DefaultMaxFileSize
	}
	spool, err := os.CreateTemp(s.spool, spoolPrefix+"*")
	if err != nil {
		return documents.Blob{}, fmt.Errorf("s3blob: put: spool: %w", err)
	}
	name := spool.Name()
	if runtime.GOOS != "windows" {
		// Windows cannot remove an open file; elsewhere the spool is
		// unlinked at once.
		_ = os.Remove(name)
	}
	defer func() {
		_ = spool.Close()
		if runtime.GOOS == "windows" {
			_ = os.Remove(name)
		}
	}()

	sum := sha256.New()
	size, err := copyLimited(ctx, spool, sum, r, limit)
	if err != nil {
		return documents.Blob{}, err
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return documents.Blob{}, fmt.Errorf("s3blob: put: spool: %w", err)
	}
	key := owner + "/" + documents.NewBlobKey()
	digest := hex.EncodeToString(sum.Sum(nil))
	_, err = s.client.PutObject(ctx, s.bucket, s.prefix+key, spool, size, minio.PutObjectOptions{
		ContentType:      "application/octet-stream",
		DisableMultipart: size <= maxSinglePut,
		// UNSIGNED-PAYLOAD, as minio-go sends over TLS anyway: on a plain
		// HTTP endpoint it would otherwise sign every 64 KiB chunk, making
		// 2 MiB of garbage per 20 MiB. TLS (or, for a SealedStore, GCM)
		// protects the bytes.
		DisableContentSha256: true,
	})
	if err != nil {
		return documents.Blob{}, s.err(ctx, "put", err)
	}
	return documents.Blob{Key: key, Owner: owner, Size: size, SHA256: digest}, nil
}

// Open implements documents.BlobStore. The object's GET is sent before Open
// returns, so a missing object fails here with documents.ErrBlobNotFound.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("s3blob: open: %w", err)
	}
	if _, err := parseKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.err(ctx, "open", err)
	}
	if _, err := obj.Stat(); err != nil {
		_ = obj.Close()
		if isNotFound(err) {
			return nil, fmt.Errorf("%w: %s", documents.ErrBlobNotFound, key)
		}
		return nil, s.err(ctx, "open", err)
	}
	return obj, nil
}

// Delete implements documents.BlobStore. Deleting an absent object returns
// nil, as S3 itself answers.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3blob: delete: %w", err)
	}
	if _, err := parseKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return s.err(ctx, "delete", err)
	}
	return nil
}

// EraseOwner implements documents.OwnerEraser: it lists the objects under
// the owner's prefix and deletes them one by one (one request each, which
// every S3-compatible service supports). Objects written during the call
// may survive it; Service.Erase repeats until none is left.
func (s *Store) EraseOwner(ctx context.Context, owner string) error {
	if err := documents.ValidateOwner(owner); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3blob: erase owner: %w", err)
	}
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + owner + "/", Recursive: true}) {
		if obj.Err != nil {
			return s.err(ctx, "erase owner: list", obj.Err)
		}
		if err := s.client.RemoveObject(ctx, s.bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
			return s.err(ctx, "erase owner", err)
		}
	}
	return nil
}

// ListBlobs calls fn with the key of every blob under the prefix and its
// object's last-modified time, for an orphan sweep (the
// documents.BlobLister capability). Objects whose names are not blob keys
// are skipped. An error from fn stops the walk and is returned.
func (s *Store) ListBlobs(ctx context.Context, fn func(key string, written time.Time) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3blob: list blobs: %w", err)
	}
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if obj.Err != nil {
			return s.err(ctx, "list blobs", obj.Err)
		}
		key := strings.TrimPrefix(obj.Key, s.prefix)
		if _, err := parseKey(key); err != nil {
			continue
		}
		if err := fn(key, obj.LastModified.UTC()); err != nil {
			return err
		}
	}
	return nil
}

// parseKey checks a blob key, owner "/" documents.NewBlobKey(), and returns
// its owner. Anything else matches documents.ErrInvalidKey.
func parseKey(key string) (string, error) {
	owner, rest, ok := strings.Cut(key, "/")
	if !ok || documents.ValidateOwner(owner) != nil {
		return "", fmt.Errorf("%w: want <owner>/<32 hex characters>", documents.ErrInvalidKey)
	}
	if err := documents.ValidateBlobKey(rest); err != nil {
		return "", err
	}
	return owner, nil
}

// isNotFound reports whether err is S3's answer for a missing object.
func isNotFound(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == "NoSuchKey" || code == "NotFound"
}

// err wraps an S3 error for logs, keeping a done context matchable with
// errors.Is. The wrapped error names the bucket and the operation, never
// the credentials.
func (s *Store) err(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("s3blob: %s: %w", op, cerr)
	}
	return fmt.Errorf("s3blob: %s (bucket %q): %w", op, s.bucket, err)
}

// copyLimited copies r to w and sum through a bounded buffer, checking ctx
// before every read, and fails with documents.ErrTooLarge once more than
// limit bytes were read. It reads at most limit+1 bytes of r.
func copyLimited(ctx context.Context, w, sum io.Writer, r io.Reader, limit int64) (int64, error) {
	if limit < math.MaxInt64 {
		r = io.LimitReader(r, limit+1)
	}
	buf := make([]byte, copyBufferSize)
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return size, fmt.Errorf("s3blob: put: %w", err)
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			size += int64(n)
			if size > limit {
				return size, fmt.Errorf("%w: more than %d bytes", documents.ErrTooLarge, limit)
			}
			sum.Write(buf[:n])
			if _, err := w.Write(buf[:n]); err != nil {
				return size, fmt.Errorf("s3blob: put: spool: %w", err)
			}
		}
		if errors.Is(rerr, io.EOF) {
			return size, nil
		}
		if rerr != nil {
			return size, fmt.Errorf("s3blob: put: reading upload: %w", rerr)
		}
	}
}
