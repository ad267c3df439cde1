package compiler

import (
	"slices"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
)

// SelectorMatches returns, per protection group, the VMs of its protected
// site that its selectors match: the input to plans.LoadOptions's
// SelectorMatches, so that protection_group.NAME.vms includes them.
// Replicas and VMs a run created never match.
func SelectorMatches(p *plans.Plan, inv *inventory.Snapshot) map[string][]string {
	out := map[string][]string{}
	for _, g := range p.ProtectionGroups {
		out[g.Name] = nil
		site := inv.Sites[g.Site]
		if site == nil || len(g.Selectors) == 0 {
			continue
		}
		for _, vm := range site.VMs {
			if vm.Replica != nil || vm.Run != "" {
				continue
			}
			for _, sel := range g.Selectors {
				if selects(sel, vm) {
					out[g.Name] = append(out[g.Name], vm.Name)
					break
				}
			}
		}
		slices.Sort(out[g.Name])
	}
	return out
}

// selects reports whether a selector selects an inventory VM.
func selects(sel *plans.Selector, vm *inventory.VM) bool {
	return sel.Matches(vm.Folder, vm.Tags, vm.Name)
}

// selectsLoosely reports whether a VM sits where a selector looks (its
// folder or tag) whatever its name: a VM there that is no member of any
// group is probably one somebody forgot to protect.
func selectsLoosely(sel *plans.Selector, vm *inventory.VM) bool { return sel.Looks(vm.Folder, vm.Tags) }

func matchesAny(patterns []string, name string) bool { return plans.MatchesAny(patterns, name) }
