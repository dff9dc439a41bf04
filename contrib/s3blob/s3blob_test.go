package s3blob_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"

	"github.com/openkyc/kyc/contrib/s3blob"
	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/documents/blobtest"
)

// The S3 server the tests use (.ci/run starts a versitygw and sets them).
const (
	endpointEnv = "OPENKYC_TEST_S3_ENDPOINT"   // host:port, plain HTTP
	accessEnv   = "OPENKYC_TEST_S3_ACCESS_KEY" // access key id
	secretEnv   = "OPENKYC_TEST_S3_SECRET_KEY" // secret key
)

// testClient returns a client of the test server, or skips the test when
// none is configured (outside CI only: in CI a missing server is a failure).
func testClient(tb testing.TB) *minio.Client {
	tb.Helper()
	endpoint := os.Getenv(endpointEnv)
	if endpoint == "" {
		msg := "the S3 store's tests need an S3 server: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0; " +
			"versitygw --access KEY --secret SECRET --port 127.0.0.1:17042 posix DIR; then run them with " +
			endpointEnv + "=127.0.0.1:17042 " + accessEnv + "=KEY " + secretEnv + "=SECRET go test ./..."
		if os.Getenv("CI") != "" {
			tb.Fatal("CI must run the S3 tests: " + msg)
		}
		tb.Skip(msg)
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv(accessEnv), os.Getenv(secretEnv), ""),
		Secure: false,
	})
	require.NoError(tb, err)
	return c
}

// newBucket creates a fresh bucket, emptied and removed when tb ends.
func newBucket(tb testing.TB, c *minio.Client) string {
	tb.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "kyctest-" + hex.EncodeToString(b[:])
	require.NoError(tb, c.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}), "create bucket on the test server (%s)", endpointEnv)
	tb.Cleanup(func() {
		ctx := context.Background()
		for obj := range c.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true}) {
			if obj.Err == nil {
				_ = c.RemoveObject(ctx, name, obj.Key, minio.RemoveObjectOptions{})
			}
		}
		if err := c.RemoveBucket(ctx, name); err != nil {
			tb.Errorf("remove bucket %s: %v", name, err)
		}
	})
	return name
}

// stores remembers each test store's client, bucket and spool directory.
var stores sync.Map // *s3blob.Store -> storeInfo

type storeInfo struct {
	client *minio.Client
	bucket string
	spool  string
}

func newStore(tb testing.TB, prefix string) *s3blob.Store {
	tb.Helper()
	c := testClient(tb)
	bucket := newBucket(tb, c)
	spool := tb.TempDir()
	s, err := s3blob.New(tb.Context(), s3blob.Options{Client: c, Bucket: bucket, Prefix: prefix, SpoolDir: spool})
	require.NoError(tb, err)
	stores.Store(s, storeInfo{c, bucket, spool})
	return s
}

// count counts the objects of the store's bucket and its spool files.
func count(t *testing.T, b documents.BlobStore) int {
	t.Helper()
	st := b
	if sealed, ok := b.(*documents.SealedStore); ok {
		st = sealed.Inner()
	}
	v, ok := stores.Load(st)
	require.True(t, ok)
	info := v.(storeInfo)
	n := 0
	for obj := range info.client.ListObjects(t.Context(), info.bucket, minio.ListObjectsOptions{Recursive: true}) {
		require.NoError(t, obj.Err)
		n++
	}
	entries, err := os.ReadDir(info.spool)
	require.NoError(t, err)
	return n + len(entries)
}

func sealed(tb testing.TB, inner documents.BlobStore) *documents.SealedStore {
	tb.Helper()
	master, err := documents.GenerateMasterKey("test")
	require.NoError(tb, err)
	keyring, err := documents.NewKeyring(master)
	require.NoError(tb, err)
	s, err := documents.NewSealedStore(inner, keyring, documents.NewMemoryKeyStore())
	require.NoError(tb, err)
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	testClient(t)
	blobtest.RunWith(t, func(t *testing.T) documents.BlobStore { return newStore(t, "") }, blobtest.Features{Count: count})
}

