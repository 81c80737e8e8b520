package ids

import (
	"testing"
)

type nopEngine struct{}

func (nopEngine) Name() string                     { return "nop" }
func (nopEngine) NewScratch() Scratch              { return nil }
func (nopEngine) Inspect(*Input, Scratch, *Result) {}

func TestRegister(t *testing.T) {
	Register("test-nop", func(Config) (Engine, error) { return nopEngine{}, nil })
	e, err := New("test-nop", Config{})
	if err != nil || e.Name() != "nop" {
		t.Fatalf("New = %v, %v", e, err)
	}
	if _, err := New("test-missing", Config{}); err == nil {
		t.Error("New of an unregistered name succeeded")
	}
	defer func() {
		if recover() == nil {
			t.Error("a duplicate Register did not panic")
		}
	}()
	Register("test-nop", func(Config) (Engine, error) { return nopEngine{}, nil })
}

func TestResultAdd(t *testing.T) {
	var r Result
	r.Reset()
	for i := range MaxAlerts + 3 {
		r.Add(Alert{SID: uint32(i)})
	}
	if r.NAlerts != MaxAlerts || r.Dropped != 3 {
		t.Errorf("NAlerts %d Dropped %d", r.NAlerts, r.Dropped)
	}
}
