package documents

import (
	"bufio"
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"sync"
)

// SealChunkSize is the plaintext size of every chunk of a sealed blob but
// the last: 64 KiB. Each chunk is stored followed by its 16-byte GCM tag.
const SealChunkSize = 64 << 10

// Sealed blob format, version 1:
//
//	header:  magic "OKYCSEAL" (8) | version 1 (1) | data key id (16) |
//	         salt (32) | owner length (1) | owner
//	chunks:  AES-256-GCM(chunk i) = ciphertext | tag (16), SealChunkSize
//	         plaintext bytes each, the last one shorter or equal (empty only
//	         when the whole plaintext is empty)
//
// The blob key and nonce prefix are derived per blob:
// HKDF-SHA256(data key, salt, "openkyc/documents blob v1") -> 32-byte AES key
// | 8-byte nonce prefix. The nonce of chunk i is the prefix followed by i as a
// big-endian uint32. The additional data of chunk i is SHA-256(header) | i as
// a big-endian uint64 | 1 if it is the final chunk else 0. So a changed header
// byte, a changed, reordered, duplicated or dropped chunk, a chunk moved from
// another blob, data appended after the final chunk and a blob truncated at a
// chunk boundary all fail authentication (ErrTampered).
//
// Deriving a key per blob from a 32-byte random salt means the owner's data
// key never encrypts two blobs directly, so GCM nonces cannot repeat across
// blobs however many an owner has, and the 4-byte counter cannot repeat
// within one (at most 2^32 chunks, 256 TiB).
//
// The data key id (HKDF of the data key with its own label) tells which data
// key sealed the blob: if the owner's data key was erased and a new one
// created since, Open reports ErrErased instead of a confusing tamper error.
//
// The header records the data key id and the owner, not the id of the master
// key: the wrapped data key in the KeyStore carries that, so rotating master
// keys (Rewrap) rewrites one small key per owner and never the blobs.
const (
	sealMagic      = "OKYCSEAL"
	sealVersion    = 1
	dataKeyIDLen   = 16
	saltLen        = 32
	tagLen         = 16
	noncePrefixLen = 8
	// headerFixedLen is the length of the header before the owner bytes.
	headerFixedLen = len(sealMagic) + 1 + dataKeyIDLen + saltLen + 1
	// maxChunks is the number of chunks a 4-byte counter can number.
	maxChunks = 1 << 32

	blobKeyInfo   = "openkyc/documents blob v1"
	dataKeyIDInfo = "openkyc/documents data key id v1"
)

// SealedStore is a BlobStore that encrypts blobs at rest before handing
// them to an inner BlobStore, and implements OwnerEraser (crypto-erasure).
//
// Every owner has a random 32-byte data key, created on the owner's first Put
// and stored wrapped (AES-256-GCM) by the Keyring's current master key in a
// KeyStore (envelope encryption). Each blob gets its own key derived from the
// owner's data key and a random salt, and is encrypted with AES-256-GCM in
// chunks of SealChunkSize, streaming both ways: neither Put nor Open holds a
// whole file in memory. The format comment in sealed.go details what is
// authenticated: any change, reordering, truncation or extension of a sealed
// blob is detected.
//
// Reading a sealed blob verifies each chunk before returning its bytes. A
// stream opened with Open can fail with ErrTampered in the middle, after
// earlier chunks were returned: treat any error from Read as the failure of
// the whole file (an HTTP handler has already sent a status, so it must abort
// the response rather than end it normally).
//
// EraseOwner deletes the owner's data key: from then on, Open of any blob of
// that owner, including a copy restored from a backup, fails with ErrErased.
// A later Put for the same owner creates a new data key, which cannot read the
// old blobs. A Put running concurrently with EraseOwner for the same owner may
// store a blob that is already unreadable.
//
// The owner is stored in clear in the blob header (it tells Open which data
// key to use); use opaque subject keys, not names or e-mail addresses.
type SealedStore struct {
	inner    BlobStore
	keys     *Keyring
	dataKeys KeyStore
	// mu serialises data key creation, rewrapping and erasure in this
	// process, so a rewrap can never resurrect a key being erased and two
	// first Puts for one owner never create two keys.
	mu sync.Mutex
}

var (
	_ BlobStore   = (*SealedStore)(nil)
	_ OwnerEraser = (*SealedStore)(nil)
)

