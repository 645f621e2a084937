// Package tui is ferry's terminal front end, built on Bubble Tea v2: the
// guided wizard that walks an admin through a migration, and the read-only
// checklist view that browses a runbook and the state of a migration without
// the power to change anything. It only renders what the engine reports and
// sends the admin's decisions back; it runs no task itself.
package tui
