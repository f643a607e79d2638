package buffer

import (
	"errors"
	"fmt"
	"log/slog"

	badger "github.com/dgraph-io/badger/v4"
)

// migrateMetaKey moves the bookkeeping of a buffer written by an older
// version from legacyMetaKey to metaKey (see metaKey for why it moved). It
// runs in one transaction, so a crash leaves either the old key or the new
// one, never both or neither; a buffer that already has metaKey keeps it
// and loses only the stale legacy copy.
func migrateMetaKey(db *badger.DB, log *slog.Logger) error {
	err := db.Update(func(txn *badger.Txn) error {
		old, err := txn.Get(legacyMetaKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read legacy meta: %w", err)
		}
		_, err = txn.Get(metaKey)
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			v, err := old.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("read legacy meta: %w", err)
			}
			if err := txn.Set(metaKey, v); err != nil {
				return fmt.Errorf("write meta: %w", err)
			}
			log.Info("buffer: moved bookkeeping to its new key", "from", string(legacyMetaKey), "to", string(metaKey))
		case err != nil:
			return fmt.Errorf("read meta: %w", err)
		}
		if err := txn.Delete(legacyMetaKey); err != nil {
			return fmt.Errorf("delete legacy meta: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate meta key: %w", err)
	}
	return nil
}
