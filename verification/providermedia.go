package verification

import (
	"context"
	"errors"
	"time"

	"github.com/openkyc/kyc/documents"
	"github.com/openkyc/kyc/levels"
	"github.com/openkyc/kyc/providers"
)

// The media fetch. An approval by a provider that implements
// providers.MediaFetcher queues the fetch of the session's images in the
// store (ProviderSession.MediaStatus pending), in the decision's
// transaction; the fetch itself calls the provider, so it never runs in a
// transaction nor on the webhook's request: FetchProviderMedia does it,
// driven by RunProviderMedia in a goroutine of the host (or by any job
// runner calling FetchProviderMedia). The queue is durable: a restart, an
// outage or a crash mid-fetch leaves the session pending, and it is fetched
// again later, up to Options.MediaAttempts times with a doubling backoff.

// MediaReport says what FetchProviderMedia did.
type MediaReport struct {
	// Fetched counts sessions whose images are now stored.
	Fetched int
	// Retrying counts sessions whose fetch failed and will be tried again.
	Retrying int
	// Failed counts sessions given up (attempts exhausted, or the provider
	// refused).
	Failed int
}

// wakeMedia wakes RunProviderMedia (never blocks).
func (s *Service) wakeMedia() {
	select {
	case s.mediaWake <- struct{}{}:
	default:
	}
}

// RunProviderMedia runs FetchProviderMedia until ctx ends: at once, after
// every decision that queues a fetch, and every interval (for retries that
// come due); 0 means one minute. It returns ctx's error. Run it in its own
// goroutine; several replicas may run it on one store (a claimed fetch is
// leased to its fetcher).
func (s *Service) RunProviderMedia(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.FetchProviderMedia(ctx, 16); err != nil && ctx.Err() == nil {
			s.log.Error().Err(err).Msg("verification: provider media fetch")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.mediaWake:
		case <-t.C:
		}
	}
}

// FetchProviderMedia fetches the images of up to limit queued provider
// sessions whose fetch is due: each is leased, its images listed and
// streamed from the provider (sniffed like uploads) into the BlobStore
// (sealed when it is a sealing store), and then, in one transaction, stored
// as approved Files of the subject and linked to the session's
// identity-verification session, so the identity-verification route serves
// them as signed URLs. A failure deletes what was stored of that session
// and schedules a retry (a refusal by the provider, ErrRejected, and an
// exhausted attempt count give up: MediaFailed). A later decision that
// superseded the approval meanwhile discards the fetched images.
func (s *Service) FetchProviderMedia(ctx context.Context, limit int) (MediaReport, error) {
	var rep MediaReport
	if limit <= 0 || s.blobs == nil {
		return rep, nil
	}
	due, err := s.store.ListProviderSessions(ctx, ProviderSessionFilter{MediaDueBy: s.Now(), Limit: limit})
	if err != nil {
		return rep, s.fail("FetchProviderMedia", err)
	}
	for _, ps := range due {
		claimed, ok, err := s.claimMedia(ctx, ps)
		if err != nil {
			return rep, err
		}
		if !ok {
			continue
		}
		files, ferr := s.fetchMedia(ctx, claimed)
		linked := false
		if ferr == nil {
			linked, ferr = s.linkMedia(ctx, claimed, files)
		}
		if linked {
			rep.Fetched++
			continue
		}
		s.dropBlobs(ctx, files)
		if ferr == nil {
			continue // superseded meanwhile: nothing to keep, nothing to retry
		}
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		s.log.Warn().Str("provider", ps.Provider).Str("session", providers.Redact(ps.SessionID)).Err(ferr).Msg("verification: provider media fetch failed")
		failed, err := s.retryMedia(ctx, claimed, ferr)
		if err != nil {
			return rep, err
		}
		if failed {
			rep.Failed++
		} else {
			rep.Retrying++
		}
	}
	return rep, nil
}

// claimMedia leases a due fetch: its attempt count goes up and its next
// time moves a lease ahead, so other fetchers skip it meanwhile.
func (s *Service) claimMedia(ctx context.Context, ps ProviderSession) (ProviderSession, bool, error) {
	ok := false
	err := s.inTx(ctx, "FetchProviderMedia", func(ctx context.Context, tx Store) error {
		if _, err := tx.LockSubject(ctx, ps.SubjectID); err != nil {
			return err
		}
		cur, err := tx.GetProviderSession(ctx, ps.Provider, ps.SessionID)
		if err != nil {
			return err
		}
		now := s.Now()
		if cur.MediaStatus != MediaPending || cur.MediaNextAt.After(now) {
			return nil
		}
		if _, known := s.providers[cur.Provider]; !known || s.providers[cur.Provider].media == nil {
			cur.MediaStatus = MediaFailed
			cur.UpdatedAt = now
			return tx.PutProviderSession(ctx, cur)
		}
		cur.MediaAttempts++
		cur.MediaNextAt = now.Add(mediaLease)
		cur.UpdatedAt = now
		ps, ok = cur, true
		return tx.PutProviderSession(ctx, cur)
	})
	return ps, ok, err
}

// fetchedFile is one image stored in the BlobStore, not yet recorded.
type fetchedFile struct {
	kind providers.MediaKind
	file File
}

