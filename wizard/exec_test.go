package wizard

import (
	"testing"
	"time"
)

func TestEveryKindHasARunner(t *testing.T) {
	for _, k := range KindNames() {
		if kindRunners[k] == nil {
			t.Errorf("kind %q has no implementation", k)
		}
	}
	for k := range kindRunners {
		if _, ok := Kinds[k]; !ok {
			t.Errorf("runner for undeclared kind %q", k)
		}
	}
}

func TestPredictAndBackupSuffix(t *testing.T) {
	if s := BackupSuffix(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)); s == "" || s[0] != '.' {
		t.Errorf("backup suffix %q", s)
	}
}
