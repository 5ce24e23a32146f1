package fetch

import (
	"context"
	"errors"
	"time"

	"github.com/f1fetch/f1fetch/plugin/cache"
)

// observedTier tells the client's observers of every failure of a
// persistent tier other than a miss or the caller's cancellation, and
// returns it: the client then asks the network, or keeps the document in
// memory, so nothing is lost, but a cache that stopped answering (a
// cache_dir on a full or unmounted disk, a cache resource whose backend is
// down) must not go unnoticed.
type observedTier struct {
	cache.Tier
	c *Client
}

func (t observedTier) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := t.Tier.Get(ctx, key)
	if err != nil && !errors.Is(err, cache.ErrMiss) && ctx.Err() == nil {
		t.c.notifyTierError(err)
	}
	return v, err
}

func (t observedTier) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	err := t.Tier.Set(ctx, key, value, ttl)
	if err != nil && ctx.Err() == nil {
		t.c.notifyTierError(err)
	}
	return err
}
