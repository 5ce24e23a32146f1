package fetch

import (
	"errors"
	"net"
	"sync"
)

// connSet holds the TCP connections a source's transport has open, so that
// Close can close every one of them. CloseIdleConnections alone is not
// enough: it skips a connection whose last stream is still being torn down,
// and a stream cancelled once its body is read (see source.get) is
// forgotten by the transport asynchronously, just after FetchOne returns. A
// connection skipped then would live, with its reading goroutine, until
// IdleConnTimeout.
type connSet struct {
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool // closeAll ran: a dial finishing later is refused
}

// errClientClosed refuses a connection whose dial finished after Close.
var errClientClosed = errors.New("client closed")

// trackedConn is a TCP connection that leaves its set when closed. It sits
// under the TLS layer, so the transport still gets a *tls.Conn.
type trackedConn struct {
	net.Conn
	set *connSet
}

func (c *trackedConn) Close() error {
	c.set.mu.Lock()
	delete(c.set.conns, c)
	c.set.mu.Unlock()
	return c.Conn.Close()
}

func (s *connSet) track(c net.Conn) (net.Conn, error) {
	tc := &trackedConn{Conn: c, set: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = c.Close()
		return nil, errClientClosed
	}
	if s.conns == nil {
		s.conns = map[*trackedConn]struct{}{}
	}
	s.conns[tc] = struct{}{}
	return tc, nil
}

// closeAll closes every connection still open, and any dialled later; the
// transport's reading goroutines end on the read error.
func (s *connSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	open := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.mu.Unlock()
	for _, c := range open {
		_ = c.Close()
	}
}
