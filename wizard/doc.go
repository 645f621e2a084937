// Package wizard holds ferry's model of a migration: the runbook (a vendor
// procedure as data), its loading and validation, the engine that walks the
// steps through their states, the append-only journal that makes a run
// resumable, the lock that keeps one ferry per migration, and the answers a
// run needs. It knows nothing of terminals: front ends receive Events and send
// Decisions.
package wizard
