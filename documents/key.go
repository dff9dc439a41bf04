package documents

// NewBlobKey returns a fresh blob key of the form every store of this module
// uses: 32 lowercase hex characters (16 bytes from crypto/rand). A BlobStore
// of the host's own may use it too; keys are never derived from client
// input.
func NewBlobKey() string { return newKey() }

// ValidateBlobKey reports whether key has the form NewBlobKey generates. It
// returns an error matching ErrInvalidKey for anything else (empty, "..",
// "a/b", NUL, upper case, any other length), so a key taken from a request is
// refused before it reaches a file system, a query or an object store.
func ValidateBlobKey(key string) error { return validateKey(key) }