// NewSealedStore returns a SealedStore writing sealed blobs to inner, with
// master keys from keys and wrapped data keys in dataKeys.
func NewSealedStore(inner BlobStore, keys *Keyring, dataKeys KeyStore) (*SealedStore, error) {
	switch {
	case inner == nil:
		return nil, errors.New("documents: sealed store: inner BlobStore is required")
	case keys == nil:
		return nil, errors.New("documents: sealed store: Keyring is required")
	case dataKeys == nil:
		return nil, errors.New("documents: sealed store: KeyStore is required")
	}
	return &SealedStore{inner: inner, keys: keys, dataKeys: dataKeys}, nil
}

// Put implements BlobStore. The limit applies to the plaintext; Size and
// SHA256 of the result describe the plaintext, Key is the inner store's key.
func (s *SealedStore) Put(ctx context.Context, owner string, r io.Reader, limit int64) (Blob, error) {
	if err := ValidateOwner(owner); err != nil {
		return Blob{}, err
	}
	if err := ctx.Err(); err != nil {
		return Blob{}, fmt.Errorf("documents: put: %w", err)
	}
	limit = effectiveLimit(limit)
	dataKey, err := s.ownerKeyForPut(ctx, owner)
	if err != nil {
		return Blob{}, err
	}
	var salt [saltLen]byte
	_, _ = rand.Read(salt[:])
	header := make([]byte, 0, headerFixedLen+len(owner))
	header = append(header, sealMagic...)
	header = append(header, sealVersion)
	header = append(header, dataKeyID(dataKey)...)
	header = append(header, salt[:]...)
	header = append(header, byte(len(owner)))
	header = append(header, owner...)
	aead, prefix, err := deriveBlobKey(dataKey, salt[:])
	clear(dataKey)
	if err != nil {
		return Blob{}, err
	}

	sr := &sealReader{
		src:    bufio.NewReader(limitReader(r, limit)),
		limit:  limit,
		aead:   aead,
		params: newChunkParams(prefix, sha256.Sum256(header)),
		plain:  make([]byte, SealChunkSize),
		out:    header,
		sum:    sha256.New(),
	}
	blob, err := s.inner.Put(ctx, owner, sr, sealedSizeLimit(len(header), limit))
	if err != nil {
		return Blob{}, err
	}
	if !sr.done {
		// The inner store reported success without reading to the end: it is
		// broken, and the stored blob would not authenticate.
		_ = s.inner.Delete(ctx, blob.Key)
		return Blob{}, errors.New("documents: put: inner store stopped reading before the end of the stream")
	}
	return Blob{Key: blob.Key, Owner: owner, Size: sr.size, SHA256: hex.EncodeToString(sr.sum.Sum(nil))}, nil
}

// Open implements BlobStore. Besides the errors of the inner store, it
// returns errors matching ErrErased when the owner's data key was erased,
// ErrUnknownMasterKey when the data key is wrapped by a master key missing
// from the Keyring, and ErrTampered when the header, the wrapped data key or
// the first chunk fails authentication. Later chunks are verified as they are
// read. The first chunk is decrypted before Open returns, so a blob that fails
// at once fails here rather than after the caller has committed to a response.
func (s *SealedStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.inner.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	or, err := s.open(ctx, rc)
	if err != nil {
		_ = rc.Close()
		return nil, err
	}
	return or, nil
}

