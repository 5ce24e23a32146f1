package fetch

import "context"

// Gate admits HTTP attempts one at a time, for example a rate limit shared
// by several pipeline components. Wait returns nil when one attempt may
// start, or an error when it may not (ctx ended, the limit failed).
type Gate interface {
	Wait(ctx context.Context) error
}

type gateKey struct{}

// WithGate returns a context under which every HTTP attempt of a fetch,
// retries included, first waits on g. It waits before taking a slot of the
// in-flight limit, so waiting on g never holds a slot. The client is shared
// by settings while a gate belongs to one caller, which is why the gate
// travels with the call. Cache hits pass no gate; a request coalesced with
// an identical one in flight is paced by the gate of the call that started
// it.
func WithGate(ctx context.Context, g Gate) context.Context {
	if g == nil {
		return ctx
	}
	return context.WithValue(ctx, gateKey{}, g)
}

func gateOf(ctx context.Context) Gate {
	g, _ := ctx.Value(gateKey{}).(Gate)
	return g
}
