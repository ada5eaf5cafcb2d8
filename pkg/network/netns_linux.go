package network

import (
	"fmt"
	"os"
	"runtime"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// CreateNS makes a new network namespace and pins it with a bind mount at
// path. The namespace is made on a thread of its own that is never given
// back to the Go scheduler (it exits with its goroutine).
func CreateNS(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: the thread dies with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("creating a network namespace: %w", err)
			return
		}
		if err := unix.Mount("/proc/thread-self/ns/net", path, "", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("pinning the network namespace at %s: %w", path, err)
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// RemoveNS unpins a namespace made by CreateNS; the kernel frees it (and
// every interface in it) once no process uses it.
func RemoveNS(path string) {
	unix.Unmount(path, unix.MNT_DETACH)
	os.Remove(path)
}

// IsNS reports whether path is a pinned network namespace.
func IsNS(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// InNS runs fn on a thread that is in the network namespace at path (""
// means this process's own). Sockets fn opens stay in that namespace.
func InNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	target, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("opening the network namespace %s: %w", path, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			errc <- fmt.Errorf("entering the network namespace %s: %w", path, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			errc <- ferr
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// SetSysctl writes a /proc/sys/net value in the namespace at nsPath ("" this
// process's own): key is the path under /proc/sys, e.g. "net/ipv4/ip_forward".
func SetSysctl(nsPath, key, value string) error {
	return InNS(nsPath, func() error {
		return os.WriteFile("/proc/sys/"+key, []byte(value), 0o644)
	})
}