// open reads and checks the header of the sealed stream rc and returns a
// reader of its plaintext with the first chunk decrypted.
func (s *SealedStore) open(ctx context.Context, rc io.ReadCloser) (*openReader, error) {
	src := bufio.NewReader(rc)
	header := make([]byte, headerFixedLen, headerFixedLen+MaxOwnerLen)
	if _, err := io.ReadFull(src, header); err != nil {
		return nil, readErr(err, "truncated header")
	}
	if string(header[:len(sealMagic)]) != sealMagic {
		return nil, fmt.Errorf("%w: not a sealed blob (bad magic)", ErrTampered)
	}
	if v := header[len(sealMagic)]; v != sealVersion {
		return nil, fmt.Errorf("%w: unsupported sealed blob version %d (tampered, or written by a newer library)", ErrTampered, v)
	}
	keyID := header[len(sealMagic)+1 : len(sealMagic)+1+dataKeyIDLen]
	salt := header[len(sealMagic)+1+dataKeyIDLen : len(sealMagic)+1+dataKeyIDLen+saltLen]
	ownerLen := int(header[headerFixedLen-1])
	if ownerLen == 0 || ownerLen > MaxOwnerLen {
		return nil, fmt.Errorf("%w: invalid owner length in header", ErrTampered)
	}
	header = header[:headerFixedLen+ownerLen]
	if _, err := io.ReadFull(src, header[headerFixedLen:]); err != nil {
		return nil, readErr(err, "truncated header")
	}
	owner := string(header[headerFixedLen:])
	if ValidateOwner(owner) != nil {
		return nil, fmt.Errorf("%w: invalid owner in header", ErrTampered)
	}

	w, err := s.dataKeys.GetDataKey(ctx, owner)
	if errors.Is(err, ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: owner %q has no data key", ErrErased, owner)
	}
	if err != nil {
		return nil, err
	}
	dataKey, err := s.keys.unwrap(owner, w)
	if err != nil {
		return nil, err
	}
	defer clear(dataKey)
	if subtle.ConstantTimeCompare(dataKeyID(dataKey), keyID) != 1 {
		return nil, fmt.Errorf("%w: the data key that sealed this blob of owner %q was replaced", ErrErased, owner)
	}
	aead, prefix, err := deriveBlobKey(dataKey, salt)
	if err != nil {
		return nil, err
	}
	or := &openReader{
		rc:     rc,
		src:    src,
		aead:   aead,
		params: newChunkParams(prefix, sha256.Sum256(header)),
		buf:    make([]byte, SealChunkSize+tagLen),
	}
	if err := or.next(); err != nil {
		return nil, err
	}
	return or, nil
}

// Delete implements BlobStore by deleting the sealed blob from the inner
// store.
func (s *SealedStore) Delete(ctx context.Context, key string) error {
	return s.inner.Delete(ctx, key)
}

// EraseOwner implements OwnerEraser by deleting owner's data key from the
// KeyStore. Every blob sealed for owner becomes permanently unreadable
// (ErrErased), wherever copies of it survive. When the inner store is an
// OwnerEraser too (the SQL and S3 stores, which know each blob's owner), its
// EraseOwner then deletes the sealed bytes as well; over a FileStore, delete
// the blobs by key to reclaim space. Erasing an owner without a key is not an
// error.
func (s *SealedStore) EraseOwner(ctx context.Context, owner string) error {
	if err := ValidateOwner(owner); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("documents: erase owner: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.dataKeys.DeleteDataKey(ctx, owner); err != nil {
		return fmt.Errorf("documents: erase owner: %w", err)
	}
	if e, ok := s.inner.(OwnerEraser); ok {
		if err := e.EraseOwner(ctx, owner); err != nil {
			return fmt.Errorf("documents: erase owner: %w", err)
		}
	}
	return nil
}

// Inner returns the BlobStore holding the sealed bytes.
func (s *SealedStore) Inner() BlobStore { return s.inner }

// Rewrap re-encrypts owner's data key with the Keyring's current master key
// if an older one wraps it, and reports whether it did. Blobs are untouched:
// rotation costs one small key write per owner. Run it for every owner after
// adding a new current master key, then remove the old master key from the
// Keyring. An owner without a data key is not an error (false, nil).
//
// Within one SealedStore, Rewrap is serialised with EraseOwner. Do not run
// Rewrap in one process while another erases the same owner: the rewrap could
// write back the key being erased.
func (s *SealedStore) Rewrap(ctx context.Context, owner string) (bool, error) {
	if err := ValidateOwner(owner); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.dataKeys.GetDataKey(ctx, owner)
	if errors.Is(err, ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("documents: rewrap: %w", err)
	}
	if w.MasterKeyID == s.keys.CurrentID() {
		return false, nil
	}
	dataKey, err := s.keys.unwrap(owner, w)
	if err != nil {
		return false, fmt.Errorf("documents: rewrap: %w", err)
	}
	defer clear(dataKey)
	if err := s.dataKeys.PutDataKey(ctx, owner, s.keys.wrap(owner, dataKey)); err != nil {
		return false, fmt.Errorf("documents: rewrap: %w", err)
	}
	return true, nil
}

