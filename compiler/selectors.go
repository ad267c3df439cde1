package compiler

import (
	"slices"

	"github.com/drplan/drplan/inventory"
	"github.com/drplan/drplan/plans"
)

// SelectorMatches returns, per protection group, the VMs that its
// selectors match at its protected site, and the VMs that the
// replication records at either of its sites name as the group's: the
// input to plans.LoadOptions's SelectorMatches, so that
// protection_group.NAME.vms includes them. The records keep a group whole
// when its selectors cannot see its VMs: after a reprotect (the VMs left
// at the protected site are replicas, in the replica folder), and when
// the protected site cannot be read (a failover after the disaster).
// Replicas themselves and VMs a run created never match a selector.
func SelectorMatches(p *plans.Plan, inv *inventory.Snapshot) map[string][]string {
	out := map[string][]string{}
	for _, g := range p.ProtectionGroups {
		out[g.Name] = nil
		if len(g.Selectors) == 0 {
			continue
		}
		if site := inv.Sites[g.Site]; site != nil {
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
		}
		for _, name := range []string{g.Site, g.RecoverySite} {
			site := inv.Sites[name]
			if site == nil {
				continue
			}
			for _, vm := range site.VMs {
				if r := vm.Replica; r != nil && vm.Run == "" && r.Group == g.Name {
					out[g.Name] = append(out[g.Name], r.Of)
				}
			}
		}
		slices.Sort(out[g.Name])
		out[g.Name] = slices.Compact(out[g.Name])
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
