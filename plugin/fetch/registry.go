package fetch

import (
	"sync"

	"github.com/f1fetch/f1fetch/config"
	"github.com/f1fetch/f1fetch/plugin/cache"
)

// registry holds the clients shared by settings value, so that every
// component of a process with the same settings shares one limiter, one
// cache and one connection per source.
var registry = struct {
	sync.Mutex
	m map[string]*shared
}{m: make(map[string]*shared)}

type shared struct {
	client *Client
	refs   int
}

// Shared is a reference to a shared client; Release it once.
type Shared struct {
	*Client
	key  string
	once sync.Once
}

// Acquire returns the client shared by every caller with equal settings
// (Key, which names the persistent tier: s.CacheResource), creating it on
// first use over tier.
func Acquire(s config.Settings, tier cache.Tier) (*Shared, error) {
	key := s.Key()
	registry.Lock()
	defer registry.Unlock()
	if e, ok := registry.m[key]; ok {
		e.refs++
		return &Shared{Client: e.client, key: key}, nil
	}
	c, err := New(s, tier)
	if err != nil {
		return nil, err
	}
	registry.m[key] = &shared{client: c, refs: 1}
	return &Shared{Client: c, key: key}, nil
}

// Release drops this reference; the last one closes the client, leaving no
// connection behind and none of its goroutines but the timer of a breaker
// that opened, which go-resiliency cannot stop: it sleeps out
// breaker_timeout, holding only the breaker.
func (s *Shared) Release() {
	s.once.Do(func() {
		registry.Lock()
		e := registry.m[s.key]
		e.refs--
		last := e.refs == 0
		if last {
			delete(registry.m, s.key)
		}
		registry.Unlock()
		if last {
			_ = e.client.Close()
		}
	})
}
