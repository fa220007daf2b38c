package sqlstore

import "context"

// scanner is a row or rows: what a scan function reads from.
type scanner = interface{ Scan(...any) error }

// queryAll runs a query and returns its rows, each read by scan.
func queryAll[T any](ctx context.Context, q querier, scan func(row scanner) (*T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}