// ownerKeyForPut returns owner's data key, creating and storing it if owner
// has none. The caller must clear the returned slice.
func (s *SealedStore) ownerKeyForPut(ctx context.Context, owner string) ([]byte, error) {
	w, err := s.dataKeys.GetDataKey(ctx, owner)
	if err == nil {
		return s.keys.unwrap(owner, w)
	}
	if !errors.Is(err, ErrKeyNotFound) {
		return nil, fmt.Errorf("documents: put: %w", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	// Another goroutine may have created the key while we waited.
	w, err = s.dataKeys.GetDataKey(ctx, owner)
	if err == nil {
		return s.keys.unwrap(owner, w)
	}
	if !errors.Is(err, ErrKeyNotFound) {
		return nil, fmt.Errorf("documents: put: %w", err)
	}
	dataKey := make([]byte, MasterKeySize)
	_, _ = rand.Read(dataKey)
	w = s.keys.wrap(owner, dataKey)
	if kc, ok := s.dataKeys.(KeyCreator); ok {
		err = kc.CreateDataKey(ctx, owner, w)
		if errors.Is(err, ErrKeyExists) {
			// Another process won the race: use its key.
			clear(dataKey)
			if w, err = s.dataKeys.GetDataKey(ctx, owner); err != nil {
				return nil, fmt.Errorf("documents: put: %w", err)
			}
			return s.keys.unwrap(owner, w)
		}
	} else {
		err = s.dataKeys.PutDataKey(ctx, owner, w)
	}
	if err != nil {
		clear(dataKey)
		return nil, fmt.Errorf("documents: put: storing data key: %w", err)
	}
	return dataKey, nil
}

// dataKeyID returns the public identifier of a data key, written in the
// header of the blobs it seals.
func dataKeyID(dataKey []byte) []byte {
	id, err := hkdf.Key(sha256.New, dataKey, nil, dataKeyIDInfo, dataKeyIDLen)
	if err != nil {
		// hkdf.Key fails only for output lengths above 255*32 bytes.
		panic("documents: hkdf: " + err.Error())
	}
	return id
}

// deriveBlobKey derives the AEAD and nonce prefix of one blob from the
// owner's data key and the blob's salt.
func deriveBlobKey(dataKey, salt []byte) (cipher.AEAD, [noncePrefixLen]byte, error) {
	var prefix [noncePrefixLen]byte
	okm, err := hkdf.Key(sha256.New, dataKey, salt, blobKeyInfo, MasterKeySize+noncePrefixLen)
	if err != nil {
		return nil, prefix, fmt.Errorf("documents: deriving blob key: %w", err)
	}
	defer clear(okm)
	copy(prefix[:], okm[MasterKeySize:])
	aead, err := newGCM(okm[:MasterKeySize])
	if err != nil {
		return nil, prefix, fmt.Errorf("documents: deriving blob key: %w", err)
	}
	return aead, prefix, nil
}

// chunkParams holds the per-chunk nonce and additional data of one blob,
// rewritten in place for every chunk so sealing allocates nothing per chunk.
type chunkParams struct {
	nonce [noncePrefixLen + 4]byte
	aad   [sha256.Size + 8 + 1]byte
}

// newChunkParams returns the chunk parameters of a blob with the given nonce
// prefix and header digest.
func newChunkParams(prefix [noncePrefixLen]byte, digest [sha256.Size]byte) chunkParams {
	var p chunkParams
	copy(p.nonce[:], prefix[:])
	copy(p.aad[:], digest[:])
	return p
}

// set points the parameters at chunk i: the nonce is the prefix then i as a
// big-endian uint32, the additional data the header digest, i as a
// big-endian uint64 and the final flag. It returns the nonce and the
// additional data.
func (p *chunkParams) set(i uint64, final bool) (nonce, aad []byte) {
	binary.BigEndian.PutUint32(p.nonce[noncePrefixLen:], uint32(i))
	binary.BigEndian.PutUint64(p.aad[sha256.Size:], i)
	p.aad[len(p.aad)-1] = 0
	if final {
		p.aad[len(p.aad)-1] = 1
	}
	return p.nonce[:], p.aad[:]
}

// sealedSizeLimit returns the largest sealed size of a plaintext of at most
// limit bytes, the limit passed to the inner store.
func sealedSizeLimit(headerLen int, limit int64) int64 {
	overhead := int64(headerLen) + tagLen*(limit/SealChunkSize+1)
	if limit > math.MaxInt64-overhead {
		return math.MaxInt64
	}
	return limit + overhead
}

// limitReader returns r limited to limit+1 bytes: enough to detect that it
// is longer than limit, never more.
func limitReader(r io.Reader, limit int64) io.Reader {
	if limit == math.MaxInt64 {
		return r
	}
	return io.LimitReader(r, limit+1)
}

// readErr turns a short read of a sealed blob into ErrTampered and wraps
// other read errors.
func readErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %s", ErrTampered, what)
	}
	return fmt.Errorf("documents: reading sealed blob: %w", err)
}

