package command

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// versionInfo is what drplan version prints, read from the build
// information the Go toolchain embeds in the binary.
type versionInfo struct {
	Version      string `json:"version"`       // module version; "dev" for a build from a work tree
	Revision     string `json:"revision"`      // VCS revision, "" when not recorded
	RevisionTime string `json:"revision_time"` // commit time, RFC 3339, "" when not recorded
	Modified     bool   `json:"modified"`      // the work tree had uncommitted changes
	Go           string `json:"go"`            // Go version that built the binary
	Platform     string `json:"platform"`      // GOOS/GOARCH
}

func buildVersion() versionInfo {
	v := versionInfo{Version: "dev", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
		v.Version = mv
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.RevisionTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func runVersion(c *cli, args []string) int {
	f := c.newFlags("version", "[-json]", "Prints the drplan version (\"dev\" for a build from a work tree), the VCS\nrevision it was built from when recorded, the Go version and the platform.")
	f.BoolVar(&f.json, "json", false, "print one JSON object: version, revision, revision_time, modified, go, platform")
	if _, code, ok := c.parse(f, args, 0); !ok {
		return code
	}
	v := buildVersion()
	if f.json {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			fmt.Fprintf(c.stderr, "drplan version: %v\n", err)
			return ExitError
		}
		fmt.Fprintf(c.stdout, "%s\n", b)
		return ExitOK
	}
	fmt.Fprintf(c.stdout, "drplan %s\n", v.Version)
	if v.Revision != "" {
		rev := "revision " + v.Revision
		var extra []string
		if v.RevisionTime != "" {
			extra = append(extra, v.RevisionTime)
		}
		if v.Modified {
			extra = append(extra, "modified")
		}
		if len(extra) > 0 {
			rev += " (" + strings.Join(extra, ", ") + ")"
		}
		fmt.Fprintln(c.stdout, rev)
	}
	fmt.Fprintf(c.stdout, "%s %s\n", v.Go, v.Platform)
	return ExitOK
}
