package testscript

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ts "github.com/rogpeppe/go-internal/testscript"

	"github.com/drplan/drplan/internal/command"
)

func TestMain(m *testing.M) {
	ts.Main(m, map[string]func(){
		"drplan": func() { os.Exit(command.Run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

func TestScripts(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	conformance := filepath.Join(root, "..", "shared", "spec", "conformance", "full")
	if _, err := os.Stat(conformance); err != nil {
		t.Fatalf("the shared conformance plan must sit beside the repository: %v", err)
	}
	ts.Run(t, ts.Params{
		Dir: "testdata",
		Setup: func(env *ts.Env) error {
			env.Setenv("CONFORMANCE", conformance)
			env.Setenv("EXAMPLES", filepath.Join(root, "examples"))
			env.Setenv("NO_COLOR", "1")
			env.Setenv("CHECKPOINT_DISABLE", "1") // Terraform: no calls home
			if u, err := user.Current(); err == nil {
				env.Setenv("OSUSER", u.Username)
			}
			return nil
		},
		Cmds: map[string]func(*ts.TestScript, bool, []string){
			"waitfile": cmdWaitFile,
			"simenv":   cmdSimEnv,
			"govc":     cmdGovc,
			"simvars":  cmdSimVars,
			"govcpath": cmdGovcPath,
			"cpreport": cmdCopyReport,
			"cprun":    cmdCopyRun,
			"sleep":    cmdSleep,
			"pyvmomi":  cmdPyVmomi,
			"repeat":   cmdRepeat,
		},
		RequireExplicitExec: true,
	})
}

// cmdWaitFile waits up to a minute for a file to appear: waitfile FILE.
func cmdWaitFile(s *ts.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		s.Fatalf("usage: waitfile FILE")
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(s.MkAbs(args[0])); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Fatalf("%s did not appear within a minute", args[0])
}

// cmdSimEnv points govc at a site of a running drplan sim serve: simenv
// STATE SITE sets GOVC_URL, GOVC_INSECURE and GOVC_DATACENTER from the
// -state file.
func cmdSimEnv(s *ts.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		s.Fatalf("usage: simenv STATEFILE SITE")
	}
	var st struct {
		Sites []struct{ Name, Datacenter, URL string }
	}
	s.Check(json.Unmarshal([]byte(s.ReadFile(args[0])), &st))
	for _, site := range st.Sites {
		if site.Name == args[1] {
			s.Setenv("GOVC_URL", site.URL)
			s.Setenv("GOVC_INSECURE", "1")
			s.Setenv("GOVC_DATACENTER", site.Datacenter)
			return
		}
	}
	s.Fatalf("no site %s in %s", args[1], args[0])
}

// cmdSimVars sets, for every site of a running drplan sim serve, the
// plan variables SITE_url (credentials included) and SITE_thumbprint as
// DRPLAN_VAR_ environment variables, and DRPLAN_SIM_SERVICES: a plan whose
// vcenter blocks use them reaches the simulated sites over the live code
// path, its checks answered by the simulated services.
func cmdSimVars(s *ts.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		s.Fatalf("usage: simvars STATEFILE")
	}
	var st struct {
		Sites    []struct{ Name, URL, Thumbprint string }
		Services string
	}
	s.Check(json.Unmarshal([]byte(s.ReadFile(args[0])), &st))
	for _, site := range st.Sites {
		s.Setenv("DRPLAN_VAR_"+site.Name+"_url", site.URL)
		s.Setenv("DRPLAN_VAR_"+site.Name+"_thumbprint", site.Thumbprint)
	}
	// The run's checks go to the world's service gateway.
	s.Setenv("DRPLAN_SIM_SERVICES", st.Services)
}

// cmdSleep pauses the script: sleep DURATION.
func cmdSleep(s *ts.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		s.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	s.Check(err)
	time.Sleep(d)
}

// cmdCopyReport copies the report of a plan's latest run to a file, for
// grep: cpreport PLANDIR FILE [NAME], NAME being one of the run folder's
// reports (report.json by default).
func cmdCopyReport(s *ts.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 || neg {
		s.Fatalf("usage: cpreport PLANDIR FILE [NAME]")
	}
	name := "report.json"
	if len(args) == 3 {
		name = args[2]
	}
	copyLatest(s, args[0], name, args[1])
}

// cmdCopyRun copies a file of a plan's latest run (journal.jsonl,
// report.json) to a file, for grep: cprun PLANDIR NAME FILE.
func cmdCopyRun(s *ts.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		s.Fatalf("usage: cprun PLANDIR NAME FILE")
	}
	copyLatest(s, args[0], args[1], args[2])
}

func copyLatest(s *ts.TestScript, planDir, name, dst string) {
	runs, _ := filepath.Glob(s.MkAbs(filepath.Join(planDir, ".drplan", "runs", "*", name)))
	if len(runs) == 0 {
		s.Fatalf("no %s under %s", name, planDir)
	}
	b, err := os.ReadFile(runs[len(runs)-1]) // run ids sort by time
	s.Check(err)
	s.Check(os.WriteFile(s.MkAbs(dst), b, 0o644))
}

// cmdGovcPath puts govc on PATH, for plans whose command steps run it.
func cmdGovcPath(s *ts.TestScript, neg bool, args []string) {
	govcOnce.Do(func() { govcPath, govcErr = installGovc() })
	if govcErr != nil {
		s.Fatalf("govc could not be installed: %v", govcErr)
	}
	s.Setenv("PATH", filepath.Dir(govcPath)+string(os.PathListSeparator)+s.Getenv("PATH"))
}

// govcVersion is the govc the scripts drive the simulated sites with.
const govcVersion = "v0.45.0"

var (
	govcOnce sync.Once
	govcPath string
	govcErr  error
)

// cmdGovc runs govc, installing it through the Go module proxy on first
// use into the user's cache directory.
func cmdGovc(s *ts.TestScript, neg bool, args []string) {
	govcOnce.Do(func() { govcPath, govcErr = installGovc() })
	if govcErr != nil {
		s.Fatalf("govc is needed to drive the simulated sites and could not be installed: %v", govcErr)
	}
	err := s.Exec(govcPath, args...)
	if neg && err == nil {
		s.Fatalf("unexpected govc success")
	}
	if !neg && err != nil {
		s.Fatalf("govc %s: %v", strings.Join(args, " "), err)
	}
}

func installGovc() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "drplan-test-tools", "govc-"+govcVersion)
	exe := filepath.Join(bin, "govc")
	if _, err := os.Stat(exe); err == nil {
		return exe, nil
	}
	cmd := exec.Command("go", "install", "github.com/vmware/govmomi/govc@"+govcVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install govc@%s: %v\n%s", govcVersion, err, out)
	}
	return exe, nil
}

