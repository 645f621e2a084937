package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ferry-migrate/ferry/remote"
)

// ErrLoginRefused marks a login PostgreSQL refused because of the password
// (SQLSTATE 28P01, "password authentication failed"), as opposed to a
// server that cannot be reached or a database that does not exist.
var ErrLoginRefused = errors.New("the password was refused")

// LoginSQL is the statement CheckLogins runs with psql: it reads nothing.
const LoginSQL = "SELECT 1"

// CheckLogins logs in to each database the way the later steps will, and
// changes nothing: with psql run on h as s says (PSQLArgv with LoginSQL, as
// pg_dump will log in on the old server) and, when via is not nil, with
// ferry's own connection through via (as the row-count proof will). It
// tries every database and returns one error per database (nil when both
// logins worked); an error caused by the password wraps ErrLoginRefused.
// The password travels only in the environment (PGServer.Env). The second
// result is the context's error when it ended first.
func CheckLogins(ctx context.Context, h remote.Host, s PGServer, dbs []string, via Dialer, rep Reporter) ([]error, error) {
	if rep == nil {
		rep = Discard
	}
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		rep.Progress(Progress{Note: "logging in to " + db})
		if _, err := psqlLines(ctx, h, s, db, LoginSQL); err != nil {
			if ctx.Err() != nil {
				return errs, ctx.Err()
			}
			if strings.Contains(err.Error(), "password authentication failed") {
				err = fmt.Errorf("%w by PostgreSQL on %s for role %s, database %s, in a login with psql as pg_dump makes", ErrLoginRefused, h.Name(), s.User, db)
			} else {
				err = fmt.Errorf("database %s: %w", db, err)
			}
			errs[i] = err
			continue
		}
		if via != nil {
			conn, err := ConnectPG(ctx, s, db, via)
			if err != nil {
				if ctx.Err() != nil {
					return errs, ctx.Err()
				}
				var pe *pgconn.PgError
				if errors.As(err, &pe) && pe.Code == "28P01" {
					err = fmt.Errorf("%w by PostgreSQL on %s for role %s, database %s, in a login through ferry's own connection as the row-count proof makes", ErrLoginRefused, h.Name(), s.User, db)
				} else {
					err = fmt.Errorf("database %s, through the SSH connection (as the row-count proof logs in): %w", db, err)
				}
				errs[i] = err
				continue
			}
			_ = conn.Close(context.WithoutCancel(ctx))
		}
		rep.Line("info", fmt.Sprintf("logged in to %s as %s", db, s.User))
	}
	return errs, nil
}
