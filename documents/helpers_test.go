package documents

import (
	"crypto/rand"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// jpegHeader starts every generated stream, so Sniff accepts it as JPEG.
var jpegHeader = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00}

// genReader produces n bytes, starting with a JPEG header and followed by a
// deterministic pattern, without ever holding them: the stand-in for a large
// upload.
type genReader struct {
	n, off int64
	reads  int64 // bytes handed out, for tests that bound how much is read
}

// newJPEGStream returns a genReader of n bytes.
func newJPEGStream(n int64) *genReader { return &genReader{n: n} }

// Read implements io.Reader.
func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if rem := g.n - g.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	for i := range p {
		p[i] = genByte(g.off + int64(i))
	}
	g.off += int64(len(p))
	g.reads += int64(len(p))
	return len(p), nil
}

// genByte returns byte i of every generated stream.
func genByte(i int64) byte {
	if i < int64(len(jpegHeader)) {
		return jpegHeader[i]
	}
	return byte(i*31 + i>>9)
}

// errBoom is the error of failingReader.
var errBoom = errors.New("boom: client connection reset")

// failingReader yields n bytes of a generated stream, then fails with errBoom.
type failingReader struct {
	g *genReader
}

// newFailingReader returns a reader failing after n bytes.
func newFailingReader(n int64) io.Reader { return &failingReader{g: newJPEGStream(n)} }

// Read implements io.Reader.
func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.g.Read(p)
	if errors.Is(err, io.EOF) {
		return n, errBoom
	}
	return n, err
}

// randomBytes returns n random bytes.
func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// dirNames lists the names in dir.
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// requireEmptyDir fails unless dir holds no file at all, temporary ones
// included.
func requireEmptyDir(t testing.TB, dir string) {
	t.Helper()
	require.Empty(t, dirNames(t, dir), "a failed Put must leave nothing behind")
}
