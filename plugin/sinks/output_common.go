package sinks

import (
	"fmt"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// batchedOutput is the constructor of a batched output of this package, for
// service.RegisterBatchOutput: newOut, then its batching policy and
// max_in_flight (batchOutput).
func batchedOutput[O service.BatchOutput](newOut func(*service.ParsedConfig, *service.Resources) (O, error), batchingField, maxInFlightField string) func(*service.ParsedConfig, *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
	return func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
		out, err := newOut(conf, mgr)
		if err != nil {
			return nil, service.BatchPolicy{}, 0, err
		}
		return batchOutput(conf, out, batchingField, maxInFlightField)
	}
}

// batchOutput reads the batching policy and max_in_flight every batched
// output of this package has, and returns them with out for
// service.RegisterBatchOutput.
func batchOutput(conf *service.ParsedConfig, out service.BatchOutput, batchingField, maxInFlightField string) (service.BatchOutput, service.BatchPolicy, int, error) {
	policy, err := conf.FieldBatchPolicy(batchingField)
	if err != nil {
		return nil, service.BatchPolicy{}, 0, err
	}
	maxInFlight, err := conf.FieldMaxInFlight()
	if err != nil {
		return nil, service.BatchPolicy{}, 0, err
	}
	if maxInFlight < 1 {
		return nil, service.BatchPolicy{}, 0, fmt.Errorf("field %s: must be at least 1, got %d", maxInFlightField, maxInFlight)
	}
	return out, policy, maxInFlight, nil
}
