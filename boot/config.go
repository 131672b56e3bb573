package boot

import (
	"errors"
	"fmt"
	"time"
)

// FieldError is a problem with one field of a server's Config (and the
// flag that sets it, when one does).
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the problem.
func (e *FieldError) Unwrap() error { return e.Err }

// Limit is one bound of a server's Config: its field's name, where it is
// and its default.
type Limit[T int | int64 | time.Duration] struct {
	Field   string
	Value   *T
	Default T
}

// ApplyLimits fills each zero bound with its default and reports every
// negative one as a FieldError.
func ApplyLimits[T int | int64 | time.Duration](limits ...Limit[T]) error {
	var errs []error
	for _, l := range limits {
		if *l.Value == 0 {
			*l.Value = l.Default
		}
		if *l.Value < 0 {
			errs = append(errs, &FieldError{l.Field, fmt.Errorf("%v: must be positive", *l.Value)})
		}
	}
	return errors.Join(errs...)
}
