package documents

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ContentType is a media type identified from a file's leading bytes (its
// magic number), never from the client's file name or Content-Type header.
type ContentType string

// Content types accepted for identity documents.
const (
	// JPEG files start with FF D8 FF.
	JPEG ContentType = "image/jpeg"
	// PNG files start with the 8-byte signature 89 "PNG" 0D 0A 1A 0A.
	PNG ContentType = "image/png"
	// PDF files start with "%PDF-".
	PDF ContentType = "application/pdf"
)

// DefaultAllowed lists the content types Sniff accepts when given no list:
// JPEG, PNG and PDF. Treat it as read-only.
var DefaultAllowed = []ContentType{JPEG, PNG, PDF}

// sniffLen is the number of leading bytes Sniff reads: enough for every
// signature below.
const sniffLen = 16

// signature identifies a content type by bytes at an offset.
type signature struct {
	offset int
	magic  []byte
	ct     ContentType
}

// signatures are tried in order. Only JPEG, PNG and PDF can be allowed; the
// others are recognised so a refusal can say what the file really is.
var signatures = []signature{
	{0, []byte{0xFF, 0xD8, 0xFF}, JPEG},
	{0, []byte("\x89PNG\r\n\x1a\n"), PNG},
	{0, []byte("%PDF-"), PDF},
	{0, []byte("GIF87a"), "image/gif"},
	{0, []byte("GIF89a"), "image/gif"},
	{8, []byte("WEBP"), "image/webp"},
	{0, []byte("II*\x00"), "image/tiff"},
	{0, []byte("MM\x00*"), "image/tiff"},
	{0, []byte("BM"), "image/bmp"},
	{4, []byte("ftypheic"), "image/heic"},
	{4, []byte("ftypavif"), "image/avif"},
	{0, []byte("PK\x03\x04"), "application/zip"},
	{0, []byte{0x1F, 0x8B}, "application/gzip"},
	{0, []byte("\x7fELF"), "application/x-executable"},
	{0, []byte("MZ"), "application/x-msdownload"},
}

// detect names the content type the leading bytes head identify, or "" if
// none matches.
func detect(head []byte) ContentType {
	for _, s := range signatures {
		if len(head) >= s.offset+len(s.magic) && bytes.Equal(head[s.offset:s.offset+len(s.magic)], s.magic) {
			return s.ct
		}
	}
	return ""
}

// Sniff identifies the content type of the stream r from its leading bytes
// and checks it against allowed (DefaultAllowed when allowed is empty).
//
// It reads only the first 16 bytes of r, and returns a reader that yields the
// complete original stream (those bytes, then the rest of r), to be passed to
// BlobStore.Put. It returns an error matching ErrEmpty if r holds no bytes,
// and one matching ErrUnsupportedContent, naming the detected type and the
// allowed ones, if the type is not allowed; the refused type is returned too
// ("" when unrecognised), with a nil reader. A read error of r is returned
// wrapped.
//
// Sniff checks the container format only. It does not prove that the rest of
// the file is well formed; image decoding or re-encoding, if wanted, belongs
// to the consumer of the stored blob.
func Sniff(r io.Reader, allowed []ContentType) (ContentType, io.Reader, error) {
	if len(allowed) == 0 {
		allowed = DefaultAllowed
	}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(r, head)
	head = head[:n]
	switch {
	case errors.Is(err, io.EOF) && n == 0:
		return "", nil, ErrEmpty
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return "", nil, fmt.Errorf("documents: sniff: reading upload: %w", err)
	}
	ct := detect(head)
	for _, a := range allowed {
		if ct != "" && a == ct {
			return ct, io.MultiReader(bytes.NewReader(head), r), nil
		}
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	detected := "unrecognised content"
	if ct != "" {
		detected = string(ct)
	}
	return ct, nil, fmt.Errorf("%w: detected %s, allowed %s", ErrUnsupportedContent, detected, strings.Join(names, ", "))
}
