package sqlstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"

	"github.com/callbill/callbill"
)

// seal encrypts an access key secret under the master key (AES-256-GCM,
// random nonce, the key id as associated data so a sealed secret cannot be
// moved to another key's row).
func (s *Store) seal(id, secret string) (string, error) {
	gcm, err := s.gcm()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := gcm.Seal(nonce, nonce, []byte(secret), []byte(id))
	return base64.StdEncoding.EncodeToString(out), nil
}

func (s *Store) unseal(id, sealed string) (string, error) {
	gcm, err := s.gcm()
	if err != nil {
		return "", err
	}
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < gcm.NonceSize() {
		return "", callbill.Errorf(callbill.EINTERNAL, "access key %s: sealed secret is malformed", id)
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], []byte(id))
	if err != nil {
		return "", callbill.Errorf(callbill.EINTERNAL, "access key %s cannot be opened: is this the master key it was sealed with?", id)
	}
	return string(plain), nil
}

func (s *Store) gcm() (cipher.AEAD, error) {
	s.keyMu.Lock()
	if s.MasterKey == nil && s.LoadMasterKey != nil {
		k, err := s.LoadMasterKey()
		if err != nil {
			s.keyMu.Unlock()
			return nil, err
		}
		s.MasterKey = k
	}
	s.keyMu.Unlock()
	if len(s.MasterKey) != 32 {
		return nil, callbill.Errorf(callbill.EINTERNAL, "no master key: access keys need a 32-byte master key (CALLBILL_MASTER_KEY)")
	}
	block, err := aes.NewCipher(s.MasterKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = keyAlphabet[int(b[i])%len(keyAlphabet)]
	}
	return string(b)
}

// CreateAccessKey makes a new AccessKey pair for an account. The secret is
// returned this once; only its sealed form is stored. Returns ENOTFOUND for
// an unknown account.
func (s *Store) CreateAccessKey(ctx context.Context, uid string) (*callbill.AccessKey, error) {
	k := &callbill.AccessKey{ID: "LTAI" + randomString(20), Account: uid, Secret: randomString(30), CreatedAt: s.Now()}
	sealed, err := s.seal(k.ID, k.Secret)
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(tx *Tx) error {
		if err := mustAccount(ctx, tx, uid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO access_keys (id, account, sealed, created_at) VALUES (?, ?, ?, ?)`,
			k.ID, uid, sealed, k.CreatedAt.Unix())
		return err
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// RevokeAccessKey revokes a key at once. Returns ENOTFOUND for an unknown key.
func (s *Store) RevokeAccessKey(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE access_keys SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, s.Now().Unix(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return callbill.Errorf(callbill.ENOTFOUND, "access key %s not found or already revoked", id)
		}
		return nil
	})
}

// AccessKey returns a valid key with its secret. Returns ENOTFOUND for an
// unknown or revoked key.
func (s *Store) AccessKey(ctx context.Context, id string) (*callbill.AccessKey, error) {
	var k callbill.AccessKey
	var sealed string
	var created, revoked int64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT id, account, sealed, created_at, revoked_at FROM access_keys WHERE id = ?`), id).
		Scan(&k.ID, &k.Account, &sealed, &created, &revoked)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && revoked != 0) {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "access key %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	k.CreatedAt = time.Unix(created, 0)
	if k.Secret, err = s.unseal(k.ID, sealed); err != nil {
		return nil, err
	}
	return &k, nil
}

// UseNonce records a request nonce of a key and remembers it for keep from
// now (by the store's clock); nonces older than keep are forgotten. The
// caller says how long because it knows how long a request carrying the
// nonce stays acceptable (bss.NonceRetention). Returns ECONFLICT if the nonce
// was used before by this key.
func (s *Store) UseNonce(ctx context.Context, keyID, nonce string, keep time.Duration) error {
	if keep <= 0 {
		// Forgetting at once would let every request be replayed.
		return callbill.Errorf(callbill.EINTERNAL, "UseNonce: keep must be positive, not %v", keep)
	}
	now := s.Now()
	return s.inTx(ctx, func(tx *Tx) error {
		// at is in whole seconds, rounded down: a row is deleted only once
		// (now - keep).Unix() > at, i.e. strictly more than keep after it was seen.
		if _, err := tx.ExecContext(ctx, `DELETE FROM request_nonces WHERE at < ?`, now.Add(-keep).Unix()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO request_nonces (key_id, nonce, at) VALUES (?, ?, ?)`, keyID, nonce, now.Unix())
		if s.isUniqueViolation(err) {
			return callbill.Errorf(callbill.ECONFLICT, "SignatureNonce %s was used before", nonce)
		}
		return err
	})
}
