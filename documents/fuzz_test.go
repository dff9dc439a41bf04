package documents

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fuzzSigner returns the Signer FuzzVerify attacks: k1 retired ten minutes
// after signedAt, k2 active, the clock at signedAt plus ten minutes. The
// committed corpus in testdata/fuzz/FuzzVerify holds URLs it signed.
func fuzzSigner(tb testing.TB) *Signer {
	tb.Helper()
	now := signedAt.Add(10 * time.Minute)
	s, err := NewSigner([]SigningKey{
		{ID: "k1", Secret: secret1, RetiredAt: now},
		{ID: "k2", Secret: secret2},
	}, SignerOptions{Now: func() time.Time { return now }, TTL: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// FuzzVerify checks that Verify never panics, only ever fails with one of
// its three sentinel errors, and that whatever it accepts is bound to its
// method and path.
func FuzzVerify(f *testing.F) {
	s := fuzzSigner(f)
	q, _ := s.Sign(http.MethodGet, "/api/v1/files/0123456789abcdef0123456789abcdef")
	f.Add(http.MethodGet, "/api/v1/files/0123456789abcdef0123456789abcdef", q.Encode())
	f.Add(http.MethodGet, "/", "exp=1&kid=k1&sig=AAAA")
	f.Add("", "", "")

	f.Fuzz(func(t *testing.T, method, path, rawQuery string) {
		q, _ := url.ParseQuery(rawQuery)
		err := s.Verify(method, path, q)
		if err != nil {
			if !errors.Is(err, ErrURLInvalid) && !errors.Is(err, ErrURLExpired) && !errors.Is(err, ErrURLUnknownKey) {
				t.Fatalf("Verify returned an error outside its contract: %v", err)
			}
			return
		}
		for _, other := range [][2]string{{method, path + "/"}, {method + "X", path}, {method, "x" + path}} {
			if s.Verify(other[0], other[1], q) == nil {
				t.Fatalf("signature for %q %q also verifies %q %q", method, path, other[0], other[1])
			}
		}
	})
}

// TestFuzzVerifyCorpus keeps the committed corpus meaningful: the seeds
// named valid_* verify, every other seed is refused.
func TestFuzzVerifyCorpus(t *testing.T) {
	t.Parallel()
	s := fuzzSigner(t)

	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		require.Len(t, lines, 4, e.Name())
		require.Equal(t, "go test fuzz v1", lines[0])
		args := make([]string, 3)
		for i, line := range lines[1:] {
			quoted, ok := strings.CutPrefix(line, "string(")
			require.True(t, ok, e.Name())
			args[i], err = strconv.Unquote(strings.TrimSuffix(quoted, ")"))
			require.NoError(t, err, e.Name())
		}
		q, _ := url.ParseQuery(args[2])
		err = s.Verify(args[0], args[1], q)
		if strings.HasPrefix(e.Name(), "valid_") {
			require.NoError(t, err, e.Name())
		} else {
			require.Error(t, err, e.Name())
		}
	}
}

// FuzzOpenSealed feeds arbitrary bytes to the sealed blob reader: it must
// never panic, and anything but the genuine blob must fail.
func FuzzOpenSealed(f *testing.F) {
	keyring, err := NewKeyring(MasterKey{ID: "m1", Key: bytes.Repeat([]byte{1}, MasterKeySize)})
	require.NoError(f, err)
	files, err := NewFileStore(f.TempDir())
	require.NoError(f, err)
	sealed, err := NewSealedStore(files, keyring, NewMemoryKeyStore())
	require.NoError(f, err)

	plain := bytes.Repeat([]byte("document "), SealChunkSize/4)
	blob, err := sealed.Put(f.Context(), "42", bytes.NewReader(plain), 0)
	require.NoError(f, err)
	rc, err := files.Open(f.Context(), blob.Key)
	require.NoError(f, err)
	genuine, err := io.ReadAll(rc)
	require.NoError(f, err)
	require.NoError(f, rc.Close())
	f.Add(genuine)
	f.Add(genuine[:headerFixedLen+2])
	f.Add([]byte(sealMagic))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, data []byte) {
		var got []byte
		or, err := sealed.open(t.Context(), io.NopCloser(bytes.NewReader(data)))
		if err == nil {
			got, err = io.ReadAll(or)
		}
		if bytes.Equal(data, genuine) {
			require.NoError(t, err)
			require.Equal(t, plain, got)
			return
		}
		require.Error(t, err, "altered sealed bytes never decrypt")
	})
}
