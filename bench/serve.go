package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/f1fetch/f1fetch/plugin/mirror"
)

// serve is the mode `bench serve`: the benchmark's mirror alone, for
// profiling one contender by hand (see README.md).
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	testdata := fs.String("testdata", "", "shared/testdata directory")
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	modeFlag := fs.String("mode", "0", "latency mode, as in -modes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	md, err := parseMode(*modeFlag)
	if err != nil {
		return err
	}
	m, err := mirror.Start(mirror.Config{Root: *testdata, Addr: *addr, Aliases: map[string]string{"2025": "test"}, Faults: md.faults()})
	if err != nil {
		return err
	}
	defer m.Close()
	fmt.Println(m.URL)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	<-stop
	return nil
}
