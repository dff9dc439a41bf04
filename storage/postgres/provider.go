package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/openkyc/kyc/providers"
	"github.com/openkyc/kyc/verification"
)

var _ verification.ProviderStore = (*Store)(nil)

const providerEventCols = `id, provider, event_key, session_id, subject_id, outcome, final, occurred_at, result, received_at`

func scanProviderEvent(row pgx.Row) (verification.ProviderEvent, error) {
	var (
		e                  verification.ProviderEvent
		outcome, result    string
		occurred, received pgtype.Timestamptz
	)
	err := row.Scan(&e.ID, &e.Provider, &e.EventKey, &e.SessionID, &e.SubjectID, &outcome, &e.Final, &occurred, &result, &received)
	e.Outcome, e.Result = providers.Outcome(outcome), verification.ProviderResult(result)
	e.OccurredAt, e.ReceivedAt = tsOut(occurred), tsOut(received)
	return e, err
}

// AddProviderEvent implements verification.ProviderStore. A taken key
// inserts nothing (ON CONFLICT DO NOTHING), so the ErrConflict leaves a
// surrounding transaction usable.
func (s *Store) AddProviderEvent(ctx context.Context, e *verification.ProviderEvent) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	var id int64
	err := s.q.QueryRow(ctx, s.sql(`
		INSERT INTO {{schema}}.provider_events (provider, event_key, session_id, subject_id, outcome, final, occurred_at, result, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (provider, event_key) DO NOTHING
		RETURNING id`),
		e.Provider, e.EventKey, e.SessionID, e.SubjectID, string(e.Outcome), e.Final, tsIn(e.OccurredAt), string(e.Result), tsIn(e.ReceivedAt)).Scan(&id)
	if noRows(err) {
		return conflict("provider event", e.EventKey)
	}
	if err != nil {
		return fail(ctx, "add provider event", err)
	}
	e.ID = id
	return nil
}

// GetProviderEvent implements verification.ProviderStore.
func (s *Store) GetProviderEvent(ctx context.Context, provider, eventKey string) (verification.ProviderEvent, error) {
	if err := s.begin(ctx); err != nil {
		return verification.ProviderEvent{}, err
	}
	e, err := scanProviderEvent(s.q.QueryRow(ctx, s.sql(`SELECT `+providerEventCols+` FROM {{schema}}.provider_events
		WHERE provider = $1 AND event_key = $2`), provider, eventKey))
	if noRows(err) {
		return e, notFound("provider event", eventKey)
	}
	return e, fail(ctx, "get provider event", err)
}

// where builds a WHERE clause of conds with numbered parameters.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(w.args))))
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func (w *where) limit(n int) string {
	if n <= 0 {
		return ""
	}
	w.args = append(w.args, int64(n))
	return " LIMIT $" + strconv.Itoa(len(w.args))
}

// ListProviderEvents implements verification.ProviderStore.
func (s *Store) ListProviderEvents(ctx context.Context, f verification.ProviderEventFilter) ([]verification.ProviderEvent, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	var w where
	if f.Provider != "" {
		w.add("provider = $?", f.Provider)
	}
	if f.SessionID != "" {
		w.add("session_id = $?", f.SessionID)
	}
	if f.SubjectID != 0 {
		w.add("subject_id = $?", f.SubjectID)
	}
	q := `SELECT ` + providerEventCols + ` FROM {{schema}}.provider_events` + w.sql() + ` ORDER BY id`
	q += w.limit(f.Limit)
	rows, err := s.q.Query(ctx, s.sql(q), w.args...)
	if err != nil {
		return nil, fail(ctx, "list provider events", err)
	}
	out, err := collect(rows, scanProviderEvent)
	return out, fail(ctx, "list provider events", err)
}

const providerSessionCols = `provider, session_id, subject_id, id_session_id, url, event_key, outcome, final, occurred_at,
	reason_codes, reason, document_type, document_country, document_number, document_valid_until,
	media_status, media_attempts, media_next_at, created_at, updated_at`

