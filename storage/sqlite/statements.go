package sqlite

// stmtID names one of the statements every Store prepares on Open (on the
// writer and on the read pool). Queries whose shape depends on the call (IN
// lists, optional filters) are built per call instead.
type stmtID int

const (
	stSubjectInsert stmtID = iota
	stSubjectGet
	stSubjectByIdentifier
	stSubjectUpdate
	stSubjectUpdateSameTags
	stSubjectSetTags
	stSubjectTagset
	stTagsetByKey
	stTagsetInsert
	stTagsetTagInsert
	stTagsetsOfTag

	stStateList
	stSubjectStates
	stStateGet
	stStatePut
	stStateDue
	stStateDueUnwarned
	stSubjectStatuses
	stSubjectProgress
	stSubjectProgressByIdentifier

	stReviewInsert
	stReviewList

	stGrantInsert
	stGrantGet
	stGrantTotal
	stGrantPageAsc
	stGrantPageDesc
	stClientTotal
	stClientPageAsc
	stClientPageDesc
	stSubjectGrantsAsc
	stSubjectGrantsDesc

	stAppInsert
	stAppGet
	stAppByUUID
	stAppUpdate
	stAppOpen
	stSubjectOpenApps

	stFileInsert
	stFileGet
	stFileUpdate
	stFileDelete

	stSessionInsert
	stSessionList
	stSessionUpdate
	stIDVerification

	stEventInsert
	stEventInsertPair
	stEventListAll
	stEventListSubject

	stDeliveryClaim
	stDeliveryBeyond
	stDeliveryHead
	stDeliveryGet
	stDeliveryLease
	stDeliveryUpdate
	stDeliveryExists

	numStmts
)

const (
	subjectCols = `id, identifier, tags, level, deleted_at, legal_hold, redacted_at, event_seq, created_at, updated_at`
	stateCols   = `subject_id, name, status, answer, reason, final, attempts, updated_at, valid_until, warned_at`
	reviewCols  = `id, subject_id, requirement, decision, reason, final, admin_id, create_time`
	grantCols   = `g.id, g.client_id, g.level_id, g.level_name, g.prev_level_id, g.prev_level_name, g.reason, g.user_id, g.create_time`
	appCols     = `id, uuid, subject_id, level, status, steps, reason, created_at, expires_at, submitted_at, decided_at, decided_by, assigned_to, claimed_at`
	fileCols    = `id, subject_id, blob_key, content_type, size, sha256, document_type, side, status, reason, created_at, decided_at`
	sessionCols = `id, subject_id, provider, status, created_at, front_file_id, back_file_id, face_file_id`
	eventCols   = `seq, id, subject_id, type, data, occurred_at`
)

// packedStates is the subject's (s) requirement states in one text column:
// their status entries (a stored generated column, see migration 0014 and
// parseStatuses) concatenated in name order.
const packedStates = `(SELECT group_concat(r.status_entry, '') FROM {{prefix}}requirement_states r WHERE r.subject_id = s.id)`

// progressCols is stSubjectProgress' columns and tables, up to its WHERE.
const progressCols = `s.id, s.level, s.deleted_at, s.redacted_at, ` + packedStates + `,
		a.id, a.uuid, a.subject_id, a.level, a.status, a.steps, a.reason, a.created_at, a.expires_at, a.submitted_at, a.decided_at,
		a.decided_by, a.assigned_to, a.claimed_at
		FROM {{prefix}}subjects s
		LEFT JOIN {{prefix}}applications a ON a.subject_id = s.id AND a.status IN ('draft', 'submitted')`

// The tag-set count granularity, fixed by migration 0001's triggers: a block
// is 1024 grant IDs (block = id >> blockShift), a superblock 65536
// (super = id >> superShift), 64 blocks.
const (
	blockShift = 10
	superShift = 16
)

