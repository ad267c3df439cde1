package errs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestE(t *testing.T) {
	cause := io.EOF
	err := E("power_on", "west:web-01", Transient, cause)
	var e *Error
	if !errors.As(err, &e) || e.Op != "power_on" || e.Object != "west:web-01" || e.Kind != Transient || e.Err != cause {
		t.Fatalf("E built %#v", err)
	}
	if got, want := err.Error(), "power_on west:web-01: EOF"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if !errors.Is(err, io.EOF) {
		t.Error("errors.Is does not reach the cause")
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{E("connect", io.EOF), "connect: EOF"},
		{E(Permanent, io.EOF), "EOF"},
		{&Error{Object: "site west", Err: io.EOF}, "site west: EOF"},
		{E("lock"), "lock"},
		{E(Transient), "transient error"},
		{E(op("clone"), "web-01", io.EOF), "clone web-01: EOF"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%#v reads %q, want %q", c.err, got, c.want)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("E took an int")
			}
		}()
		E("op", 3)
	}()
}

type op string

func TestKindOf(t *testing.T) {
	transient := E("clone", "x", Transient, errors.New("busy"))
	for _, c := range []struct {
		name string
		err  error
		want Kind
	}{
		{"nil", nil, Other},
		{"plain", errors.New("x"), Other},
		{"marked", transient, Transient},
		{"wrapped by fmt", fmt.Errorf("step: %w", transient), Transient},
		{"the outermost kind wins", E("open", Permanent, transient), Permanent},
		{"an unkinded wrapper looks inside", E("open", "site west", transient), Transient},
		{"joined", errors.Join(errors.New("a"), transient), Transient},
		{"read-only", E("power_on", ReadOnlyViolation, errors.New("no")), ReadOnlyViolation},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), Canceled},
		{"deadline", context.DeadlineExceeded, Timeout},
		{"a kind given to a deadline", E("wait", Transient, context.DeadlineExceeded), Transient},
		{"a permanent deadline", E("clone", Permanent, context.DeadlineExceeded), Permanent},
		{"typed nil", error((*Error)(nil)), Other},
		{"Mark", Mark(errors.New("check failed"), Transient), Transient},
	} {
		if got := KindOf(c.err); got != c.want {
			t.Errorf("%s: KindOf = %v, want %v", c.name, got, c.want)
		}
		if got := Retryable(c.err); got != (c.want == Transient) {
			t.Errorf("%s: Retryable = %v", c.name, got)
		}
	}
	if Mark(nil, Transient) != nil {
		t.Error("Mark(nil) is not nil")
	}
	if m := Mark(errors.New("check failed"), Transient); m.Error() != "check failed" {
		t.Errorf("Mark changed the message: %q", m)
	}
	var e *Error
	if err := fmt.Errorf("x: %w", E("lock", ReadOnlyViolation, io.EOF)); !errors.As(err, &e) || e.Op != "lock" || !Is(ReadOnlyViolation, err) {
		t.Errorf("errors.As / Is do not find the *Error in %v", err)
	}
	if s := Kind(99).String(); !strings.Contains(s, "99") {
		t.Errorf("unknown kind reads %q", s)
	}
}
