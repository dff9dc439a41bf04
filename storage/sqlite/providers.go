package sqlite

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/verification"
)

var _ verification.ProviderStore = (*Store)(nil)

const providerEventCols = `id, provider, event_key, session_id, subject_id, outcome, final, occurred_at, result, received_at`

func scanProviderEvent(row scanner) (verification.ProviderEvent, error) {
	var (
		e                  verification.ProviderEvent
		final              int64
		occurred, received int64
		outcome, result    string
	)
	err := row.Scan(&e.ID, &e.Provider, &e.EventKey, &e.SessionID, &e.SubjectID, &outcome, &final, &occurred, &result, &received)
	e.Outcome, e.Result, e.Final = providers.Outcome(outcome), verification.ProviderResult(result), final != 0
	e.OccurredAt, e.ReceivedAt = fromMicros(occurred), fromMicros(received)
	return e, err
}

// AddProviderEvent implements verification.ProviderStore. The id is the
// table's rowid.
func (s *Store) AddProviderEvent(ctx context.Context, e *verification.ProviderEvent) error {
	return s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		var id int64
		err := cn.queryRowSQL(cn.sql(`INSERT INTO {{prefix}}provider_events
			(provider, event_key, session_id, subject_id, outcome, final, occurred_at, result, received_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			e.Provider, e.EventKey, e.SessionID, e.SubjectID, string(e.Outcome), boolInt(e.Final),
			micros(e.OccurredAt), string(e.Result), micros(e.ReceivedAt)).Scan(&id)
		if err != nil {
			return s.c.mapErr(ctx, "add provider event", err)
		}
		e.ID = id
		return nil
	})
}

// GetProviderEvent implements verification.ProviderStore.
func (s *Store) GetProviderEvent(ctx context.Context, provider, eventKey string) (verification.ProviderEvent, error) {
	if err := s.check(ctx); err != nil {
		return verification.ProviderEvent{}, err
	}
	cn := s.conn(ctx)
	e, err := scanProviderEvent(cn.queryRowSQL(cn.sql(`SELECT `+providerEventCols+` FROM {{prefix}}provider_events
		WHERE provider = ? AND event_key = ?`), provider, eventKey))
	if err != nil {
		return e, s.c.mapErr(ctx, "get provider event", err)
	}
	return e, nil
}

// ListProviderEvents implements verification.ProviderStore.
func (s *Store) ListProviderEvents(ctx context.Context, f verification.ProviderEventFilter) ([]verification.ProviderEvent, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var (
		conds []string
		args  []any
	)
	if f.Provider != "" {
		conds, args = append(conds, "provider = ?"), append(args, f.Provider)
	}
	if f.SessionID != "" {
		conds, args = append(conds, "session_id = ?"), append(args, f.SessionID)
	}
	if f.SubjectID != 0 {
		conds, args = append(conds, "subject_id = ?"), append(args, f.SubjectID)
	}
	q := `SELECT ` + providerEventCols + ` FROM {{prefix}}provider_events`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	q += ` ORDER BY id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	cn := s.conn(ctx)
	rows, err := cn.querySQL(cn.sql(q), args...)
	return collect(ctx, s.c, "list provider events", rows, err, scanProviderEvent)
}

const providerSessionCols = `provider, session_id, subject_id, id_session_id, url, event_key, outcome, final, occurred_at,
	reason_codes, reason, document_type, document_country, document_number, document_valid_until,
	media_status, media_attempts, media_next_at, created_at, updated_at`

func scanProviderSession(row scanner) (verification.ProviderSession, error) {
	var (
		ps                                  verification.ProviderSession
		outcome, codes, media               string
		final                               int64
		occurred, valid, next, created, upd int64
	)
	err := row.Scan(&ps.Provider, &ps.SessionID, &ps.SubjectID, &ps.IDSessionID, &ps.URL, &ps.EventKey, &outcome, &final, &occurred,
		&codes, &ps.Reason, &ps.Document.Type, &ps.Document.Country, &ps.Document.Number, &valid,
		&media, &ps.MediaAttempts, &next, &created, &upd)
	if err != nil {
		return ps, err
	}
	ps.Outcome, ps.Final, ps.MediaStatus = providers.Outcome(outcome), final != 0, verification.MediaStatus(media)
	ps.OccurredAt, ps.Document.ValidUntil, ps.MediaNextAt = fromMicros(occurred), fromMicros(valid), fromMicros(next)
	ps.CreatedAt, ps.UpdatedAt = fromMicros(created), fromMicros(upd)
	if err := json.Unmarshal([]byte(codes), &ps.ReasonCodes); err != nil {
		return ps, err
	}
	if len(ps.ReasonCodes) == 0 {
		ps.ReasonCodes = nil
	}
	return ps, nil
}

// GetProviderSession implements verification.ProviderStore.
func (s *Store) GetProviderSession(ctx context.Context, provider, sessionID string) (verification.ProviderSession, error) {
	if err := s.check(ctx); err != nil {
		return verification.ProviderSession{}, err
	}
	cn := s.conn(ctx)
	ps, err := scanProviderSession(cn.queryRowSQL(cn.sql(`SELECT `+providerSessionCols+` FROM {{prefix}}provider_sessions
		WHERE provider = ? AND session_id = ?`), provider, sessionID))
	if err != nil {
		return ps, s.c.mapErr(ctx, "get provider session", err)
	}
	return ps, nil
}

// PutProviderSession implements verification.ProviderStore.
func (s *Store) PutProviderSession(ctx context.Context, ps verification.ProviderSession) error {
	codes, err := json.Marshal(ps.ReasonCodes)
	if err != nil || ps.ReasonCodes == nil {
		codes = []byte("[]")
	}
	return s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		_, err := cn.q.ExecContext(cn.ctx, cn.sql(`INSERT OR REPLACE INTO {{prefix}}provider_sessions (`+providerSessionCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			ps.Provider, ps.SessionID, ps.SubjectID, ps.IDSessionID, ps.URL, ps.EventKey, string(ps.Outcome), boolInt(ps.Final), micros(ps.OccurredAt),
			string(codes), ps.Reason, ps.Document.Type, ps.Document.Country, ps.Document.Number, micros(ps.Document.ValidUntil),
			string(ps.MediaStatus), ps.MediaAttempts, micros(ps.MediaNextAt), micros(ps.CreatedAt), micros(ps.UpdatedAt))
		return s.insertErr(ctx, "put provider session", err, ps.SubjectID)
	})
}

// ListProviderSessions implements verification.ProviderStore.
func (s *Store) ListProviderSessions(ctx context.Context, f verification.ProviderSessionFilter) ([]verification.ProviderSession, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var (
		conds []string
		args  []any
	)
	if f.SubjectID != 0 {
		conds, args = append(conds, "subject_id = ?"), append(args, f.SubjectID)
	}
	if !f.MediaDueBy.IsZero() {
		conds, args = append(conds, "media_status = 'pending' AND media_next_at <= ?"), append(args, micros(f.MediaDueBy))
	}
	q := `SELECT ` + providerSessionCols + ` FROM {{prefix}}provider_sessions`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	q += ` ORDER BY created_at, provider, session_id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	cn := s.conn(ctx)
	rows, err := cn.querySQL(cn.sql(q), args...)
	return collect(ctx, s.c, "list provider sessions", rows, err, scanProviderSession)
}
