package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/f1fetch/f1fetch/plugin/mirror"
)

// mirrorCommand is `f1fetch mirror`: a local CDN for air-gapped sites, CI
// and tests, serving a directory in the jsDelivr and raw GitHub layouts.
func mirrorCommand() *cli.Command {
	return &cli.Command{
		Name:  "mirror",
		Usage: "Serve a directory as a TracingInsights CDN over HTTP/2, with optional fault injection",
		Description: "Requests /{year}@{ref}/{gp}/{session}/{path} and /{year}/{ref}/... are served from\n" +
			"{root}/{year}@{ref}/..., or {root}/{year}/... when ref is main. Control endpoints:\n" +
			"/_mirror/faults (GET, PUT), /_mirror/counters (GET, DELETE), /_mirror/health.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Usage: "directory to serve", Required: true},
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen address"},
			&cli.BoolFlag{Name: "tls", Usage: "serve https (ALPN h2); without it, h2c and HTTP/1.1 on http"},
			&cli.StringFlag{Name: "cert", Usage: "TLS certificate PEM (default: a generated self-signed one)"},
			&cli.StringFlag{Name: "key", Usage: "TLS key PEM, with --cert"},
			&cli.StringFlag{Name: "write-ca", Usage: "write the certificate clients must trust to this file (with --tls)"},
			&cli.StringSliceFlag{Name: "alias", Usage: "year=folder, serve a year from another folder (repeatable), e.g. 2025=test"},
			&cli.BoolFlag{Name: "no-cache", Usage: "read files on every request instead of keeping them in memory"},
			&cli.BoolFlag{Name: "no-control", Usage: "disable the /_mirror/ control endpoints"},
			&cli.IntFlag{Name: "max-streams", Usage: "HTTP/2 max concurrent streams per connection (0: default)"},
			&cli.BoolFlag{Name: "log", Usage: "log every request to stderr"},
			&cli.Uint64Flag{Name: "seed", Usage: "fault RNG seed, for reproducible faults (0: from the clock)"},
			&cli.StringFlag{Name: "faults", Usage: "JSON file of fault rules, as PUT to /_mirror/faults; on the paths a rule of it matches, its rule applies and the fault flags below do not"},
			&cli.DurationFlag{Name: "latency", Usage: "fixed added latency"},
			&cli.DurationFlag{Name: "jitter", Usage: "plus a uniform random latency up to this"},
			&cli.DurationFlag{Name: "lognormal-median", Usage: "plus a lognormal latency with this median"},
			&cli.Float64Flag{Name: "lognormal-sigma", Usage: "sigma of the lognormal latency, e.g. 0.5"},
			&cli.Float64Flag{Name: "fail-rate", Usage: "fraction of requests answered --fail-status"},
			&cli.IntFlag{Name: "fail-status", Value: 503, Usage: "status of --fail-rate answers"},
			&cli.Float64Flag{Name: "rate-429", Usage: "fraction of requests answered 429 with Retry-After"},
			&cli.IntFlag{Name: "retry-after", Usage: "Retry-After seconds on 429 and 503 (429 default: 1)"},
			&cli.Float64Flag{Name: "quota-rps", Usage: "at most this many requests per second, the excess answered 429"},
		},
		Action: runMirror,
	}
}