func scanProviderSession(row pgx.Row) (verification.ProviderSession, error) {
	var (
		ps                                  verification.ProviderSession
		outcome, media                      string
		occurred, valid, next, created, upd pgtype.Timestamptz
	)
	err := row.Scan(&ps.Provider, &ps.SessionID, &ps.SubjectID, &ps.IDSessionID, &ps.URL, &ps.EventKey, &outcome, &ps.Final, &occurred,
		&ps.ReasonCodes, &ps.Reason, &ps.Document.Type, &ps.Document.Country, &ps.Document.Number, &valid,
		&media, &ps.MediaAttempts, &next, &created, &upd)
	ps.Outcome, ps.MediaStatus = providers.Outcome(outcome), verification.MediaStatus(media)
	ps.OccurredAt, ps.Document.ValidUntil, ps.MediaNextAt = tsOut(occurred), tsOut(valid), tsOut(next)
	ps.CreatedAt, ps.UpdatedAt = tsOut(created), tsOut(upd)
	if len(ps.ReasonCodes) == 0 {
		ps.ReasonCodes = nil
	}
	return ps, err
}

// GetProviderSession implements verification.ProviderStore.
func (s *Store) GetProviderSession(ctx context.Context, provider, sessionID string) (verification.ProviderSession, error) {
	if err := s.begin(ctx); err != nil {
		return verification.ProviderSession{}, err
	}
	ps, err := scanProviderSession(s.q.QueryRow(ctx, s.sql(`SELECT `+providerSessionCols+` FROM {{schema}}.provider_sessions
		WHERE provider = $1 AND session_id = $2`), provider, sessionID))
	if noRows(err) {
		return ps, notFound("provider session", sessionID)
	}
	return ps, fail(ctx, "get provider session", err)
}

// PutProviderSession implements verification.ProviderStore (an upsert; an
// unknown subject is refused by the foreign key).
func (s *Store) PutProviderSession(ctx context.Context, ps verification.ProviderSession) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	codes := ps.ReasonCodes
	if codes == nil {
		codes = []string{}
	}
	_, err := s.q.Exec(ctx, s.sql(`
		INSERT INTO {{schema}}.provider_sessions (`+providerSessionCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
		ON CONFLICT (provider, session_id) DO UPDATE SET
		    subject_id = EXCLUDED.subject_id, id_session_id = EXCLUDED.id_session_id, url = EXCLUDED.url,
		    event_key = EXCLUDED.event_key, outcome = EXCLUDED.outcome, final = EXCLUDED.final, occurred_at = EXCLUDED.occurred_at,
		    reason_codes = EXCLUDED.reason_codes, reason = EXCLUDED.reason, document_type = EXCLUDED.document_type,
		    document_country = EXCLUDED.document_country, document_number = EXCLUDED.document_number,
		    document_valid_until = EXCLUDED.document_valid_until, media_status = EXCLUDED.media_status,
		    media_attempts = EXCLUDED.media_attempts, media_next_at = EXCLUDED.media_next_at,
		    created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at`),
		ps.Provider, ps.SessionID, ps.SubjectID, ps.IDSessionID, ps.URL, ps.EventKey, string(ps.Outcome), ps.Final, tsIn(ps.OccurredAt),
		codes, ps.Reason, ps.Document.Type, ps.Document.Country, ps.Document.Number, tsIn(ps.Document.ValidUntil),
		string(ps.MediaStatus), ps.MediaAttempts, tsIn(ps.MediaNextAt), tsIn(ps.CreatedAt), tsIn(ps.UpdatedAt))
	return fail(ctx, "put provider session", err)
}

// ListProviderSessions implements verification.ProviderStore. A zero
// CreatedAt (NULL) sorts first, as the zero time does in Go; a pending
// fetch without a next time is due.
func (s *Store) ListProviderSessions(ctx context.Context, f verification.ProviderSessionFilter) ([]verification.ProviderSession, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	var w where
	if f.SubjectID != 0 {
		w.add("subject_id = $?", f.SubjectID)
	}
	if !f.MediaDueBy.IsZero() {
		w.add("media_status = 'pending' AND (media_next_at IS NULL OR media_next_at <= $?)", tsIn(f.MediaDueBy))
	}
	q := `SELECT ` + providerSessionCols + ` FROM {{schema}}.provider_sessions` + w.sql() +
		` ORDER BY created_at NULLS FIRST, provider, session_id`
	q += w.limit(f.Limit)
	rows, err := s.q.Query(ctx, s.sql(q), w.args...)
	if err != nil {
		return nil, fail(ctx, "list provider sessions", err)
	}
	out, err := collect(rows, scanProviderSession)
	return out, fail(ctx, "list provider sessions", err)
}
