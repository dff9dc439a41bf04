package documents

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	jpegBytes = append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10}, "JFIF rest of the image"...)
	pngBytes  = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 40)...)
	pdfBytes  = []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
)

func TestSniff(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		input   []byte
		allowed []ContentType
		want    ContentType
		wantErr error
		wantMsg string
	}{
		{name: "jpeg", input: jpegBytes, want: JPEG},
		{name: "png", input: pngBytes, want: PNG},
		{name: "pdf", input: pdfBytes, want: PDF},
		{name: "bare jpeg magic", input: []byte{0xFF, 0xD8, 0xFF}, want: JPEG},
		{name: "explicit list", input: pdfBytes, allowed: []ContentType{PDF}, want: PDF},
		{name: "jpeg not in list", input: jpegBytes, allowed: []ContentType{PDF},
			wantErr: ErrUnsupportedContent, wantMsg: "detected image/jpeg, allowed application/pdf"},
		{name: "gif", input: []byte("GIF89a\x01\x00\x01\x00"),
			wantErr: ErrUnsupportedContent, wantMsg: "detected image/gif, allowed image/jpeg, image/png, application/pdf"},
		{name: "webp", input: []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), wantErr: ErrUnsupportedContent, wantMsg: "detected image/webp"},
		{name: "html named .jpg", input: []byte("<html><script>alert(1)</script>"),
			wantErr: ErrUnsupportedContent, wantMsg: "detected unrecognised content"},
		{name: "executable", input: []byte("MZ\x90\x00\x03"), wantErr: ErrUnsupportedContent, wantMsg: "application/x-msdownload"},
		{name: "zip", input: []byte("PK\x03\x04\x14\x00"), wantErr: ErrUnsupportedContent, wantMsg: "application/zip"},
		{name: "truncated png magic", input: []byte("\x89PNG\r\n"), wantErr: ErrUnsupportedContent},
		{name: "two jpeg bytes", input: []byte{0xFF, 0xD8}, wantErr: ErrUnsupportedContent},
		{name: "pdf not at offset 0", input: append([]byte(" "), pdfBytes...), wantErr: ErrUnsupportedContent},
		{name: "empty", input: nil, wantErr: ErrEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ct, r, err := Sniff(bytes.NewReader(tt.input), tt.allowed)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Nil(t, r)
				assert.Contains(t, err.Error(), tt.wantMsg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, ct)
			got, err := io.ReadAll(r)
			require.NoError(t, err)
			require.Equal(t, tt.input, got, "the returned reader yields the whole stream")
		})
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestSniffReadsOnlyTheHead(t *testing.T) {
	t.Parallel()

	src := &countingReader{r: newJPEGStream(50 << 20)}
	ct, r, err := Sniff(src, nil)
	require.NoError(t, err)
	require.Equal(t, JPEG, ct)
	require.Equal(t, sniffLen, src.n, "Sniff reads only the leading bytes")

	// The rest of the stream is still there, in order.
	head := make([]byte, 1000)
	_, err = io.ReadFull(r, head)
	require.NoError(t, err)
	for i, c := range head {
		require.Equal(t, genByte(int64(i)), c, "byte %d", i)
	}
}

func TestSniffOneByteReads(t *testing.T) {
	t.Parallel()

	ct, r, err := Sniff(iotest.OneByteReader(bytes.NewReader(pngBytes)), DefaultAllowed)
	require.NoError(t, err)
	require.Equal(t, PNG, ct)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, pngBytes, got)
}

func TestSniffReadError(t *testing.T) {
	t.Parallel()

	_, r, err := Sniff(iotest.ErrReader(errBoom), nil)
	require.ErrorIs(t, err, errBoom)
	require.Nil(t, r)
	require.False(t, errors.Is(err, ErrEmpty))

	// A short head followed by an error is an error, not a short file.
	_, _, err = Sniff(io.MultiReader(strings.NewReader("\xFF\xD8"), iotest.ErrReader(errBoom)), nil)
	require.ErrorIs(t, err, errBoom)
}

func TestSniffTimeoutReader(t *testing.T) {
	t.Parallel()

	// iotest.TimeoutReader fails its second read; the head is read in one.
	ct, r, err := Sniff(iotest.TimeoutReader(bytes.NewReader(pdfBytes)), nil)
	require.NoError(t, err)
	require.Equal(t, PDF, ct)
	_, err = io.ReadAll(r)
	require.ErrorIs(t, err, iotest.ErrTimeout, "later errors reach the consumer")
}
