package backoff

import (
	"context"
	"fmt"
	"log/slog"
)

// logBackoff and logGiveUp write python-backoff's two default messages,
// with the same words and levels, plus structured attributes.
func logBackoff[T any](l *slog.Logger, name string, ev *Event[T]) {
	if l == nil || !l.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	l.LogAttrs(context.Background(), slog.LevelInfo,
		fmt.Sprintf("Backing off %s(...) for %.1fs (%s)", opName(name), ev.Wait.Seconds(), detail(ev.Err, ev.Value)),
		eventAttrs(name, ev)...)
}

func logGiveUp[T any](l *slog.Logger, name string, ev *Event[T], last error) {
	if l == nil || !l.Enabled(context.Background(), slog.LevelError) {
		return
	}
	l.LogAttrs(context.Background(), slog.LevelError,
		fmt.Sprintf("Giving up %s(...) after %d tries (%s)", opName(name), ev.Tries, detail(last, ev.Value)),
		append(eventAttrs(name, ev), slog.String("reason", ev.Reason.String()))...)
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
	if ev.Err != nil {
		attrs = append(attrs, slog.String("error", ev.Err.Error()))
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
// predicate rejected.
func detail[T any](err error, v T) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprint(v)
}
