package libvirt_test

import (
	"os"
	"testing"

	"github.com/drplan/drplan/providers/libvirt/libvirttest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	libvirttest.Stop()
	os.Exit(code)
}
