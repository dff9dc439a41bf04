package documents

import "errors"

// Sentinel errors. Functions of this package wrap them with details (a limit,
// a detected content type, a parameter name) and callers test them with
// errors.Is. An HTTP adapter maps them to statuses; the messages are written
// for logs and never include secrets, signatures or document bytes.
var (
	// ErrTooLarge is returned by Put when the stream is longer than the limit.
	// Nothing is stored.
	ErrTooLarge = errors.New("documents: file too large")

	// ErrEmpty is returned by Sniff when the stream holds no bytes at all.
	ErrEmpty = errors.New("documents: file is empty")

	// ErrUnsupportedContent is returned by Sniff when the leading bytes do not
	// identify one of the allowed content types. The wrapped message names the
	// detected type and the allowed ones.
	ErrUnsupportedContent = errors.New("documents: unsupported file content")

	// ErrInvalidKey is returned when a blob key is not one a store generated:
	// empty, too long, or holding path separators, dots, NUL or other
	// characters outside the store's alphabet. No file system call is made.
	ErrInvalidKey = errors.New("documents: invalid blob key")

	// ErrInvalidOwner is returned when an owner (subject key) is empty, longer
	// than MaxOwnerLen bytes, or holds characters other than ASCII letters,
	// digits, '-', '_' and '.', or is "." or "..".
	ErrInvalidOwner = errors.New("documents: invalid owner")

	// ErrBlobNotFound is returned by Open when no blob has the key.
	ErrBlobNotFound = errors.New("documents: blob not found")

	// ErrErased is returned by a SealedStore when the data key that sealed a
	// blob no longer exists: the owner was erased (EraseOwner). The blob can
	// never be decrypted again, whatever copies of its bytes survive.
	ErrErased = errors.New("documents: blob owner's data key was erased")

	// ErrTampered is returned by a SealedStore when a sealed blob or a wrapped
	// data key fails authentication: bytes changed, chunks reordered, swapped
	// or dropped, or the blob truncated. It can be returned by Open or by any
	// Read of the opened stream; data read before the error must be discarded.
	ErrTampered = errors.New("documents: sealed data failed authentication (tampered or truncated)")

	// ErrKeyNotFound is returned by KeyStore.GetDataKey when the owner has no
	// data key.
	ErrKeyNotFound = errors.New("documents: data key not found")

	// ErrKeyExists is returned by KeyCreator.CreateDataKey when the owner
	// already has a data key.
	ErrKeyExists = errors.New("documents: data key already exists")

	// ErrUnknownMasterKey is returned when a wrapped data key names a master
	// key id the Keyring does not hold: a retired master key was removed from
	// configuration before every data key was rewrapped (see SealedStore.Rewrap).
	ErrUnknownMasterKey = errors.New("documents: unknown master key id")

	// ErrURLExpired is returned by Signer.Verify for a genuine signed URL whose
	// expiry has passed. The remedy is to fetch a fresh URL.
	ErrURLExpired = errors.New("documents: signed URL expired")

	// ErrURLInvalid is returned by Signer.Verify when a signed URL is missing a
	// parameter, repeats one, carries an unexpected one, is malformed, or its
	// signature does not match the method, path, expiry and key id.
	ErrURLInvalid = errors.New("documents: signed URL invalid")

	// ErrURLUnknownKey is returned by Signer.Verify when the URL names a key id
	// that is not configured (it was removed, or never existed).
	ErrURLUnknownKey = errors.New("documents: signed URL signing key unknown")
)
