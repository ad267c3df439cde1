package command

import (
	"os"

	"github.com/drplan/drplan/internal/fsutil"
)

// writeOutput writes a file the operator named (report -o, sim serve
// -state, plan -out): - is standard output, any other name goes through
// fsutil.WriteFile, the one writer of drplan's files (see its rules:
// atomic for regular files, through symbolic links, directly to devices
// and FIFOs, never over a directory).
func (c *cli) writeOutput(name string, data []byte, perm os.FileMode) error {
	if name == "-" {
		_, err := c.stdout.Write(data)
		return err
	}
	return fsutil.WriteFile(name, data, perm)
}
