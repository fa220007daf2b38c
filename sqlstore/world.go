package sqlstore

import (
	"context"
	"strconv"
	"time"

	"github.com/callbill/callbill"
	"github.com/callbill/callbill/provision"
)

// World files are persisted here; applying one is provision.Service.

// UpdateWorld runs fn in a transaction under the writer lock and the
// accounts' locks (see provision.Store).
func (s *Store) UpdateWorld(ctx context.Context, accounts []string, what string, fn func(tx provision.Tx, now time.Time) error) error {
	return s.lockedTx(ctx, accounts, what, func(tx *Tx) error { return fn(worldTx{ledgerTx{tx}}, s.Now()) })
}

// worldTx implements provision.Tx on a transaction.
type worldTx struct{ ledgerTx }

var _ provision.Tx = worldTx{}

func (t worldTx) Timezone(ctx context.Context) (string, error) {
	_, tz, err := location(ctx, t.tx)
	return tz, err
}

func (t worldTx) FirstActivity(ctx context.Context) (callbill.Cycle, error) {
	first, err := getMetaInt(ctx, t.tx, "first_cycle")
	return callbill.Cycle(first), err
}

func (t worldTx) SetTimezone(ctx context.Context, tz string) error {
	return setMeta(ctx, t.tx, "timezone", tz)
}

func (t worldTx) SetFirstBillable(ctx context.Context, c callbill.Cycle) error {
	return setMeta(ctx, t.tx, "billable_from", strconv.Itoa(int(c)))
}

func (t worldTx) SetMaxCallSeconds(ctx context.Context, seconds int64) error {
	return setMeta(ctx, t.tx, "max_call_seconds", strconv.FormatInt(seconds, 10))
}

func (t worldTx) UpsertPrice(ctx context.Context, p *callbill.Price) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO prices (item, mode, from_unix, tiers) VALUES (?, ?, ?, ?)
		ON CONFLICT (item, mode, from_unix) DO UPDATE SET tiers = excluded.tiers`,
		string(p.Item), string(p.Mode), p.From.Unix(), encodeTiers(p.Tiers))
	return err
}

func (t worldTx) UpsertAccount(ctx context.Context, a *callbill.Account) error {
	low := ""
	if a.LowBalanceAlert != nil {
		low = a.LowBalanceAlert.String()
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO accounts (uid, name, kind, credit_line, contract, retention, cash, allowance, grace_days, low_balance)
		VALUES (?, ?, ?, ?, ?, ?, '0', ?, ?, ?)
		ON CONFLICT (uid) DO UPDATE SET name = excluded.name, kind = excluded.kind,
		credit_line = excluded.credit_line, contract = excluded.contract, retention = excluded.retention,
		allowance = excluded.allowance, grace_days = excluded.grace_days, low_balance = excluded.low_balance`,
		a.UID, a.Name, string(a.Kind), a.CreditLine.String(), encodeContract(a.Contract), a.RecordingRetentionMonths,
		a.Allowance.String(), a.GraceDays, low)
	return err
}

func (t worldTx) UpsertInstance(ctx context.Context, account string, inst *callbill.Instance) error {
	_, err := t.tx.ExecContext(ctx, `INSERT INTO instances (account, id, mode) VALUES (?, ?, ?)
		ON CONFLICT (account, id) DO UPDATE SET mode = excluded.mode`, account, inst.ID, string(inst.Mode))
	return err
}

func (t worldTx) UpsertNumber(ctx context.Context, account, instance string, n *callbill.Number) error {
	auto := 0
	if n.AutoRenew {
		auto = 1
	}
	_, err := t.tx.ExecContext(ctx, `INSERT INTO numbers (account, instance, number, kind, source, tier, since, until, auto_renew)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, instance, number) DO UPDATE SET kind = excluded.kind, source = excluded.source,
		tier = excluded.tier, since = excluded.since, until = excluded.until, auto_renew = excluded.auto_renew`,
		account, instance, n.Number, string(n.Kind), string(n.Source), n.Tier, unixOrZero(n.Since), unixOrZero(n.Until), auto)
	return err
}

func (t worldTx) WorldChanged(ctx context.Context) error { return bumpGen(ctx, t.tx) }
