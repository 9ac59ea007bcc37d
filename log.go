package backoff

import (
	"context"
	"fmt"
	"log/slog"
)

// logBackoff and logGiveUp write python-backoff's two default messages,
// with the same words and levels, plus structured attributes. A user's
// error whose Error method panics is printed as fmt prints it, and the
// panic is reported once per record.
func logBackoff[T any](e *env, l *slog.Logger, name string, ev *Event[T]) {
	if l == nil || !l.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	text, bad := detail(ev.Err, ev.Value)
	attrs := eventAttrs(name, ev)
	if ev.Err != nil {
		attrs = append(attrs, slog.String("error", text))
	}
	if bad {
		e.panicked()
	}
	l.LogAttrs(context.Background(), slog.LevelInfo,
		fmt.Sprintf("Backing off %s(...) for %.1fs (%s)", opName(name), ev.Wait.Seconds(), text), attrs...)
}

func logGiveUp[T any](e *env, l *slog.Logger, name string, ev *Event[T], last error) {
	if l == nil || !l.Enabled(context.Background(), slog.LevelError) {
		return
	}
	text, bad := detail(last, ev.Value)
	if bad {
		e.panicked()
	}
	attrs := append(eventAttrs(name, ev), slog.String("reason", ev.Reason.String()))
	if ev.Err != nil {
		attrs = append(attrs, slog.String("error", ev.Err.Error())) // a *GiveUpError, whose Error cannot panic
	}
	l.LogAttrs(context.Background(), slog.LevelError,
		fmt.Sprintf("Giving up %s(...) after %d tries (%s)", opName(name), ev.Tries, text), attrs...)
}

func eventAttrs[T any](name string, ev *Event[T]) []slog.Attr {
	attrs := []slog.Attr{
		slog.String("op", opName(name)),
		slog.Int("tries", ev.Tries),
		slog.Duration("elapsed", ev.Elapsed),
	}
	if ev.Kind == EventBackoff {
		attrs = append(attrs, slog.Duration("wait", ev.Wait))
	}
	if ev.ID != 0 {
		attrs = append(attrs, slog.Uint64("id", ev.ID))
	}
	if ev.Key != "" {
		attrs = append(attrs, slog.String("key", ev.Key))
	}
	return attrs
}

func opName(name string) string {
	if name == "" {
		return "op"
	}
	return name
}

// detail is python-backoff's parenthesised tail: the error, or the value a
// predicate rejected. bad reports an Error method that panicked.
func detail[T any](err error, v T) (text string, bad bool) {
	if err != nil {
		return errText(err)
	}
	return fmt.Sprint(v), false
}
