package sqlstore

import (
	"context"
	"strconv"
	"strings"
)

// unnestRows runs a multi-row INSERT on PostgreSQL with one array per
// column: head ("INSERT INTO t (cols) VALUES ") + "SELECT * FROM
// unnest($1::text[], $2::bigint[], …)" + tail. The statement's text is the
// same whatever the number of rows, so the server parses and plans it once
// per connection (pgx keeps it prepared); a VALUES list of thousands of
// parameters was parsed anew for every batch, and that was a third of the
// aggregates' time under the call platform's stream. ok is false when a
// column holds values of a type it does not map (the caller then uses
// VALUES).
func unnestRows(ctx context.Context, tx *Tx, head, tail string, width int, args []any) (ok bool, err error) {
	if len(args) == 0 {
		return true, nil
	}
	q, cols, ok := unnestSQL(head, tail, width, args)
	if !ok {
		return false, nil
	}
	_, err = tx.Tx.ExecContext(ctx, q, cols...)
	return true, err
}

// unnestSQL builds unnestRows's statement and its column arrays.
func unnestSQL(head, tail string, width int, args []any) (q string, cols []any, ok bool) {
	if len(args)%width != 0 { // not whole rows: the VALUES path refuses them
		return "", nil, false
	}
	n := len(args) / width
	cols = make([]any, width)
	types := make([]string, width)
	for j := 0; j < width; j++ {
		switch args[j].(type) {
		case string:
			col := make([]string, n)
			for i := range col {
				s, isString := args[i*width+j].(string)
				if !isString {
					return "", nil, false
				}
				col[i] = s
			}
			cols[j], types[j] = col, "text[]"
		case int, int64:
			col := make([]int64, n)
			for i := range col {
				switch v := args[i*width+j].(type) {
				case int:
					col[i] = int64(v)
				case int64:
					col[i] = v
				default:
					return "", nil, false
				}
			}
			cols[j], types[j] = col, "bigint[]"
		default:
			return "", nil, false
		}
	}
	var sb strings.Builder
	sb.WriteString(strings.TrimSuffix(strings.TrimRight(head, " "), "VALUES"))
	sb.WriteString("SELECT * FROM unnest(")
	for j, t := range types {
		if j > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("$" + strconv.Itoa(j+1) + "::" + t)
	}
	sb.WriteString(")")
	sb.WriteString(tail)
	return sb.String(), cols, true
}
