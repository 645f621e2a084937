package cmd

import (
	"context"
	"errors"

	tea "charm.land/bubbletea/v2"

	"github.com/ferry-migrate/ferry/wizard"
)

// Exit codes, the same in every mode (terminal, plain or headless).
const (
	ExitOK          = 0   // the migration (or the command) is done
	ExitFailed      = 1   // a step failed, or something else went wrong
	ExitUsage       = 2   // bad usage or bad input (flags, runbook, answers, journal)
	ExitNeedsHuman  = 3   // a step needs a person and nobody can answer here (headless, or plain output off a terminal): the answers file lacks a key
	ExitLocked      = 4   // another ferry holds this migration
	ExitJournalLost = 5   // the journal is missing, empty or another's while an earlier migration shows: restore it or --start-over
	ExitInterrupted = 130 // interrupted (ctrl+c, a signal) or stopped by the admin
)

// UsageError marks bad usage or bad input: exit code 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// usage wraps err as a UsageError.
func usage(err error) error { return &UsageError{Err: err} }

// ExitCode maps an error to ferry's exit code. It is the one place where
// errors become exit codes.
func ExitCode(err error) int {
	var (
		usageErr   *UsageError
		runbookErr *wizard.RunbookError
		lockedErr  *wizard.LockedError
		lostErr    *wizard.LostJournalError
		journalErr *wizard.JournalError
		failedErr  *wizard.StepFailedError
	)
	var remote *RunnerExit
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &remote):
		return remote.Code
	case errors.Is(err, tea.ErrInterrupted), errors.Is(err, context.Canceled),
		errors.Is(err, wizard.ErrStopped):
		return ExitInterrupted
	case errors.As(err, &lockedErr):
		return ExitLocked
	case errors.As(err, &lostErr):
		return ExitJournalLost
	case errors.Is(err, wizard.ErrNeedsHuman):
		return ExitNeedsHuman
	case errors.As(err, &failedErr):
		return ExitFailed
	case errors.As(err, &runbookErr), errors.As(err, &usageErr), errors.As(err, &journalErr):
		return ExitUsage
	}
	return ExitFailed
}
