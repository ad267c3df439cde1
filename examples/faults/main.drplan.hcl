# A deliberately unlucky world: the same small two-tier plan as any other, with a
# simulation block (sim.drplan.hcl) that injects every kind of fault the simulator knows.
# Use it to see how drplan reports failures, retries and missed targets.

drplan {
  name  = "faults"
  owner = "dr-team@example.com"
}