// cmdPyVmomi runs a Python script with pyVmomi, a second vSphere client
// besides govc and a strict parser: pyvmomi SCRIPT [ARG...]. The Python
// is DRPLAN_PYTHON, else /usr/bin/python3 (Debian's python3-pyvmomi
// installs there; make test installs it).
func cmdPyVmomi(s *ts.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		s.Fatalf("usage: pyvmomi SCRIPT [ARG...]")
	}
	py := os.Getenv("DRPLAN_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if err := exec.Command(py, "-c", "import pyVmomi").Run(); err != nil {
		s.Fatalf("%s cannot import pyVmomi (%v): install Debian's python3-pyvmomi (apt-get install -y python3-pyvmomi; make test does), or set DRPLAN_PYTHON to a Python that has it", py, err)
	}
	err := s.Exec(py, append([]string{"-W", "ignore"}, args...)...)
	if neg && err == nil {
		s.Fatalf("unexpected success of %s", args[0])
	}
	if !neg && err != nil {
		s.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
}

// cmdRepeat appends TEXT to FILE COUNT times, for inputs too large to
// keep in a script: repeat FILE COUNT TEXT.
func cmdRepeat(s *ts.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		s.Fatalf("usage: repeat FILE COUNT TEXT")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		s.Fatalf("repeat: count %q: %v", args[1], err)
	}
	f, err := os.OpenFile(s.MkAbs(args[0]), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	s.Check(err)
	_, err = f.WriteString(strings.Repeat(args[2], n))
	s.Check(err)
	s.Check(f.Close())
}
