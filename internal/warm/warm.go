package warm

import (
	_ "github.com/eapache/go-resiliency/breaker"
	_ "github.com/eapache/go-resiliency/retrier"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/patrickmn/go-cache"
	_ "github.com/segmentio/encoding/json"
	_ "github.com/twmb/franz-go/pkg/kfake"
	_ "github.com/twmb/franz-go/pkg/kgo"
	_ "github.com/twmb/franz-go/pkg/sasl/scram"
	_ "golang.org/x/net/http2"
	_ "modernc.org/sqlite"
)