func runMirror(c *cli.Context) error {
	cfg, err := mirrorConfig(c)
	if err != nil {
		return err
	}
	running, err := mirror.Start(cfg)
	if err != nil {
		return err
	}
	if path := c.String("write-ca"); path != "" {
		if err := running.WriteCA(path); err != nil {
			running.Close()
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "f1fetch mirror: serving %s at %s\n", cfg.Root, running.URL)
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-running.Err():
		running.Close()
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return running.Shutdown(shutdown)
}

func mirrorConfig(c *cli.Context) (mirror.Config, error) {
	// The mirror takes flags only. An argument was ignored without a word,
	// and so was every flag after it: flag parsing stops at an argument.
	if c.Args().Present() {
		return mirror.Config{}, fmt.Errorf("mirror takes no arguments, got %q (flags after an argument are not read as flags)", c.Args().Slice())
	}
	cfg := mirror.Config{
		Root:                 c.String("root"),
		Addr:                 c.String("addr"),
		TLS:                  c.Bool("tls"),
		CertFile:             c.String("cert"),
		KeyFile:              c.String("key"),
		MaxConcurrentStreams: c.Int("max-streams"),
		NoCache:              c.Bool("no-cache"),
		DisableControl:       c.Bool("no-control"),
		Seed:                 c.Uint64("seed"),
		Aliases:              map[string]string{},
	}
	if err := mirror.CheckMaxStreams(cfg.MaxConcurrentStreams); err != nil {
		return cfg, fmt.Errorf("--max-streams %d: %w", cfg.MaxConcurrentStreams, err)
	}
	if !cfg.TLS && (cfg.CertFile != "" || cfg.KeyFile != "" || c.String("write-ca") != "") {
		return cfg, errors.New("--cert, --key and --write-ca need --tls")
	}
	if c.Bool("log") {
		cfg.Log = os.Stderr
	}
	for _, a := range c.StringSlice("alias") {
		year, folder, ok := strings.Cut(a, "=")
		if !ok {
			return cfg, fmt.Errorf("--alias %q: want year=folder", a)
		}
		cfg.Aliases[year] = folder
	}
	if path := c.String("faults"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return cfg, fmt.Errorf("--faults: %w", err)
		}
		cfg.Faults, err = mirror.DecodeFaults(f)
		f.Close()
		if err != nil {
			return cfg, fmt.Errorf("--faults %s: %w", path, err)
		}
	}
	ms := func(name string) float64 { return float64(c.Duration(name)) / float64(time.Millisecond) }
	failRate, failStatus := c.Float64("fail-rate"), c.Int("fail-status")
	rule := mirror.Rule{
		LatencyMS:         ms("latency"),
		JitterMS:          ms("jitter"),
		LognormalMedianMS: ms("lognormal-median"),
		LognormalSigma:    c.Float64("lognormal-sigma"),
		Status429Rate:     c.Float64("rate-429"),
		RetryAfterS:       c.Int("retry-after"),
		QuotaRPS:          c.Float64("quota-rps"),
	}
	// Each flag is checked alone in a rule, by the rules' own Validate, so
	// that the error names the flag and its value, not only the field it
	// sets (--fail-rate NaN, never > 0, used to turn the fault off without
	// a word). Checked whether or not it is used: a negative value is a
	// mistake, not a way of turning a fault off.
	for _, f := range []struct {
		flag  string
		value any
		rule  mirror.Rule
	}{
		{"latency", c.Duration("latency"), mirror.Rule{LatencyMS: rule.LatencyMS}},
		{"jitter", c.Duration("jitter"), mirror.Rule{JitterMS: rule.JitterMS}},
		{"lognormal-median", c.Duration("lognormal-median"), mirror.Rule{LognormalMedianMS: rule.LognormalMedianMS}},
		{"lognormal-sigma", rule.LognormalSigma, mirror.Rule{LognormalSigma: rule.LognormalSigma}},
		{"fail-status", failStatus, mirror.Rule{StatusRate: map[int]float64{failStatus: 0}}},
		{"fail-rate", failRate, mirror.Rule{StatusRate: map[int]float64{failStatus: failRate}}},
		{"rate-429", rule.Status429Rate, mirror.Rule{Status429Rate: rule.Status429Rate}},
		{"retry-after", rule.RetryAfterS, mirror.Rule{RetryAfterS: rule.RetryAfterS}},
		{"quota-rps", rule.QuotaRPS, mirror.Rule{QuotaRPS: rule.QuotaRPS}},
	} {
		if err := f.rule.Validate(); err != nil {
			return cfg, fmt.Errorf("--%s %v: %w", f.flag, f.value, err)
		}
	}
	if failRate > 0 {
		rule.StatusRate = map[int]float64{failStatus: failRate}
	}
	// Each flag is fine alone: what is left to refuse is --fail-rate plus
	// --rate-429 above 1.
	if err := rule.Validate(); err != nil {
		return cfg, fmt.Errorf("--fail-rate %v with --rate-429 %v: %w", failRate, rule.Status429Rate, err)
	}
	// A flag that changes nothing without its partner is a mistake too.
	if c.IsSet("fail-status") && failRate == 0 {
		return cfg, fmt.Errorf("--fail-status %d: it is the status of --fail-rate answers; set --fail-rate too", failStatus)
	}
	if c.IsSet("lognormal-sigma") && rule.LognormalMedianMS == 0 {
		return cfg, fmt.Errorf("--lognormal-sigma %v: set --lognormal-median too", rule.LognormalSigma)
	}
	if rule.LatencyMS > 0 || rule.JitterMS > 0 || rule.LognormalMedianMS > 0 || rule.StatusRate != nil ||
		rule.Status429Rate > 0 || rule.QuotaRPS > 0 || rule.RetryAfterS > 0 {
		// After the file's rules: those name paths, this one is the
		// catch-all, and the first rule that matches a path is its rule.
		cfg.Faults.Rules = append(cfg.Faults.Rules, rule)
	}
	return cfg, nil
}
