package fetch

import (
	"errors"
	"io"
	"net"
	"testing"
)

// TestConnSetClosesWhatItHolds: closeAll closes the connections still open,
// forgets those closed before, and refuses one dialled after it.
func TestConnSetClosesWhatItHolds(t *testing.T) {
	var s connSet
	a1, b1 := net.Pipe()
	a2, b2 := net.Pipe()
	defer b1.Close()
	defer b2.Close()
	c1, err := s.track(a1)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := s.track(a2)
	if err != nil {
		t.Fatal(err)
	}
	_ = c2.Close() // the transport closed this one itself
	if len(s.conns) != 1 {
		t.Fatalf("%d connections held, want 1 after one was closed", len(s.conns))
	}
	s.closeAll()
	if _, err := c1.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("write on a connection closeAll closed: %v, want %v", err, io.ErrClosedPipe)
	}
	a3, b3 := net.Pipe()
	defer b3.Close()
	if _, err := s.track(a3); !errors.Is(err, errClientClosed) {
		t.Fatalf("track after closeAll: %v, want %v", err, errClientClosed)
	}
	if _, err := a3.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("write on a connection refused after closeAll: %v, want %v", err, io.ErrClosedPipe)
	}
}
