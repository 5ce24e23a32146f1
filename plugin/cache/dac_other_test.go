//go:build !linux

package cache

import "testing"

// withoutDAC is Linux only: elsewhere root cannot be held to file
// permissions this way.
func withoutDAC(*testing.T) (restore func(), ok bool) { return nil, false }