// sealReader is the sealed form of an upload: the header, then the
// encrypted chunks, produced one chunk at a time as the inner store reads.
type sealReader struct {
	src    *bufio.Reader
	limit  int64
	aead   cipher.AEAD
	params chunkParams
	plain  []byte // one chunk of plaintext, SealChunkSize long
	out    []byte // pending sealed bytes
	pos    int    // read position in out
	chunk  uint64 // index of the next chunk
	size   int64  // plaintext bytes read so far
	sum    hash.Hash
	done   bool // the final chunk is in out
	err    error
}

// Read implements io.Reader.
func (s *sealReader) Read(p []byte) (int, error) {
	for s.pos == len(s.out) {
		if s.err != nil {
			return 0, s.err
		}
		if s.done {
			return 0, io.EOF
		}
		if err := s.next(); err != nil {
			s.err = err
			return 0, err
		}
	}
	n := copy(p, s.out[s.pos:])
	s.pos += n
	return n, nil
}

// next reads and seals the next chunk of plaintext into out.
func (s *sealReader) next() error {
	n, err := io.ReadFull(s.src, s.plain)
	final := false
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		final = true
	case err != nil:
		return err
	default:
		_, perr := s.src.Peek(1)
		if errors.Is(perr, io.EOF) {
			final = true
		} else if perr != nil {
			return perr
		}
	}
	s.size += int64(n)
	if s.size > s.limit {
		return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, s.limit)
	}
	if s.chunk >= maxChunks {
		return errors.New("documents: put: stream too long for the sealed format")
	}
	s.sum.Write(s.plain[:n])
	if cap(s.out) < SealChunkSize+tagLen {
		s.out = make([]byte, 0, SealChunkSize+tagLen)
	}
	nonce, aad := s.params.set(s.chunk, final)
	s.out = s.aead.Seal(s.out[:0], nonce, s.plain[:n], aad)
	s.pos = 0
	s.chunk++
	s.done = final
	return nil
}

// openReader is the plaintext of a sealed blob, verified one chunk at a time.
type openReader struct {
	rc     io.ReadCloser
	src    *bufio.Reader
	aead   cipher.AEAD
	params chunkParams
	buf    []byte // one sealed chunk; decrypted in place
	plain  []byte // decrypted bytes of the current chunk, in buf
	pos    int    // read position in plain
	chunk  uint64 // index of the next chunk
	final  bool   // the current chunk is the final one
	err    error
}

// Read implements io.Reader. Any error other than io.EOF means the blob
// must be discarded, including the bytes already read.
func (o *openReader) Read(p []byte) (int, error) {
	for o.pos == len(o.plain) {
		if o.err != nil {
			return 0, o.err
		}
		if o.final {
			return 0, io.EOF
		}
		if err := o.next(); err != nil {
			o.err = err
			return 0, err
		}
	}
	n := copy(p, o.plain[o.pos:])
	o.pos += n
	return n, nil
}

// Close closes the inner stream.
func (o *openReader) Close() error {
	o.err = errors.New("documents: read of a closed sealed blob")
	o.plain, o.pos = nil, 0
	return o.rc.Close()
}

// next reads, authenticates and decrypts the next chunk.
func (o *openReader) next() error {
	n, err := io.ReadFull(o.src, o.buf)
	final := false
	switch {
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: blob truncated before its final chunk", ErrTampered)
	case errors.Is(err, io.ErrUnexpectedEOF):
		final = true
	case err != nil:
		return fmt.Errorf("documents: reading sealed blob: %w", err)
	default:
		_, perr := o.src.Peek(1)
		if errors.Is(perr, io.EOF) {
			final = true
		} else if perr != nil {
			return fmt.Errorf("documents: reading sealed blob: %w", perr)
		}
	}
	if n < tagLen || o.chunk >= maxChunks {
		return fmt.Errorf("%w: chunk %d is malformed", ErrTampered, o.chunk)
	}
	nonce, aad := o.params.set(o.chunk, final)
	plain, err := o.aead.Open(o.buf[:0], nonce, o.buf[:n], aad)
	if err != nil {
		return fmt.Errorf("%w: chunk %d", ErrTampered, o.chunk)
	}
	o.plain, o.pos = plain, 0
	o.chunk++
	o.final = final
	return nil
}
