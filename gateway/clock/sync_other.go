//go:build !linux

package clock

// KernelSynced assumes a synchronised clock where the kernel cannot tell.
func KernelSynced() bool { return true }