var stmtSQL = [numStmts]string{
	stSubjectInsert: `INSERT INTO {{prefix}}subjects
		(identifier, tags, tagset_id, level, deleted_at, legal_hold, redacted_at, event_seq, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	stSubjectGet:          `SELECT ` + subjectCols + ` FROM {{prefix}}subjects WHERE id = ?`,
	stSubjectByIdentifier: `SELECT ` + subjectCols + ` FROM {{prefix}}subjects WHERE identifier = ?`,
	// Everything but the tags, returning the stored tags: UpdateSubject
	// touches the tags (and the tag index) only when they changed.
	stSubjectUpdate: `UPDATE {{prefix}}subjects
		SET level = ?, deleted_at = ?, legal_hold = ?, redacted_at = ?, event_seq = ?, updated_at = ?
		WHERE id = ? RETURNING tags`,
	// UpdateSubject's first try: the same columns while the stored tags
	// are the given ones (no RETURNING, which SQLite runs through a
	// temporary table); no row changed sends it to stSubjectUpdate.
	stSubjectUpdateSameTags: `UPDATE {{prefix}}subjects
		SET level = ?, deleted_at = ?, legal_hold = ?, redacted_at = ?, event_seq = ?, updated_at = ?
		WHERE id = ? AND tags IS ?`,
	stSubjectSetTags:  `UPDATE {{prefix}}subjects SET tags = ?, tagset_id = ? WHERE id = ?`,
	stSubjectTagset:   `SELECT tagset_id FROM {{prefix}}subjects WHERE id = ?`,
	stTagsetByKey:     `SELECT id FROM {{prefix}}tagsets WHERE key = ?`,
	stTagsetInsert:    `INSERT INTO {{prefix}}tagsets (key) VALUES (?)`,
	stTagsetTagInsert: `INSERT INTO {{prefix}}tagset_tags (tag, tagset_id) VALUES (?, ?)`,
	stTagsetsOfTag:    `SELECT tagset_id FROM {{prefix}}tagset_tags WHERE tag = ?`,

	stStateList: `SELECT ` + stateCols + ` FROM {{prefix}}requirement_states WHERE subject_id = ? ORDER BY name`,
	// LockSubjectStates: the subject's columns in every row, then one
	// state's (NULL for a subject without states), ordered by name (the
	// primary key's order).
	stSubjectStates: `SELECT s.id, s.identifier, s.tags, s.level, s.deleted_at, s.legal_hold, s.redacted_at, s.event_seq, s.created_at, s.updated_at,
		r.subject_id, r.name, r.status, r.answer, r.reason, r.final, r.attempts, r.updated_at, r.valid_until, r.warned_at
		FROM {{prefix}}subjects s LEFT JOIN {{prefix}}requirement_states r ON r.subject_id = s.id
		WHERE s.id = ? ORDER BY r.name`,
	stStateGet: `SELECT ` + stateCols + ` FROM {{prefix}}requirement_states WHERE subject_id = ? AND name = ?`,
	stStatePut: `INSERT INTO {{prefix}}requirement_states
		(subject_id, name, status, answer, reason, final, attempts, updated_at, valid_until, warned_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (subject_id, name) DO UPDATE SET
			status = excluded.status, answer = excluded.answer, reason = excluded.reason,
			final = excluded.final, attempts = excluded.attempts, updated_at = excluded.updated_at,
			valid_until = excluded.valid_until, warned_at = excluded.warned_at`,
	// The due states of one requirement, a range of the partial index
	// requirement_states_due (valid_until > 0 names it) after the cursor.
	stStateDue: `SELECT ` + stateCols + ` FROM {{prefix}}requirement_states
		WHERE name = ?1 AND valid_until > 0 AND valid_until <= ?2 AND (valid_until, subject_id) > (?3, ?4)
		ORDER BY valid_until, subject_id LIMIT ?5`,
	stStateDueUnwarned: `SELECT ` + stateCols + ` FROM {{prefix}}requirement_states
		WHERE name = ?1 AND valid_until > 0 AND valid_until <= ?2 AND (valid_until, subject_id) > (?3, ?4) AND warned_at = 0
		ORDER BY valid_until, subject_id LIMIT ?5`,

	// The status route's one round trip (ReadStore.GetSubjectStatuses): the
	// subject's liveness and level, and its states in one text column, each
	// as <byte length of the name>:<name><first letter of the status> (the
	// four statuses start with distinct letters; upper case for a state
	// marked final), so that one row and one
	// string carry every state whatever the name's bytes (see
	// parseStatuses): the driver's cost is then the same for 2 states or 50.
	stSubjectStatuses: `SELECT s.level, s.deleted_at, s.redacted_at, ` + packedStates + `
		FROM {{prefix}}subjects s WHERE s.id = ?`,
	// ReadStore.GetSubjectProgress: the subject's ID and stSubjectStatuses'
	// columns in every row, then an open application's (NULL for a subject
	// without one). stSubjectProgressByIdentifier is the same by the
	// subject's identifier (its unique index).
	stSubjectProgress:             `SELECT ` + progressCols + ` WHERE s.id = ? ORDER BY a.id DESC`,
	stSubjectProgressByIdentifier: `SELECT ` + progressCols + ` WHERE s.identifier = ? ORDER BY a.id DESC`,

	stReviewInsert: `INSERT INTO {{prefix}}reviews
		(subject_id, requirement, decision, reason, final, admin_id, create_time)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
	stReviewList: `SELECT ` + reviewCols + ` FROM {{prefix}}reviews WHERE subject_id = ? ORDER BY id`,

	// The IDs are MAX + 1: dense, because grants are never deleted and a
	// rolled-back insert gives its number back with the rest of the
	// transaction; exact, because the writer is alone.
	stGrantInsert: `INSERT INTO {{prefix}}grants
		(id, client_id, client_seq, level_id, level_name, prev_level_id, prev_level_name, reason, user_id, create_time)
		VALUES (
			(SELECT COALESCE(MAX(id), 0) + 1 FROM {{prefix}}grants),
			?1,
			(SELECT COALESCE(MAX(client_seq), 0) + 1 FROM {{prefix}}grants WHERE client_id = ?1),
			?2, ?3, ?4, ?5, ?6, ?7, ?8)
		RETURNING id`,
	stGrantGet:      `SELECT ` + grantCols + ` FROM {{prefix}}grants g WHERE g.id = ?`,
	stGrantTotal:    `SELECT COALESCE(MAX(id), 0) FROM {{prefix}}grants`,
	stGrantPageAsc:  `SELECT ` + grantCols + ` FROM {{prefix}}grants g WHERE g.id > ? ORDER BY g.id LIMIT ?`,
	stGrantPageDesc: `SELECT ` + grantCols + ` FROM {{prefix}}grants g WHERE g.id <= ? ORDER BY g.id DESC LIMIT ?`,
	stClientTotal:   `SELECT COALESCE(MAX(client_seq), 0) FROM {{prefix}}grants WHERE client_id = ?`,
	stClientPageAsc: `SELECT ` + grantCols + ` FROM {{prefix}}grants g
		WHERE g.client_id = ? AND g.client_seq > ? ORDER BY g.client_seq LIMIT ?`,
	stClientPageDesc: `SELECT ` + grantCols + ` FROM {{prefix}}grants g
		WHERE g.client_id = ? AND g.client_seq <= ? ORDER BY g.client_seq DESC LIMIT ?`,

	// ReadStore.ListSubjectGrants: the subject's deletion mark, its grant
	// total and one page, in one statement (?1 client, ?2 offset, ?3
	// limit, at least 1: see listSubjectGrants). The subject's row (one, by
	// its rowid) drives a walk of grants_client in the page's order, which
	// the LIMIT stops: nothing is materialized or sorted. A subject
	// without grants on the page gives one row with NULL grant columns; an
	// unknown subject none.
	stSubjectGrantsAsc: `SELECT s.deleted_at, (SELECT COALESCE(MAX(client_seq), 0) FROM {{prefix}}grants WHERE client_id = ?1), ` + grantCols + `
		FROM {{prefix}}subjects s
		LEFT JOIN {{prefix}}grants g ON g.client_id = ?1 AND g.client_seq > ?2
		WHERE s.id = ?1 ORDER BY g.client_seq LIMIT ?3`,
	stSubjectGrantsDesc: `SELECT s.deleted_at, (SELECT COALESCE(MAX(client_seq), 0) FROM {{prefix}}grants WHERE client_id = ?1), ` + grantCols + `
		FROM {{prefix}}subjects s
		LEFT JOIN {{prefix}}grants g ON g.client_id = ?1
		 AND g.client_seq <= (SELECT COALESCE(MAX(client_seq), 0) FROM {{prefix}}grants WHERE client_id = ?1) - ?2
		WHERE s.id = ?1 ORDER BY g.client_seq DESC LIMIT ?3`,

	stAppInsert: `INSERT INTO {{prefix}}applications
		(uuid, subject_id, level, status, steps, reason, created_at, expires_at, submitted_at, decided_at, decided_by, assigned_to, claimed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	stAppGet:    `SELECT ` + appCols + ` FROM {{prefix}}applications WHERE id = ?`,
	stAppByUUID: `SELECT ` + appCols + ` FROM {{prefix}}applications WHERE uuid = ?`,
	stAppUpdate: `UPDATE {{prefix}}applications
		SET level = ?, status = ?, steps = ?, reason = ?, expires_at = ?, submitted_at = ?, decided_at = ?, decided_by = ?,
		    assigned_to = ?, claimed_at = ?
		WHERE id = ?`,

	// ReadStore.ListOpenApplications: the index applications_subject,
	// newest first, no count.
	stAppOpen: `SELECT ` + appCols + ` FROM {{prefix}}applications
		WHERE subject_id = ? AND status IN ('draft', 'submitted') ORDER BY id DESC`,
	// ReadStore.GetOpenApplications: the subject's columns in every row,
	// then an open application's (NULL for a subject without one).
	stSubjectOpenApps: `SELECT s.id, s.identifier, s.tags, s.level, s.deleted_at, s.legal_hold, s.redacted_at, s.event_seq, s.created_at, s.updated_at,
		a.id, a.uuid, a.subject_id, a.level, a.status, a.steps, a.reason, a.created_at, a.expires_at, a.submitted_at, a.decided_at,
		a.decided_by, a.assigned_to, a.claimed_at
		FROM {{prefix}}subjects s
		LEFT JOIN {{prefix}}applications a ON a.subject_id = s.id AND a.status IN ('draft', 'submitted')
		WHERE s.id = ? ORDER BY a.id DESC`,

	stFileInsert: `INSERT INTO {{prefix}}files (` + fileCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	stFileGet: `SELECT ` + fileCols + ` FROM {{prefix}}files WHERE id = ?`,
	stFileUpdate: `UPDATE {{prefix}}files
		SET blob_key = ?, content_type = ?, size = ?, sha256 = ?, document_type = ?, side = ?, status = ?, reason = ?, decided_at = ?
		WHERE id = ?`,
	stFileDelete: `DELETE FROM {{prefix}}files WHERE id = ?`,

	stSessionInsert: `INSERT INTO {{prefix}}id_sessions (` + sessionCols + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
	stSessionList: `SELECT ` + sessionCols + ` FROM {{prefix}}id_sessions
		WHERE subject_id = ? ORDER BY created_at DESC, pos DESC`,
	stSessionUpdate: `UPDATE {{prefix}}id_sessions
		SET provider = ?, status = ?, created_at = ?, front_file_id = ?, back_file_id = ?, face_file_id = ?
		WHERE id = ?`,

	// ReadStore.GetIDVerification: the subject's deletion mark, its newest
	// approved session (NULL columns for none) and whether each of the
	// session's files is the subject's and still has its bytes.
	stIDVerification: `SELECT s.deleted_at, x.id, x.subject_id, x.provider, x.status, x.created_at,
		x.front_file_id, x.back_file_id, x.face_file_id,
		EXISTS (SELECT 1 FROM {{prefix}}files f WHERE f.id = x.front_file_id AND f.subject_id = s.id AND f.blob_key != ''),
		EXISTS (SELECT 1 FROM {{prefix}}files f WHERE f.id = x.back_file_id AND f.subject_id = s.id AND f.blob_key != ''),
		EXISTS (SELECT 1 FROM {{prefix}}files f WHERE f.id = x.face_file_id AND f.subject_id = s.id AND f.blob_key != '')
		FROM {{prefix}}subjects s
		LEFT JOIN {{prefix}}id_sessions x ON x.subject_id = ?1 AND x.status = 'approved'
		WHERE s.id = ?1 ORDER BY x.created_at DESC, x.pos DESC LIMIT 1`,

	stEventInsert: `INSERT INTO {{prefix}}events (id, subject_id, type, data, occurred_at)
		VALUES (?, ?, ?, ?, ?)`,
	// Two events in one statement (AddEvents): rowids MAX + 1, then + 2.
	stEventInsertPair: `INSERT INTO {{prefix}}events (id, subject_id, type, data, occurred_at)
		VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?)`,
	stEventListAll: `SELECT ` + eventCols + ` FROM {{prefix}}events
		WHERE seq > ? ORDER BY seq LIMIT ?`,
	// No subject index (see migration 0001): a walk of the events after ?2.
	stEventListSubject: `SELECT ` + eventCols + ` FROM {{prefix}}events
		WHERE subject_id = ? AND seq > ? ORDER BY seq LIMIT ?`,

	// The outbox (outbox.go).
	stDeliveryClaim:  claimSQL,
	stDeliveryBeyond: claimBeyondSQL,
	stDeliveryHead:   claimHeadSQL,
	stDeliveryGet: `SELECT ` + deliveryCols + ` FROM {{prefix}}deliveries d JOIN {{prefix}}events e ON e.seq = d.seq
		WHERE d.seq = ? AND d.sink = ?`,
	stDeliveryLease: `UPDATE {{prefix}}deliveries SET lease_until = ?, fence = fence + 1 WHERE seq = ? AND sink = ?`,
	stDeliveryUpdate: `UPDATE {{prefix}}deliveries
		SET status = ?, attempts = ?, next_attempt_at = ?, lease_until = ?, delivered_at = ?, last_error = ?
		WHERE sink = ? AND seq = (SELECT seq FROM {{prefix}}events WHERE id = ?) AND fence = ?`,
	stDeliveryExists: `SELECT EXISTS (SELECT 1 FROM {{prefix}}deliveries
		WHERE sink = ? AND seq = (SELECT seq FROM {{prefix}}events WHERE id = ?))`,
}

// inKind names a query whose IN list has a length chosen per call. Each is
// prepared on Open for lists of 1 to maxPreparedIn values (preparing one later,
// inside a read snapshot, could wait for a pooled connection that every
// snapshot holds); longer lists are prepared per call.
type inKind int

const (
	inTagsets inKind = iota // tagsetsSQL
	inSupers                // countsSQL over tagset_supers
	inBlocks                // countsSQL over tagset_blocks
	inPage                  // tagsetPageSQL
	numInKinds
)

const maxPreparedIn = 8

// inSQL returns the query of kind for an IN list of n values.
func inSQL(kind inKind, n int) string {
	switch kind {
	case inTagsets:
		return tagsetsSQL(n)
	case inSupers:
		return countsSQL("tagset_supers", "super", n)
	case inBlocks:
		return countsSQL("tagset_blocks", "block", n)
	default:
		return tagsetPageSQL(n)
	}
}
