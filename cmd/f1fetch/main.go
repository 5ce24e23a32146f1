// Command f1fetch is the Benthos CLI with the core components, the f1fetch
// components (f1_fetch, f1_expand, f1_rows), the bundled sinks (kafka_franz,
// sql_insert) and the mirror server: `f1fetch run pipeline.yaml`,
// `f1fetch lint`, `f1fetch test`, `f1fetch mirror`, ...
package main

import (
	"context"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"

	_ "github.com/f1fetch/f1fetch/plugin/components"
	_ "github.com/f1fetch/f1fetch/plugin/sinks"
)

// Set by the linker: -ldflags "-X main.version=... -X main.dateBuilt=...".
var (
	version   = "dev"
	dateBuilt = "unknown"
)

func main() {
	service.RunCLI(context.Background(),
		service.CLIOptSetBinaryName("f1fetch"),
		service.CLIOptSetProductName("f1fetch"),
		service.CLIOptSetVersion(version, dateBuilt),
		service.CLIOptSetDocumentationURL("https://github.com/f1fetch/f1fetch"),
		service.CLIOptAddCommand(mirrorCommand()),
		service.CLIOptAddCommand(demoCommand()),
	)
}
