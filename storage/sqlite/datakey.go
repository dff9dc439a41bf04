package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/openkyc/kyc/documents"
)

// DataKeyStore is a documents.KeyStore (and documents.KeyCreator) keeping
// the wrapped per-owner data keys of a documents.SealedStore in the Store's
// database (table data_keys, migration 0007). Writes go through the store's
// writer, so processes sharing the file agree on one key per owner.
// DeleteDataKey is the crypto-erasure of every blob sealed for the owner:
// backups of the database file that outlive your erasure deadline restore
// the keys with it.
type DataKeyStore struct {
	s *Store
}

var (
	_ documents.KeyStore   = (*DataKeyStore)(nil)
	_ documents.KeyCreator = (*DataKeyStore)(nil)
)

// DataKeys returns the DataKeyStore of the Store's database. It shares the
// Store's connections and is closed with it.
func (s *Store) DataKeys() *DataKeyStore {
	return &DataKeyStore{s: &Store{c: s.c}}
}

// check performs the checks every method starts with.
func (k *DataKeyStore) check(ctx context.Context, op, owner string) error {
	if err := k.s.check(ctx); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return documents.ValidateOwner(owner)
}

// GetDataKey implements documents.KeyStore.
func (k *DataKeyStore) GetDataKey(ctx context.Context, owner string) (documents.WrappedKey, error) {
	if err := k.check(ctx, "get data key", owner); err != nil {
		return documents.WrappedKey{}, err
	}
	var w documents.WrappedKey
	err := k.s.c.reader.QueryRowContext(ctx, withPrefix(`SELECT master_key_id, ciphertext FROM {{prefix}}data_keys WHERE owner = ?`, k.s.c.prefix), owner).
		Scan(&w.MasterKeyID, &w.Ciphertext)
	if errors.Is(err, sql.ErrNoRows) {
		return documents.WrappedKey{}, fmt.Errorf("%w: owner %q", documents.ErrKeyNotFound, owner)
	}
	if err != nil {
		return documents.WrappedKey{}, k.s.blobErr(ctx, "get data key", err)
	}
	return w, nil
}

// PutDataKey implements documents.KeyStore.
func (k *DataKeyStore) PutDataKey(ctx context.Context, owner string, w documents.WrappedKey) error {
	if err := k.check(ctx, "put data key", owner); err != nil {
		return err
	}
	return k.s.blobErr(ctx, "put data key", k.s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		_, err := cn.q.ExecContext(cn.ctx, cn.sql(`
			INSERT INTO {{prefix}}data_keys (owner, master_key_id, ciphertext) VALUES (?, ?, ?)
			ON CONFLICT (owner) DO UPDATE SET master_key_id = excluded.master_key_id, ciphertext = excluded.ciphertext`),
			owner, w.MasterKeyID, w.Ciphertext)
		return err
	}))
}

// CreateDataKey implements documents.KeyCreator.
func (k *DataKeyStore) CreateDataKey(ctx context.Context, owner string, w documents.WrappedKey) error {
	if err := k.check(ctx, "create data key", owner); err != nil {
		return err
	}
	created := false
	err := k.s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		res, err := cn.q.ExecContext(cn.ctx, cn.sql(`
			INSERT INTO {{prefix}}data_keys (owner, master_key_id, ciphertext) VALUES (?, ?, ?)
			ON CONFLICT (owner) DO NOTHING`),
			owner, w.MasterKeyID, w.Ciphertext)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		created = n == 1
		return err
	})
	if err != nil {
		return k.s.blobErr(ctx, "create data key", err)
	}
	if !created {
		return fmt.Errorf("%w: owner %q", documents.ErrKeyExists, owner)
	}
	return nil
}

// DeleteDataKey implements documents.KeyStore.
func (k *DataKeyStore) DeleteDataKey(ctx context.Context, owner string) error {
	if err := k.check(ctx, "delete data key", owner); err != nil {
		return err
	}
	return k.s.blobErr(ctx, "delete data key", k.s.write(ctx, func(tx *Store) error {
		cn := tx.conn(ctx)
		_, err := cn.q.ExecContext(cn.ctx, cn.sql(`DELETE FROM {{prefix}}data_keys WHERE owner = ?`), owner)
		return err
	}))
}

var _ documents.KeyLister = (*DataKeyStore)(nil)

// ListDataKeys implements documents.KeyLister, in the owners' byte order.
func (k *DataKeyStore) ListDataKeys(ctx context.Context, after string, limit int) ([]documents.DataKeyRef, error) {
	if err := k.s.check(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: list data keys: %w", err)
	}
	if limit <= 0 {
		return nil, errors.New("sqlite: list data keys: limit must be positive")
	}
	rows, err := k.s.c.reader.QueryContext(ctx, withPrefix(`SELECT owner, master_key_id FROM {{prefix}}data_keys WHERE owner > ? ORDER BY owner LIMIT ?`, k.s.c.prefix), after, limit)
	if err != nil {
		return nil, k.s.blobErr(ctx, "list data keys", err)
	}
	defer rows.Close()
	out := make([]documents.DataKeyRef, 0, limit)
	for rows.Next() {
		var r documents.DataKeyRef
		if err := rows.Scan(&r.Owner, &r.MasterKeyID); err != nil {
			return nil, k.s.blobErr(ctx, "list data keys", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, k.s.blobErr(ctx, "list data keys", err)
	}
	return out, nil
}
