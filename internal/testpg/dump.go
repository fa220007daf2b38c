package testpg

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Database returns the DSN of a new, empty database on the server of
// $CALLBILL_TEST_PG (its role must be allowed to create databases), dropped
// when the test ends. Unlike DSN's schema, it is a database as an operator
// has one: what a whole-database pg_dump restores into.
func Database(t testing.TB) string {
	t.Helper()
	base, name := create(t, "t_db", "CREATE DATABASE %s", "DROP DATABASE IF EXISTS %s WITH (FORCE)", "to create a database")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// LoadDump runs a plain-SQL pg_dump (pg_dump --no-owner --no-privileges,
// COPY data included) against the database dsn, as psql -f would: the SQL
// between COPY blocks goes as one multi-statement simple query, each COPY
// block through the COPY protocol. psql's \restrict and \unrestrict lines
// (newer pg_dumps guard the dump's output with them) are skipped; any other
// meta-command is an error, since this is not psql.
func LoadDump(ctx context.Context, dsn string, dump io.Reader) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	pg := conn.PgConn()
	var stmts strings.Builder
	flush := func() error {
		if strings.TrimSpace(stmts.String()) == "" {
			return nil
		}
		_, err := pg.Exec(ctx, stmts.String()).ReadAll()
		stmts.Reset()
		return err
	}
	sc := bufio.NewScanner(dump)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		switch {
		case strings.HasPrefix(text, "COPY ") && strings.HasSuffix(text, " FROM stdin;"):
			if err := flush(); err != nil {
				return fmt.Errorf("before line %d: %w", line, err)
			}
			var data bytes.Buffer
			start, ended := line, false
			for sc.Scan() {
				line++
				if sc.Text() == `\.` {
					ended = true
					break
				}
				data.WriteString(sc.Text())
				data.WriteByte('\n')
			}
			if !ended {
				return fmt.Errorf("line %d: COPY without its closing line (a backslash and a dot)", start)
			}
			if _, err := pg.CopyFrom(ctx, &data, strings.TrimSuffix(text, ";")); err != nil {
				return fmt.Errorf("line %d: %w", start, err)
			}
		case strings.HasPrefix(text, `\restrict `), strings.HasPrefix(text, `\unrestrict `):
		case strings.HasPrefix(text, `\`):
			return fmt.Errorf("line %d: psql meta-command %q is not supported", line, text)
		default:
			stmts.WriteString(text)
			stmts.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := flush(); err != nil {
		return fmt.Errorf("at the end: %w", err)
	}
	return nil
}
