package cache

import (
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

// capHeader and capData are the kernel's structures for capget and capset
// (version 3: two words of each set).
type capHeader struct {
	version uint32
	pid     int32
}

type capData struct {
	effective, permitted, inheritable uint32
}

const (
	linuxCapabilityVersion3 = 0x20080522
	capDACOverride          = 1
	capDACReadSearch        = 2
)

// withoutDAC locks the calling goroutine to its thread and takes
// CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH out of that thread's effective
// set, so that file permissions bind it even when it runs as root. The
// other threads of the process keep theirs: capabilities are per thread.
// The returned func puts them back and unlocks; should that fail, the
// goroutine stays locked and the runtime ends the thread with it. ok is
// false, and nothing changed, when the capabilities cannot be read or set.
func withoutDAC(t *testing.T) (restore func(), ok bool) {
	t.Helper()
	runtime.LockOSThread()
	hdr := capHeader{version: linuxCapabilityVersion3} // pid 0: this thread
	var saved [2]capData
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&saved[0])), 0); e != 0 {
		runtime.UnlockOSThread()
		t.Logf("capget: %v", e)
		return nil, false
	}
	set := func(d [2]capData) syscall.Errno {
		h := capHeader{version: linuxCapabilityVersion3}
		_, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&h)), uintptr(unsafe.Pointer(&d[0])), 0)
		return e
	}
	dropped := saved
	dropped[0].effective &^= 1<<capDACOverride | 1<<capDACReadSearch
	if e := set(dropped); e != 0 {
		runtime.UnlockOSThread()
		t.Logf("capset: %v", e)
		return nil, false
	}
	return func() {
		if e := set(saved); e != 0 {
			t.Errorf("restoring the thread's capabilities: %v (the thread ends with the test)", e)
			return
		}
		runtime.UnlockOSThread()
	}, true
}
