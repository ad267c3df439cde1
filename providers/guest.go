package providers

import "time"

// GuestRequest is a program to run inside a VM's guest operating system
// through the hypervisor's guest operations (VMware Tools), which needs
// no network path to the VM.
type GuestRequest struct {
	// Program is the program's path in the guest; Args its arguments.
	Program string
	Args    []string
	// Username and Password log in to the guest.
	Username string
	Password string
}

// GuestResult is how a guest program ended.
type GuestResult struct {
	PID      int64
	ExitCode int32
	Start    time.Time
	End      time.Time
}
