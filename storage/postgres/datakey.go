package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/openkyc/kyc/documents"
)

// DataKeyStore is a documents.KeyStore (and documents.KeyCreator) keeping
// the wrapped per-owner data keys of a documents.SealedStore in the Store's
// schema (table data_keys, migration 0008). CreateDataKey is one INSERT ...
// ON CONFLICT DO NOTHING, so replicas sealing an owner's first blob at the
// same time agree on one key. DeleteDataKey is the crypto-erasure of every
// blob sealed for the owner: keep this table out of backups that outlive
// your erasure deadline, or accept that restoring one restores the keys.
type DataKeyStore struct {
	s *Store
}

var (
	_ documents.KeyStore   = (*DataKeyStore)(nil)
	_ documents.KeyCreator = (*DataKeyStore)(nil)
)

// DataKeys returns the DataKeyStore of the Store's schema. It shares the
// Store's pool and is closed with it.
func (s *Store) DataKeys() *DataKeyStore {
	return &DataKeyStore{s: &Store{db: s.db, q: s.db.pool}}
}

// check performs the checks every method starts with.
func (k *DataKeyStore) check(ctx context.Context, op, owner string) error {
	if err := k.s.begin(ctx); err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	return documents.ValidateOwner(owner)
}

// GetDataKey implements documents.KeyStore.
func (k *DataKeyStore) GetDataKey(ctx context.Context, owner string) (documents.WrappedKey, error) {
	if err := k.check(ctx, "get data key", owner); err != nil {
		return documents.WrappedKey{}, err
	}
	var w documents.WrappedKey
	err := k.s.db.pool.QueryRow(ctx, k.s.sql(`SELECT master_key_id, ciphertext FROM {{schema}}.data_keys WHERE owner = $1`), owner).
		Scan(&w.MasterKeyID, &w.Ciphertext)
	if errors.Is(err, pgx.ErrNoRows) {
		return documents.WrappedKey{}, fmt.Errorf("%w: owner %q", documents.ErrKeyNotFound, owner)
	}
	if err != nil {
		return documents.WrappedKey{}, blobErr(ctx, "get data key", err)
	}
	return w, nil
}

// PutDataKey implements documents.KeyStore.
func (k *DataKeyStore) PutDataKey(ctx context.Context, owner string, w documents.WrappedKey) error {
	if err := k.check(ctx, "put data key", owner); err != nil {
		return err
	}
	_, err := k.s.db.pool.Exec(ctx, k.s.sql(`
		INSERT INTO {{schema}}.data_keys (owner, master_key_id, ciphertext) VALUES ($1, $2, $3)
		ON CONFLICT (owner) DO UPDATE SET master_key_id = EXCLUDED.master_key_id, ciphertext = EXCLUDED.ciphertext`),
		owner, w.MasterKeyID, w.Ciphertext)
	if err != nil {
		return blobErr(ctx, "put data key", err)
	}
	return nil
}

// CreateDataKey implements documents.KeyCreator.
func (k *DataKeyStore) CreateDataKey(ctx context.Context, owner string, w documents.WrappedKey) error {
	if err := k.check(ctx, "create data key", owner); err != nil {
		return err
	}
	tag, err := k.s.db.pool.Exec(ctx, k.s.sql(`
		INSERT INTO {{schema}}.data_keys (owner, master_key_id, ciphertext) VALUES ($1, $2, $3)
		ON CONFLICT (owner) DO NOTHING`),
		owner, w.MasterKeyID, w.Ciphertext)
	if err != nil {
		return blobErr(ctx, "create data key", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: owner %q", documents.ErrKeyExists, owner)
	}
	return nil
}

// DeleteDataKey implements documents.KeyStore.
func (k *DataKeyStore) DeleteDataKey(ctx context.Context, owner string) error {
	if err := k.check(ctx, "delete data key", owner); err != nil {
		return err
	}
	if _, err := k.s.db.pool.Exec(ctx, k.s.sql(`DELETE FROM {{schema}}.data_keys WHERE owner = $1`), owner); err != nil {
		return blobErr(ctx, "delete data key", err)
	}
	return nil
}

var _ documents.KeyLister = (*DataKeyStore)(nil)

// ListDataKeys implements documents.KeyLister, in the owners' byte order
// (the column is COLLATE "C"; its primary key's index serves the walk).
func (k *DataKeyStore) ListDataKeys(ctx context.Context, after string, limit int) ([]documents.DataKeyRef, error) {
	if err := k.s.begin(ctx); err != nil {
		return nil, fmt.Errorf("postgres: list data keys: %w", err)
	}
	if limit <= 0 {
		return nil, errors.New("postgres: list data keys: limit must be positive")
	}
	rows, err := k.s.db.pool.Query(ctx, k.s.sql(`SELECT owner, master_key_id FROM {{schema}}.data_keys WHERE owner > $1 ORDER BY owner LIMIT $2`), after, limit)
	if err != nil {
		return nil, blobErr(ctx, "list data keys", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (documents.DataKeyRef, error) {
		var r documents.DataKeyRef
		err := row.Scan(&r.Owner, &r.MasterKeyID)
		return r, err
	})
	if err != nil {
		return nil, blobErr(ctx, "list data keys", err)
	}
	return out, nil
}
