package httpadapter

import (
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/verification"
)

// pendingItem is the pending request's item. id, expires_at and
// created_at are present only while a request is pending; id is the
// application's uuid (the wizard's uuid) and account_id the subject's
// external identifier. appendPending writes {"item": item} as
// encoding/json would.
type pendingItem struct {
	ID        string `json:"id,omitempty"`
	AccountID string `json:"account_id"`
	Status    string `json:"status"`
	ExpiresAt string `json:"expires_at,omitempty"`
	CreatedAt string `json:"created_at,omitempty"`
	Verified  bool   `json:"verified"`
}

func formatExternal(t time.Time) string { return t.UTC().Format(timeExternal) }

// servePendingRequest: the pending verification request. The route takes no parameters.
func (a *Adapter) servePendingRequest(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	pr, err := a.svc.PendingRequest(c.ctx, c.subjectID)
	if err != nil {
		return err
	}
	item := pendingItem{AccountID: pr.Subject.Identifier, Status: string(pr.Status), Verified: pr.Verified}
	if pr.Status == verification.PendingStatusPending {
		item.ID = pr.Application.UUID
		item.ExpiresAt = formatExternal(pr.Application.ExpiresAt)
		item.CreatedAt = formatExternal(pr.Application.CreatedAt)
	}
	c.writePooled(200, func(b []byte) []byte { return appendPending(b, item) })
	return nil
}

// idVerificationJSON is identity verification's body; every field is null when no
// approved session is on file.
type idVerificationJSON struct {
	ID        *string                 `json:"id"`
	Type      *string                 `json:"type"`
	Date      *string                 `json:"date"`
	Status    *string                 `json:"status"`
	Documents idVerificationDocuments `json:"documents"`
}

type idVerificationDocuments struct {
	DocumentFront *string `json:"documentFront"`
	DocumentBack  *string `json:"documentBack"`
	Face          *string `json:"face"`
}

// serveIDVerification: identity verification, the latest approved identity check with
// signed URLs (valid Signer.TTL, one hour by default) for its images.
func (a *Adapter) serveIDVerification(c *call) error {
	if _, err := parseQuery(c.r.URL.RawQuery); err != nil {
		return err
	}
	v, err := a.svc.IDVerification(c.ctx, c.subjectID)
	var out idVerificationJSON
	switch {
	case errors.Is(err, verification.ErrDeleted):
		return err
	case errors.Is(err, verification.ErrNotFound):
		c.json(200, out)
		return nil
	case err != nil:
		return err
	}
	sess := v.Session
	date := sess.CreatedAt.UTC().Format(timeNaturalPerson)
	out.ID, out.Type, out.Date, out.Status = &sess.ID, &sess.Provider, &date, &sess.Status
	for _, f := range []struct {
		id   string
		live bool
		dst  **string
	}{{sess.FrontFileID, v.Front, &out.Documents.DocumentFront}, {sess.BackFileID, v.Back, &out.Documents.DocumentBack}, {sess.FaceFileID, v.Face, &out.Documents.Face}} {
		// A purged or erased image (or another subject's file) has no URL.
		if f.id == "" || !f.live {
			continue
		}
		u := a.fileURL(c.mountPath(), f.id)
		*f.dst = &u
	}
	c.json(200, out)
	return nil
}

// fileURL signs the RouteFile URL of a file under prefix (the mount path
// as the client sees it).
func (a *Adapter) fileURL(prefix, fileID string) string {
	_, path := route{pattern: RouteFile}.split()
	path = prefix + path[:len(path)-len("{fileId}")] + fileID
	signed := a.signer.SignURL("GET", path)
	if strings.HasPrefix(signed, "https://") || strings.HasPrefix(signed, "http://") {
		return signed // another origin's URL (an S3 presigned URL)
	}
	return a.base + signed
}

// validFileID reports whether id can be a file id (checked before any
// store call): 1-128 ASCII letters, digits, '-', '_' or '.'.
func validFileID(id string) bool {
	if id == "" || len(id) > 128 || id == "." || id == ".." {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// verifySigned checks the signed URL of a RouteFile request. HEAD requests
// verify as GET (ServeMux routes HEAD to GET patterns).
func (a *Adapter) verifySigned(c *call) error {
	q, err := url.ParseQuery(c.r.URL.RawQuery)
	if err != nil {
		return newProblem(pBadSignature)
	}
	method := c.r.Method
	if method == "HEAD" {
		method = "GET"
	}
	err = a.signer.Verify(method, c.clientPath(), q)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, documents.ErrURLExpired):
		return newProblem(pExpiredSignature)
	}
	return newProblem(pBadSignature)
}
