package main

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/openkyc/kyc/verification"
)

// ---- Step 10: the host's own compliance routes ----

// requireAdmin guards the host's admin routes: the admin's session only.
func (a *app) requireAdmin(next http.Handler) http.Handler {
	return a.requireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := r.Context().Value(userKey{}).(hostUser); u.Role != roleAdmin {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "forbidden"})
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// decodeAdmin reads a small JSON object, refusing unknown fields.
func decodeAdmin(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return false
	}
	return true
}

// adminError answers a service error in the host's own shape.
func (a *app) adminError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, verification.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found"})
	case errors.Is(err, verification.ErrInvalid):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
	case errors.Is(err, verification.ErrLegalHold), errors.Is(err, verification.ErrConflict):
		writeJSON(w, http.StatusConflict, map[string]string{"error": "conflict"})
	default:
		a.log.Error().Err(err).Msg("admin route")
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal_error"})
	}
}

// recordIDVerification records the approved identity check an identity
// provider reported for a client (in a real host: the provider's webhook
// handler), so that the identity verification API's route serves its images as signed URLs.
func (a *app) recordIDVerification(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID    int64  `json:"clientId"`
		Provider    string `json:"provider"`
		FrontFileID string `json:"frontFileId"`
		BackFileID  string `json:"backFileId"`
		FaceFileID  string `json:"faceFileId"`
	}
	if !decodeAdmin(w, r, &in) {
		return
	}
	sess, err := a.svc.RecordIDSession(r.Context(), verification.HostActor(), verification.RecordIDSessionParams{
		SubjectID: in.ClientID, Provider: in.Provider,
		FrontFileID: in.FrontFileID, BackFileID: in.BackFileID, FaceFileID: in.FaceFileID,
	})
	if err != nil {
		a.adminError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": sess.ID, "status": sess.Status})
}

// erase deletes a client's personal data (Service.Erase): the images, in the
// same database transaction as their records, and the data key that sealed
// them.
func (a *app) erase(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID int64 `json:"clientId"`
	}
	if !decodeAdmin(w, r, &in) {
		return
	}
	if err := a.svc.Erase(r.Context(), verification.HostActor(), in.ClientID); err != nil {
		a.adminError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"clientId": in.ClientID, "erased": true})
}