func TestConformanceWithPrefix(t *testing.T) {
	t.Parallel()
	testClient(t)
	blobtest.RunWith(t, func(t *testing.T) documents.BlobStore { return newStore(t, "kyc/docs/") }, blobtest.Features{Count: count})
}

func TestSealedConformance(t *testing.T) {
	t.Parallel()
	testClient(t)
	blobtest.RunWith(t, func(t *testing.T) documents.BlobStore { return sealed(t, newStore(t, "")) }, blobtest.Features{Count: count})
}

func TestObjectsArePrefixedByOwner(t *testing.T) {
	t.Parallel()
	s := newStore(t, "prod/")
	info, _ := stores.Load(s)
	blob, err := s.Put(t.Context(), "s42", strings.NewReader("front"), 0)
	require.NoError(t, err)
	require.Regexp(t, `^s42/[0-9a-f]{32}$`, blob.Key)
	name, err := s.ObjectName(blob.Key)
	require.NoError(t, err)
	require.Equal(t, "prod/"+blob.Key, name)
	var names []string
	for obj := range info.(storeInfo).client.ListObjects(t.Context(), s.Bucket(), minio.ListObjectsOptions{Prefix: "prod/s42/", Recursive: true}) {
		require.NoError(t, obj.Err)
		names = append(names, obj.Key)
	}
	require.Equal(t, []string{name}, names, "the object sits under the prefix and the owner")
	for _, bad := range []string{"s42", "s42/", "/" + blob.Key[4:], "s4/2" + blob.Key[3:], "../" + blob.Key[4:], "s42/" + strings.ToUpper(blob.Key[4:])} {
		_, err := s.Open(t.Context(), bad)
		require.ErrorIs(t, err, documents.ErrInvalidKey, bad)
	}
}

func TestNewChecksTheBucket(t *testing.T) {
	t.Parallel()
	c := testClient(t)
	_, err := s3blob.New(t.Context(), s3blob.Options{Client: c, Bucket: "kyctest-does-not-exist"})
	require.ErrorContains(t, err, "does not exist")
	_, err = s3blob.New(t.Context(), s3blob.Options{Client: c, Bucket: newBucket(t, c), Prefix: "no-slash"})
	require.Error(t, err)
	_, err = s3blob.New(t.Context(), s3blob.Options{Bucket: "b"})
	require.Error(t, err)
}

// BenchmarkBlobs streams 20 MiB through the S3 store, plain and sealed (see
// blobtest.Benchmark for the figures).
func BenchmarkBlobs(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		blobtest.Benchmark(b, func(b *testing.B) documents.BlobStore { return newStore(b, "") })
	})
	b.Run("sealed", func(b *testing.B) {
		blobtest.Benchmark(b, func(b *testing.B) documents.BlobStore { return sealed(b, newStore(b, "")) })
	})
}

// TestListBlobs: every stored blob is listed once with a recent write time,
// so that an orphan sweep (documents.BlobLister) can judge its age.
func TestListBlobs(t *testing.T) {
	t.Parallel()
	st := newStore(t, "p/")
	want := map[string]bool{}
	for i := range 3 {
		blob, err := st.Put(t.Context(), "s1", strings.NewReader(strings.Repeat("x", i+1)), 0)
		require.NoError(t, err)
		want[blob.Key] = true
	}
	got := map[string]bool{}
	err := st.ListBlobs(t.Context(), func(key string, written time.Time) error {
		require.False(t, got[key], "listed twice: %s", key)
		got[key] = true
		require.WithinDuration(t, time.Now(), written, time.Minute, "the write time of %s", key)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, want, got)
	stop := errors.New("stop")
	require.ErrorIs(t, st.ListBlobs(t.Context(), func(string, time.Time) error { return stop }), stop)
}
