package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Checkpoints. In WAL mode a commit appends pages to the -wal file, and a
// checkpoint copies them back into the database file; with
// synchronous=NORMAL the checkpoint is also the only moment SQLite fsyncs.
// SQLite's default runs that checkpoint inside whichever commit pushes the log
// past 1000 pages, so that commit pays for copying and fsyncing every page
// of the last few hundred transactions. The store instead checkpoints from a
// goroutine on a connection of its own, every checkpointEvery commits, in
// PASSIVE mode (it never blocks the writer or readers); commits only append
// to the log.
//
// SQLite rewinds the log to its start only when a write transaction begins
// after a checkpoint that copied every frame. Between bursts of writes the
// background checkpoint gets there; under a sustained stream it always lags
// the newest frames, so the log grows until the writer's own automatic
// checkpoint, kept as a backstop at writerAutoCheckpoint pages, finishes the
// job: by then the background has copied almost everything, so that inline
// checkpoint is short, and the log rewinds. The -wal file therefore stays
// under about writerAutoCheckpoint pages (it is reused, not truncated;
// Checkpoint truncates it).
const (
	checkpointEvery      = 64
	writerAutoCheckpoint = 8192 // pages: 32 MiB of log at the default page size
)

// checkpointerDSN is the DSN of the background checkpointer's connection.
func checkpointerDSN(abs string, busy time.Duration, exclusive bool) string {
	return dsn(abs, busy, exclusive)
}

// startCheckpointer opens the checkpointer's connection and starts its
// goroutine.
func (c *core) startCheckpointer(ctx context.Context, abs string, busy time.Duration, exclusive bool) error {
	db, err := sql.Open("sqlite", checkpointerDSN(abs, busy, exclusive))
	if err != nil {
		return fmt.Errorf("sqlite: opening the checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return fmt.Errorf("sqlite: opening the checkpointer: %w", err)
	}
	c.ckpt = db
	c.kick = make(chan struct{}, 1)
	c.stopCkpt = make(chan struct{})
	c.ckptDone = make(chan struct{})
	go c.checkpointer()
	return nil
}

// committed counts a commit and wakes the checkpointer every
// checkpointEvery commits.
func (c *core) committed() {
	if c.commits.Add(1)%checkpointEvery == 0 {
		select {
		case c.kick <- struct{}{}:
		default: // one is pending already
		}
	}
}

func (c *core) checkpointer() {
	defer close(c.ckptDone)
	for {
		select {
		case <-c.stopCkpt:
			return
		case <-c.kick:
		}
		// A failure (the database closing under it, an I/O error) is left
		// to the next round and to the writer's backstop: nothing waits on
		// this checkpoint.
		if _, err := c.ckpt.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err == nil {
			c.ckptRuns.Add(1)
		}
	}
}

// stopCheckpointer stops the goroutine and waits for it.
func (c *core) stopCheckpointer() {
	if c.stopCkpt == nil {
		return
	}
	close(c.stopCkpt)
	<-c.ckptDone
	c.stopCkpt = nil
}

// Checkpoint copies the write-ahead log into the main database file and
// truncates the log (PRAGMA wal_checkpoint(TRUNCATE)), so that data deleted
// or overwritten (with secure_delete on, which the store sets) no longer
// lingers in the -wal file. It runs on the writer, after the transactions in
// progress, waits up to the busy timeout for readers of older snapshots to
// finish, and fails if it could not complete. It cannot run inside a
// transaction.
func (s *Store) Checkpoint(ctx context.Context) error {
	if s.tx != nil {
		return errors.New("sqlite: Checkpoint cannot run inside a transaction")
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := s.c.lockWriter(ctx); err != nil {
		return err
	}
	defer s.c.unlockWriter()
	var busy, logPages, done int
	err := s.c.wconn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &done)
	if err != nil {
		return s.c.mapErr(ctx, "checkpoint", err)
	}
	if busy != 0 {
		return fmt.Errorf("sqlite: checkpoint: readers kept the log busy (%d of %d pages copied)", done, logPages)
	}
	return nil
}
