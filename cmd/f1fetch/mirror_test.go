package main

import (
	"io"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/f1fetch/f1fetch/plugin/mirror"
)

// mirrorConfigOf parses args as `f1fetch mirror --root DIR args...` and
// returns the config the command would serve, without serving it.
func mirrorConfigOf(t *testing.T, args ...string) (mirror.Config, error) {
	t.Helper()
	cmd := mirrorCommand()
	var cfg mirror.Config
	cmd.Action = func(c *cli.Context) (err error) {
		cfg, err = mirrorConfig(c)
		return err
	}
	app := &cli.App{Name: "f1fetch", Commands: []*cli.Command{cmd}, Writer: io.Discard, ErrWriter: io.Discard}
	err := app.Run(append([]string{"f1fetch", "mirror", "--root", t.TempDir()}, args...))
	return cfg, err
}

// Every fault flag out of its range is refused with an error naming the
// flag and its value. --fail-rate NaN was taken as no fault (NaN > 0 is
// false) and the mirror answered 200; the others named only the rule's
// field.
func TestMirrorRefusesFaultFlagsOutOfRange(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--fail-rate", "NaN"}, "--fail-rate NaN: "},
		{[]string{"--fail-rate", "+Inf"}, "--fail-rate +Inf: "},
		{[]string{"--fail-rate", "1.5"}, "--fail-rate 1.5: "},
		{[]string{"--fail-rate", "-0.5"}, "--fail-rate -0.5: "},
		{[]string{"--fail-rate", "0.5", "--fail-status", "200"}, "--fail-status 200: "},
		{[]string{"--fail-rate", "0.7", "--rate-429", "0.5"}, "--fail-rate 0.7 with --rate-429 0.5: "},
		{[]string{"--rate-429", "NaN"}, "--rate-429 NaN: "},
		{[]string{"--rate-429", "-Inf"}, "--rate-429 -Inf: "},
		{[]string{"--rate-429", "2"}, "--rate-429 2: "},
		{[]string{"--lognormal-median", "10ms", "--lognormal-sigma", "NaN"}, "--lognormal-sigma NaN: "},
		{[]string{"--lognormal-median", "10ms", "--lognormal-sigma", "Inf"}, "--lognormal-sigma +Inf: "},
		{[]string{"--lognormal-median", "10ms", "--lognormal-sigma", "-1"}, "--lognormal-sigma -1: "},
		{[]string{"--quota-rps", "NaN"}, "--quota-rps NaN: "},
		{[]string{"--quota-rps", "Inf"}, "--quota-rps +Inf: "},
		{[]string{"--quota-rps", "-3"}, "--quota-rps -3: "},
		{[]string{"--quota-rps", "1e-12"}, "--quota-rps 1e-12: "},
		{[]string{"--latency", "-5s"}, "--latency -5s: "},
		{[]string{"--latency", "25h"}, "--latency 25h0m0s: "},
		{[]string{"--jitter", "25h"}, "--jitter 25h0m0s: "},
		{[]string{"--lognormal-median", "25h"}, "--lognormal-median 25h0m0s: "},
		{[]string{"--retry-after", "86401"}, "--retry-after 86401: "},
		{[]string{"--retry-after", "-1"}, "--retry-after -1: "},
	} {
		if cfg, err := mirrorConfigOf(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v (faults %+v), want an error saying %q", c.args, err, cfg.Faults, c.want)
		}
	}
}

// The bounds are inclusive, and the flags make the catch-all rule.
func TestMirrorFaultFlagsInRange(t *testing.T) {
	cfg, err := mirrorConfigOf(t, "--fail-rate", "0.5", "--fail-status", "502", "--rate-429", "0.5",
		"--latency", "24h", "--retry-after", "86400", "--quota-rps", "2e-5", "--lognormal-median", "1ms", "--lognormal-sigma", "0")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Faults.Rules) != 1 {
		t.Fatalf("rules %+v, want one", cfg.Faults.Rules)
	}
	r := cfg.Faults.Rules[0]
	if r.StatusRate[502] != 0.5 || r.Status429Rate != 0.5 || r.LatencyMS != 86400000 || r.RetryAfterS != 86400 || r.QuotaRPS != 2e-5 {
		t.Errorf("rule %+v", r)
	}
	if cfg, err := mirrorConfigOf(t); err != nil || len(cfg.Faults.Rules) != 0 {
		t.Errorf("no fault flags: rules %+v, %v; want none", cfg.Faults.Rules, err)
	}
}

// --max-streams past 32 bits is refused naming the flag and the value:
// net/http cut it to 32 bits, so 4294967296 served its default.
func TestMirrorRefusesMaxStreamsPast32Bits(t *testing.T) {
	for _, n := range []string{"4294967296", "4294967297", "-1"} {
		if _, err := mirrorConfigOf(t, "--max-streams", n); err == nil || !strings.Contains(err.Error(), "--max-streams "+n+": ") {
			t.Errorf("--max-streams %s: %v, want an error naming the flag and the value", n, err)
		}
	}
	if cfg, err := mirrorConfigOf(t, "--max-streams", "4294967295"); err != nil || cfg.MaxConcurrentStreams != 4294967295 {
		t.Errorf("--max-streams 4294967295: %d, %v", cfg.MaxConcurrentStreams, err)
	}
}

// An argument is refused, not ignored with every flag after it (flag
// parsing stops at the first argument): `--root d extra --fail-rate 0.5`
// served d without the fault.
func TestMirrorRefusesArguments(t *testing.T) {
	for _, args := range [][]string{
		{"extra"},
		{"./data"},
		{"extra", "--fail-rate", "0.5"},
		{"--latency", "5ms", "--", "more"},
	} {
		if cfg, err := mirrorConfigOf(t, args...); err == nil || !strings.Contains(err.Error(), "mirror takes no arguments") ||
			!strings.Contains(err.Error(), args[len(args)-1]) {
			t.Errorf("%q: %v (faults %+v), want an error naming the arguments", args, err, cfg.Faults)
		}
	}
}
