package sinks

import (
	"fmt"

	"github.com/redpanda-data/benthos/v4/public/service"
)

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
