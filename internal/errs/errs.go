package errs

import (
	"context"
	"errors"
	"fmt"
	"reflect"
)

// Kind is the class of a failure.
type Kind uint8

// Kinds of failure.
const (
	// Other is a failure not classified: KindOf looks further down the
	// chain, and an error of no other kind is not retried.
	Other Kind = iota
	// Permanent failures will fail again: bad input, missing objects,
	// refused permissions, an object in the wrong state.
	Permanent
	// Transient failures may pass on a retry: connection trouble, a busy
	// object, a server-side hiccup, a check that does not pass yet.
	Transient
	// ReadOnlyViolation is a mutating call on a site opened read-only (a
	// drill's protected site).
	ReadOnlyViolation
	// Canceled is work cut short by its caller (context.Canceled).
	Canceled
	// Timeout is work whose time ran out (context.DeadlineExceeded) that
	// no one classified otherwise. It is not retried: a provider that
	// deems a timed-out call worth another try says Transient.
	Timeout
)

func (k Kind) String() string {
	switch k {
	case Other:
		return "other"
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	case ReadOnlyViolation:
		return "read-only violation"
	case Canceled:
		return "canceled"
	case Timeout:
		return "timeout"
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is a failure of an operation on an object.
type Error struct {
	Op     string // "clone", "power_on", "lock", …
	Object string // the VM or object acted on: "west:drplan-replicas/web-01"
	Kind   Kind
	Err    error // the cause
}

// Error reads "op object: cause", leaving out what is empty.
func (e *Error) Error() string {
	if e == nil {
		return "<nil>"
	}
	var s string
	switch {
	case e.Op != "" && e.Object != "":
		s = e.Op + " " + e.Object
	case e.Op != "":
		s = e.Op
	default:
		s = e.Object
	}
	switch {
	case e.Err == nil:
		if s == "" {
			return e.Kind.String() + " error"
		}
		return s
	case s == "":
		return e.Err.Error()
	}
	return s + ": " + e.Err.Error()
}

// Unwrap is the cause; nil for a nil *Error.
func (e *Error) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// E builds an *Error of an operation, an object, a kind and a cause.
// Its arguments, each optional, are told apart by their types:
//
//	string  the Op (the first string), then the Object (a named
//	        string type counts as a string)
//	Kind    the Kind
//	error   the cause
//
// An argument of any other type, or a third string, panics: E is called
// with constants and errors the caller has in hand.
func E(args ...any) error {
	e := &Error{}
	strs := 0
	for _, a := range args {
		if v := reflect.ValueOf(a); v.Kind() == reflect.String && v.Type() != reflect.TypeFor[string]() {
			a = v.String() // a named string type: an op or object still
		}
		switch a := a.(type) {
		case string:
			switch strs {
			case 0:
				e.Op = a
			case 1:
				e.Object = a
			default:
				panic(fmt.Sprintf("errs.E: a third string %q", a))
			}
			strs++
		case Kind:
			e.Kind = a
		case error:
			e.Err = a
		case nil:
		default:
			panic(fmt.Sprintf("errs.E: an argument of type %T", a))
		}
	}
	return e
}

// Mark gives err a kind and nothing else: its message stays as it is.
// Mark(nil, k) is nil.
func Mark(err error, k Kind) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Err: err}
}

// KindOf says what kind of failure err is: the Kind of the outermost
// *Error in its chain whose Kind is not Other, else Canceled or Timeout
// for the context's errors, else Other. Nil is Other.
func KindOf(err error) Kind {
	if k := marked(err, 0); k != Other {
		return k
	}
	switch {
	case err == nil:
		return Other
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return Timeout
	}
	return Other
}

// marked is the Kind of the outermost *Error of a kind in err's tree.
func marked(err error, depth int) Kind {
	if err == nil || depth > 100 {
		return Other
	}
	if x, ok := err.(*Error); ok {
		if x == nil {
			return Other
		}
		if x.Kind != Other {
			return x.Kind
		}
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return marked(u.Unwrap(), depth+1)
	case interface{ Unwrap() []error }:
		for _, c := range u.Unwrap() {
			if k := marked(c, depth+1); k != Other {
				return k
			}
		}
	}
	return Other
}

// Is reports whether err is of kind k.
func Is(k Kind, err error) bool { return KindOf(err) == k }

// Retryable reports whether another try of what failed with err may
// pass: whether it is Transient. This is the one place that decides.
func Retryable(err error) bool { return KindOf(err) == Transient }
