package components

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// A remote http:// base is refused at lint time unless allow_insecure_http
// allows it, by the three components that take the engine's fields; an
// allowed one builds. (F1FETCH_ALLOW_INSECURE_HTTP: in
// TestLintLeavesVariablesToTheBuild, and on the binary in tests/e2e.)
func TestRemoteHTTPLintFollowsAllowInsecureHTTP(t *testing.T) {
	const base = `"http://10.0.0.7:8080"`
	linter := service.GlobalEnvironment().NewComponentConfigLinter()
	for _, c := range []struct{ kind, name, fields string }{
		{"input", "f1_fetch", oneRequest},
		{"processor", "f1_fetch", ""},
		{"processor", "f1_expand", ""},
	} {
		t.Run(c.name+" "+c.kind, func(t *testing.T) {
			lint := func(extra string) string {
				yaml := c.name + ": { " + c.fields + extra + "base_urls: [ " + base + " ] }"
				lints, err := linter.LintYAML(c.kind, []byte(yaml))
				if err != nil {
					t.Fatalf("lint %s: %v", yaml, err)
				}
				var msgs []string
				for _, l := range lints {
					msgs = append(msgs, l.What)
				}
				return strings.Join(msgs, "; ")
			}
			if got := lint(""); !strings.Contains(got, "field base_urls: value "+base) {
				t.Errorf("without allow_insecure_http: lints %q, want one naming base_urls and %s", got, base)
			}
			if got := lint("allow_insecure_http: false, "); !strings.Contains(got, "field base_urls: value "+base) {
				t.Errorf("allow_insecure_http: false: lints %q, want one naming base_urls and %s", got, base)
			}
			if got := lint("allow_insecure_http: true, "); got != "" {
				t.Errorf("allow_insecure_http: true: lints %q, want none", got)
			}
			allowed := c.name + ": { " + c.fields + "allow_insecure_http: true, base_urls: [ " + base + " ] }"
			sb := service.NewStreamBuilder()
			add := sb.AddProcessorYAML
			if c.kind == "input" {
				add = sb.AddInputYAML
			}
			if err := add(allowed); err != nil {
				t.Errorf("allow_insecure_http: true: %v", err)
			}
		})
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1h", time.Minute: "1m", 5 * time.Minute: "5m", 30 * time.Second: "30s",
		90 * time.Minute: "1h30m", time.Hour + time.Second: "1h0m1s", 1500 * time.Millisecond: "1.5s", 0: "0s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// The lint rule and the build agree on which http:// bases are loopback:
// lint refuses exactly the remote http:// bases building refuses, whatever
// the spelling of the scheme or host.
func TestRemoteHTTPLintAgreesWithTheBuild(t *testing.T) {
	linter := service.GlobalEnvironment().NewComponentConfigLinter()
	for base, loopback := range map[string]bool{
		"http://127.0.0.1:8080":                              true,
		"http://127.0.0.1":                                   true,
		"http://127.9.8.7:1/mirror":                          true,
		"http://localhost:8080":                              true,
		"http://LocalHost:8080":                              true,
		"HTTP://127.0.0.1:8080":                              true,
		"http://[::1]:8080":                                  true,
		"http://[0:0:0:0:0:0:0:1]:8080":                      true,
		"http://[::ffff:127.0.0.1]:8080":                     true,
		"http://user:pw@127.0.0.1:8080":                      true,
		"http://127.0.0.1:8080/{year}/{gp}/{session}/{path}": true,
		"http://[::ffff:7f00:1]:8080":                        true,
		"http://[0:0::FFFF:7F01:0203]":                       true,
		"http://[::0.0.0.1]:8080":                            true,
		"http://[0:0:0:0:0:0:0.0.0.1]":                       true,
		"http://user:p@ss@127.0.0.1:8080":                    true,
		"http://a@b@localhost/{year}/{gp}/{session}/{path}":  true,
		"http://[::ffff:7f:1]:8080":                          false,
		"http://[::ffff:0.0.0.1]:8080":                       false,
		"http://a@127.0.0.1@10.0.0.7:8080":                   false,
		"http://[::1]:8080@10.0.0.7":                         false,
		"http://10.0.0.7:8080":                               false,
		"HTTP://10.0.0.7:8080":                               false,
		"http://localhost.example.com":                       false,
		"http://127.0.0.1.example.com":                       false,
		"http://[::2]:8080":                                  false,
		"http://user@10.0.0.7:8080":                          false,
		"http://localhost@10.0.0.7:8080":                     false,
		"http://[::ffff:10.0.0.7]:8080":                      false,
		"http://example.com/127.0.0.1:80/":                   false,
	} {
		yaml := fmt.Sprintf("f1_expand: { base_urls: [ %q ] }", base)
		lints, err := linter.LintYAML("processor", []byte(yaml))
		if err != nil {
			t.Fatalf("lint %s: %v", yaml, err)
		}
		// Built without lint, as by the constructor: config's own check.
		conf, err := expandProcessorSpec().ParseYAML(fmt.Sprintf("base_urls: [ %q ]", base), nil)
		if err != nil {
			t.Fatal(err)
		}
		eng, buildErr := newEngine(conf, service.MockResources())
		if buildErr == nil {
			eng.close()
		}
		if len(lints) > 0 == loopback || (buildErr != nil) == loopback {
			t.Errorf("%s (loopback %v): lints %v, build %v; want both to %s it", base, loopback, lints, buildErr, map[bool]string{true: "take", false: "refuse"}[loopback])
		}
	}
}
