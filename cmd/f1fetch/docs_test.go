package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"
)

var update = flag.Bool("update", false, "rewrite docs/components.md from the component specs")

// documented are the components this project ships, in reading order.
var documented = []struct{ kind, name string }{
	{"input", "f1_fetch"},
	{"processor", "f1_fetch"},
	{"processor", "f1_expand"},
	{"processor", "f1_rows"},
	{"input", "kafka_franz"},
	{"output", "kafka_franz"},
	{"output", "sql_insert"},
}

// componentDocs renders the reference of every shipped component from its
// spec, so the documentation cannot drift from the fields.
func componentDocs(t *testing.T) []byte {
	env := service.GlobalEnvironment()
	var buf bytes.Buffer
	buf.WriteString("<!-- Generated from the component specs by `go test ./cmd/f1fetch -run TestComponentDocs -update`. Do not edit. -->\n\n# f1fetch component reference\n\n")
	for _, c := range documented {
		var view *service.ConfigView
		var ok bool
		switch c.kind {
		case "input":
			view, ok = env.GetInputConfig(c.name)
		case "processor":
			view, ok = env.GetProcessorConfig(c.name)
		case "output":
			view, ok = env.GetOutputConfig(c.name)
		}
		if !ok {
			t.Fatalf("%s %s is not registered", c.kind, c.name)
		}
		data, err := view.TemplateData()
		if err != nil {
			t.Fatalf("template data of %s %s: %v", c.kind, c.name, err)
		}
		writeComponent(&buf, c.kind, data)
	}
	return buf.Bytes()
}

// writeComponent renders one component: summary, description, fields and
// examples, as Markdown.
func writeComponent(buf *bytes.Buffer, kind string, d service.TemplateDataPlugin) {
	fmt.Fprintf(buf, "## %s `%s`\n\n%s\n\n%s\n\n", kind, d.Name, strings.TrimSpace(d.Summary), strings.TrimSpace(d.Description))
	fmt.Fprintf(buf, "```yaml\n# Common config fields\n%s```\n\n### Fields\n\n| field | type | default | description |\n|---|---|---|---|\n", d.CommonConfigYAML)
	for _, f := range d.Fields {
		def := f.DefaultMarshalled
		if def == "" {
			def = "(none)"
		}
		desc := strings.ReplaceAll(strings.TrimSpace(f.Description), "\n", " ")
		for _, o := range f.AnnotatedOptions {
			desc += fmt.Sprintf(" `%s`: %s", o[0], o[1])
		}
		if len(f.Options) > 0 {
			desc += " Options: `" + strings.Join(f.Options, "`, `") + "`."
		}
		fmt.Fprintf(buf, "| `%s` | %s | `%s` | %s |\n", f.FullName, f.Type, def, strings.ReplaceAll(desc, "|", "\\|"))
	}
	for _, e := range d.Examples {
		fmt.Fprintf(buf, "\n### Example: %s\n\n%s\n\n```yaml%s```\n", e.Title, strings.TrimSpace(e.Summary), e.Config)
	}
	buf.WriteString("\n")
}

func TestComponentDocs(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "components.md")
	got := componentDocs(t)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/components.md is out of date with the component specs: run `go test ./cmd/f1fetch -run TestComponentDocs -update` and commit it")
	}
}
