package local

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/drplan/drplan/internal/redact"
	"github.com/drplan/drplan/steps"
)

// terraform applies (or, in a drill's cleanup, destroys) a Terraform
// configuration. A drill works in a workspace of its own, so production
// state is never touched; its cleanup destroys that workspace's resources
// and deletes it. The directory is left on the workspace it had.
func (e *Executor) terraform(ctx context.Context, s *steps.Step, env *Env) (detail map[string]string, err error) {
	t := s.Args.Terraform
	bin := t.Binary
	if strings.Contains(bin, "/") {
		bin = e.path(bin)
	}
	bin, err = exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("terraform binary %q not found: install Terraform, or set binary in the step's terraform block to its path (relative to the plan directory)", t.Binary)
	}
	dir := e.path(t.Dir)
	tf, err := tfexec.NewTerraform(dir, bin)
	if err != nil {
		return nil, err
	}
	secrets := env.secrets()
	out := e.output(secrets)
	tf.SetStdout(out)
	tf.SetStderr(out)
	ws := steps.ExpandRun(t.Workspace, env.Placeholder)
	detail = map[string]string{}
	if ws != "" {
		detail["workspace"] = ws
	}
	fail := func(what string, err error) (map[string]string, error) {
		detail["output"] = out.String()
		return detail, transient(fmt.Errorf("terraform %s in %s: %v", what, t.Dir, err))
	}
	if err := tf.Init(ctx); err != nil {
		return fail("init", err)
	}
	var vars []string
	for k, v := range t.Vars {
		vars = append(vars, k+"="+v)
	}
	sort.Strings(vars)
	if ws != "" {
		all, prev, err := tf.WorkspaceList(ctx)
		if err != nil {
			return fail("workspace list", err)
		}
		if prev == ws {
			prev = "default"
		}
		switch {
		case slices.Contains(all, ws):
			if err := tf.WorkspaceSelect(ctx, ws); err != nil {
				return fail("workspace select "+ws, err)
			}
		case t.Destroy:
			detail["note"] = "the workspace was gone already"
			return detail, nil
		default:
			if err := tf.WorkspaceNew(ctx, ws); err != nil { // and selects it
				return fail("workspace new", err)
			}
		}
		// Whatever happens, the directory goes back to the workspace it
		// had: an operator's next terraform command must not land in the
		// drill's.
		restored := false
		restore := func() error {
			restored = true
			return tf.WorkspaceSelect(context.WithoutCancel(ctx), prev)
		}
		defer func() {
			if !restored {
				restore()
			}
		}()
		if t.Destroy {
			var opts []tfexec.DestroyOption
			for _, v := range vars {
				opts = append(opts, tfexec.Var(v))
			}
			if err := tf.Destroy(ctx, opts...); err != nil {
				return fail("destroy", err)
			}
			if err := restore(); err != nil {
				return fail("workspace select "+prev, err)
			}
			if err := tf.WorkspaceDelete(ctx, ws); err != nil {
				return fail("workspace delete", err)
			}
			detail["destroyed"] = "true"
			detail["output"] = out.String()
			return detail, nil
		}
		defer func() {
			if err == nil {
				if rerr := restore(); rerr != nil {
					detail, err = fail("workspace select "+prev, rerr)
				}
			}
		}()
	}
	var opts []tfexec.ApplyOption
	for _, v := range vars {
		opts = append(opts, tfexec.Var(v))
	}
	if err := tf.Apply(ctx, opts...); err != nil {
		return fail("apply", err)
	}
	// terraform output prints every value, sensitive ones too: not for
	// the journal.
	tf.SetStdout(io.Discard)
	outputs, err := tf.Output(ctx)
	if err != nil {
		return fail("output", err)
	}
	values := map[string]json.RawMessage{}
	for k, o := range outputs {
		if o.Sensitive {
			values[k] = json.RawMessage(strconv.Quote(redact.Mask))
			detail["output."+k] = redact.Mask
			continue
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, o.Value); err != nil {
			return fail("output", err)
		}
		values[k] = json.RawMessage(secrets.RedactJSON(compact.Bytes()))
		var str string
		if json.Unmarshal(o.Value, &str) == nil {
			detail["output."+k] = str
		} else {
			detail["output."+k] = compact.String()
		}
	}
	env.SetOutputs(s.Addr, values)
	detail["output"] = out.String()
	return detail, nil
}
