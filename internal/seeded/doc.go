// Package seeded draws pseudo-random numbers that depend only on a seed
// and on what they are drawn for (a fault, a method, an object, an
// attempt), never on the order of the draws: a simulated drill run again
// with its seed fires the same faults and pauses its retries the same,
// however its goroutines were scheduled. The simulation's faults and the
// runner's retry jitter draw here.
package seeded
