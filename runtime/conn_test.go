package runtime

import (
	"io"
	"net"
	"testing"
)

// TestWrappersKeepCopyFastPaths: the wrappers the dialer may return pass
// io.Copy through to the underlying connection both ways.
func TestWrappersKeepCopyFastPaths(t *testing.T) {
	for _, c := range []net.Conn{&bufferedConn{}, &optimisticConn{}} {
		if _, ok := c.(io.ReaderFrom); !ok {
			t.Errorf("%T has no ReadFrom", c)
		}
		if _, ok := c.(io.WriterTo); !ok {
			t.Errorf("%T has no WriteTo", c)
		}
	}
}
