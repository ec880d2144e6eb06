// Package permanent is codeverify's one error taxonomy: an error marked permanent can never succeed
// (bad input, an unknown problem, a row the database refuses for its content), so the stage that
// meets it dead-letters its input with the error as the reason; any other error is transient and is
// retried with backoff. Processors mark their own errors here — they know which ones are permanent
// and import nothing of Kafka — and the stream runner reads the mark.
package permanent

import (
	"errors"
	"strings"
)

type markedError struct{ err error }

// Error is the dead-letter reason: the cause with one "permanent: " prefix (none added to a message
// that starts with "permanent" already).
func (e *markedError) Error() string {
	msg := e.err.Error()
	if msg == "permanent" || strings.HasPrefix(msg, "permanent:") {
		return msg
	}
	return "permanent: " + msg
}

func (e *markedError) Unwrap() error { return e.err }

// Mark marks err as permanent; nil stays nil and a marked error is returned as it is.
func Mark(err error) error {
	if err == nil || Is(err) {
		return err
	}
	return &markedError{err}
}

// New is a permanent sentinel error: wrap it (fmt.Errorf("%w: …", sentinel)) to add detail; what
// wraps it is permanent too.
func New(msg string) error { return &markedError{errors.New(msg)} }

// Is reports whether err, or an error it wraps, is permanent.
func Is(err error) bool {
	var m *markedError
	return errors.As(err, &m)
}
