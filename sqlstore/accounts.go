package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/callbill/callbill"
	"github.com/shopspring/decimal"
)

// acctInfo is what invoices and contracts read of an account.
type acctInfo struct {
	name string
	kind callbill.AccountKind
	cash decimal.Decimal
}

func accountInfo(ctx context.Context, q querier, uid string) (*acctInfo, error) {
	var a acctInfo
	var cash string
	err := q.QueryRowContext(ctx, `SELECT name, kind, cash FROM accounts WHERE uid = ?`, uid).Scan(&a.name, &a.kind, &cash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, callbill.Errorf(callbill.ENOTFOUND, "account %s not found", uid)
	}
	if err != nil {
		return nil, err
	}
	var r decReader
	a.cash = r.parse("cash", cash)
	return &a, r.err("accounts", "account %s", uid)
}