// fetchMedia lists and streams a session's images into the BlobStore.
// What it returns is stored even on error (the caller deletes it).
func (s *Service) fetchMedia(ctx context.Context, ps ProviderSession) ([]fetchedFile, error) {
	fetcher := s.providers[ps.Provider].media
	list, err := fetcher.ListMedia(ctx, ps.SessionID)
	if err != nil {
		return nil, err
	}
	var out []fetchedFile
	for _, m := range list {
		f, err := s.storeMedia(ctx, fetcher, ps.SubjectID, m)
		if err != nil {
			return out, err
		}
		out = append(out, fetchedFile{kind: m.Kind, file: f})
	}
	return out, nil
}

// storeMedia streams one image into the BlobStore.
func (s *Service) storeMedia(ctx context.Context, fetcher providers.MediaFetcher, subjectID int64, m providers.Media) (File, error) {
	rc, err := fetcher.OpenMedia(ctx, m)
	if err != nil {
		return File{}, err
	}
	defer rc.Close()
	ct, body, err := documents.Sniff(rc, s.allowed)
	if err != nil {
		return File{}, blobErr(err)
	}
	blob, err := s.blobs.Put(ctx, owner(subjectID), body, s.maxFileSize)
	if err != nil {
		return File{}, blobErr(err)
	}
	docType, side := ProviderDocumentType, string(m.Kind)
	if m.Kind == providers.MediaFace {
		docType, side = SelfieType, SelfieSide
	}
	return File{ID: s.newID(), SubjectID: subjectID, BlobKey: blob.Key, ContentType: string(ct), Size: blob.Size, SHA256: blob.SHA256,
		DocumentType: docType, Side: side}, nil
}

// linkMedia records the fetched images and links them to the identity
// session. It reports false, without an error, when a later decision
// superseded the fetch (the caller then deletes the bytes).
func (s *Service) linkMedia(ctx context.Context, ps ProviderSession, files []fetchedFile) (bool, error) {
	err := s.inTx(ctx, "FetchProviderMedia", func(ctx context.Context, tx Store) error {
		if _, err := lockLive(ctx, tx, ps.SubjectID); err != nil {
			return err
		}
		cur, err := tx.GetProviderSession(ctx, ps.Provider, ps.SessionID)
		if err != nil {
			return err
		}
		if cur.MediaStatus != MediaPending || cur.MediaAttempts != ps.MediaAttempts || cur.IDSessionID == "" {
			return errSuperseded
		}
		list, err := tx.ListIDSessions(ctx, ps.SubjectID)
		if err != nil {
			return err
		}
		var sess *IDSession
		for i := range list {
			if list[i].ID == cur.IDSessionID {
				sess = &list[i]
			}
		}
		if sess == nil {
			return errSuperseded
		}
		now := s.Now()
		for _, ff := range files {
			f := ff.file
			f.Status, f.CreatedAt, f.DecidedAt = levels.Approved, now, now
			if err := tx.CreateFile(ctx, f); err != nil {
				return err
			}
			switch ff.kind {
			case providers.MediaFront:
				sess.FrontFileID = f.ID
			case providers.MediaBack:
				sess.BackFileID = f.ID
			case providers.MediaFace:
				sess.FaceFileID = f.ID
			}
		}
		if err := tx.UpdateIDSession(ctx, *sess); err != nil {
			return err
		}
		cur.MediaStatus, cur.MediaNextAt, cur.UpdatedAt = MediaFetched, time.Time{}, now
		return tx.PutProviderSession(ctx, cur)
	})
	if errors.Is(err, errSuperseded) {
		return false, nil
	}
	return err == nil, err
}

// errSuperseded: a later decision changed the session while its media were
// being fetched.
var errSuperseded = newErr(ErrConflict, "the provider session changed during the media fetch")

// dropBlobs deletes the bytes of images that were not recorded.
func (s *Service) dropBlobs(ctx context.Context, files []fetchedFile) {
	ctx = context.WithoutCancel(ctx)
	for _, ff := range files {
		if err := s.blobs.Delete(ctx, ff.file.BlobKey); err != nil {
			s.log.Error().Err(err).Msg("verification: removing the blob of a failed media fetch")
		}
	}
}

// retryMedia schedules the next attempt of a failed fetch, or gives up. It
// reports whether it gave up.
func (s *Service) retryMedia(ctx context.Context, ps ProviderSession, cause error) (bool, error) {
	failed := false
	err := s.inTx(ctx, "FetchProviderMedia", func(ctx context.Context, tx Store) error {
		if _, err := tx.LockSubject(ctx, ps.SubjectID); err != nil {
			return err
		}
		cur, err := tx.GetProviderSession(ctx, ps.Provider, ps.SessionID)
		if err != nil {
			return err
		}
		if cur.MediaStatus != MediaPending || cur.MediaAttempts != ps.MediaAttempts {
			return nil
		}
		now := s.Now()
		giveUp := cur.MediaAttempts >= s.mediaAttempts || errors.Is(cause, providers.ErrRejected) ||
			errors.Is(cause, providers.ErrInvalidParams) || errors.Is(cause, ErrUnsupportedMedia) || errors.Is(cause, ErrTooLarge)
		if giveUp {
			cur.MediaStatus, cur.MediaNextAt = MediaFailed, time.Time{}
			failed = true
		} else {
			cur.MediaNextAt = now.Add(s.mediaBackoff << (cur.MediaAttempts - 1))
		}
		cur.UpdatedAt = now
		return tx.PutProviderSession(ctx, cur)
	})
	return failed, err
}
