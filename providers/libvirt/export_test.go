package libvirt

import (
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// WedgeDownloads makes the next n volume downloads deliver nothing, as a
// connection wedged by go-libvirt's defect does: the download's first
// write blocks until the test ends, which holds the connection's reader.
// Downloads stall after after instead of stallAfter. It returns how many
// downloads were wedged.
func WedgeDownloads(t testing.TB, n int32, after time.Duration) *atomic.Int32 {
	release := make(chan struct{})
	var wedged atomic.Int32
	oldFault, oldAfter := downloadFault, stallAfter
	downloadFault = func(w io.Writer) io.Writer {
		if wedged.Add(1) > n {
			wedged.Add(-1)
			return w
		}
		return wedgedWriter(release)
	}
	stallAfter = after
	t.Cleanup(func() {
		close(release)
		downloadFault, stallAfter = oldFault, oldAfter
	})
	return &wedged
}

// WedgeUploadEnds makes the next n volume uploads never return once
// every byte went through, as a call wedged at its end does, until the
// test ends; streams stall after after instead of stallAfter. It returns
// how many uploads were wedged.
func WedgeUploadEnds(t testing.TB, n int32, after time.Duration) *atomic.Int32 {
	release := make(chan struct{})
	var wedged atomic.Int32
	oldFault, oldAfter := uploadFault, stallAfter
	uploadFault = func(upload func() error) error {
		err := upload()
		if wedged.Add(1) > n {
			wedged.Add(-1)
			return err
		}
		<-release
		return errors.New("wedged")
	}
	stallAfter = after
	t.Cleanup(func() {
		close(release)
		uploadFault, stallAfter = oldFault, oldAfter
	})
	return &wedged
}

type wedgedWriter chan struct{}

func (w wedgedWriter) Write([]byte) (int, error) {
	<-w
	return 0, errors.New("wedged")
}
