package oci

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"unsafe"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Compiling Docker's seccomp profile takes libseccomp ~13 ms, in every
// container's init. tug compiles it once per profile and caches the BPF;
// the init loads the cached program before libcontainer sets up the
// container. That early filter is the profile with the few system calls
// that setting a container up needs (and that the profile refuses)
// allowed; libcontainer then loads, as the container's last step, a tiny
// filter that refuses exactly those again, with the profile's errno. Filters
// stack and the most restrictive answer wins, so the container runs under
// exactly the profile.
//
// Beware, for a process added later to a running container (exec): the
// config libcontainer saves holds only the late filter. Such a process must
// be given the whole profile (compile it from the container's spec), never
// the saved config's alone.

// setupSyscalls are the calls libcontainer's init makes while setting up the
// container that Docker's profile refuses without CAP_SYS_ADMIN.
var setupSyscalls = []string{
	"mount", "umount2", "umount", "pivot_root", "keyctl", "add_key", "request_key", "fsopen", "fsconfig",
	"fsmount", "fspick", "open_tree", "move_mount", "mount_setattr", "sethostname", "setdomainname",
	"unshare", "setns", "chroot",
}

// EarlySeccompFile is the name, in libcontainer's state directory of the
// container, of the compiled early filter.
const EarlySeccompFile = "seccomp.bpf"

// splitSeccomp splits a profile into the early filter (profile plus the
// setup calls) and the late one (refusing the setup calls). It reports false
// when the profile cannot be split this way (it already says something about
// a setup call, or its default action is not a plain errno), and the profile
// is then loaded whole, as usual.
func splitSeccomp(sc *rspec.LinuxSeccomp) (early, late *rspec.LinuxSeccomp, ok bool) {
	if sc == nil || sc.DefaultAction != rspec.ActErrno || len(sc.Flags) > 0 || sc.ListenerPath != "" {
		return nil, nil, false
	}
	// The setup calls the profile refuses (by not naming them). One it allows
	// outright needs nothing; one it names otherwise (arguments, another
	// action) cannot be split off.
	mentioned := map[string]bool{}
	allowed := map[string]bool{}
	for _, group := range sc.Syscalls {
		for _, n := range group.Names {
			if group.Action == rspec.ActAllow && len(group.Args) == 0 {
				allowed[n] = true
			} else {
				mentioned[n] = true
			}
		}
	}
	var extra []string
	for _, n := range setupSyscalls {
		if mentioned[n] {
			return nil, nil, false
		}
		if !allowed[n] {
			extra = append(extra, n)
		}
	}
	if len(extra) == 0 {
		return nil, nil, false
	}
	e := *sc
	e.Syscalls = append(append([]rspec.LinuxSyscall(nil), sc.Syscalls...), rspec.LinuxSyscall{Names: extra, Action: rspec.ActAllow})
	l := rspec.LinuxSeccomp{DefaultAction: rspec.ActAllow, Architectures: sc.Architectures}
	l.Syscalls = []rspec.LinuxSyscall{{Names: extra, Action: rspec.ActErrno, ErrnoRet: sc.DefaultErrnoRet}}
	return &e, &l, true
}

// archName turns "SCMP_ARCH_X86_64" into libseccomp's "x86_64".
func archName(a rspec.Arch) string {
	switch a {
	case rspec.ArchX86_64:
		return "amd64"
	case rspec.ArchX86:
		return "x86"
	case rspec.ArchX32:
		return "x32"
	case rspec.ArchAARCH64:
		return "arm64"
	case rspec.ArchARM:
		return "arm"
	}
	return string(a)
}

// compileSeccomp builds the BPF program of a profile with libseccomp.
func compileSeccomp(sc *rspec.LinuxSeccomp) ([]byte, error) {
	def, err := seccompAction(sc.DefaultAction, sc.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, err
	}
	defer f.Release()
	for _, a := range sc.Architectures {
		arch, err := libseccomp.GetArchFromString(archName(a))
		if err != nil {
			return nil, fmt.Errorf("seccomp architecture %s: %w", a, err)
		}
		if err := f.AddArch(arch); err != nil {
			return nil, err
		}
	}
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return nil, err
	}
	f.SetOptimize(2)
	for _, group := range sc.Syscalls {
		act, err := seccompAction(group.Action, group.ErrnoRet)
		if err != nil {
			return nil, err
		}
		if act == def {
			continue
		}
		conds := make([]libseccomp.ScmpCondition, 0, len(group.Args))
		perArg := map[uint]int{}
		for _, a := range group.Args {
			op, err := seccompOp(a.Op)
			if err != nil {
				return nil, err
			}
			c, err := libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
			if err != nil {
				return nil, err
			}
			conds = append(conds, c)
			perArg[a.Index]++
		}
		for _, name := range group.Names {
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				continue // not a call of this kernel's architectures
			}
			switch {
			case len(conds) == 0:
				err = f.AddRule(nr, act)
			case len(perArg) < len(conds):
				// Several conditions on one argument: each is a rule of its own.
				for _, c := range conds {
					if err = f.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
						break
					}
				}
			default:
				err = f.AddRuleConditional(nr, act, conds)
			}
			if err != nil {
				return nil, fmt.Errorf("seccomp rule for %s: %w", name, err)
			}
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	done := make(chan []byte)
	go func() {
		var b bytes.Buffer
		b.ReadFrom(r)
		done <- b.Bytes()
	}()
	err = f.ExportBPF(w)
	w.Close()
	prog := <-done
	if err != nil {
		return nil, err
	}
	if len(prog) == 0 || len(prog)%8 != 0 {
		return nil, fmt.Errorf("libseccomp exported a program of %d bytes", len(prog))
	}
	return append(enosysStub(sc), prog...), nil
}

// enosysStub answers ENOSYS, as runc does for a whole profile, to the calls
// newer than any the profile names (so that a C library falls back to an
// older call instead of failing with the profile's EPERM).
func enosysStub(sc *rspec.LinuxSeccomp) []byte {
	last := func(arch string) uint32 {
		a, err := libseccomp.GetArchFromString(arch)
		if err != nil {
			return 0
		}
		var max uint32
		for _, group := range sc.Syscalls {
			for _, n := range group.Names {
				if nr, err := libseccomp.GetSyscallFromNameByArch(n, a); err == nil && uint32(nr) > max {
					max = uint32(nr)
				}
			}
		}
		return max
	}
	last64, last32 := last("amd64"), last("x86")
	if last64 == 0 {
		return nil
	}
	if last32 == 0 {
		last32 = 0xffffffff
	}
	const (
		ldAbs   = 0x20 // BPF_LD | BPF_W | BPF_ABS
		jeq     = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
		jgt     = 0x25 // BPF_JMP | BPF_JGT | BPF_K
		jge     = 0x35 // BPF_JMP | BPF_JGE | BPF_K
		ret     = 0x06 // BPF_RET | BPF_K
		archX64 = 0xc000003e
		archX86 = 0x40000003
		x32Bit  = 0x40000000
		enosys  = 0x00050000 | uint32(unix.ENOSYS) // SECCOMP_RET_ERRNO
	)
	// Offsets: seccomp_data.nr is at 0, .arch at 4. Jumps are relative to
	// the next instruction; 9 is the first instruction of the profile.
	insns := []unix.SockFilter{
		{Code: ldAbs, K: 4},                   // 0: A = arch
		{Code: jeq, Jt: 1, Jf: 0, K: archX64}, // 1: x86_64 -> 3
		{Code: jeq, Jt: 3, Jf: 6, K: archX86}, // 2: i386 -> 6, else -> 9
		{Code: ldAbs, K: 0},                   // 3: A = nr
		{Code: jge, Jt: 4, Jf: 0, K: x32Bit},  // 4: x32 -> 9 (the profile refuses it)
		{Code: jgt, Jt: 2, Jf: 3, K: last64},  // 5: newer -> 8, else -> 9
		{Code: ldAbs, K: 0},                   // 6: A = nr
		{Code: jgt, Jt: 0, Jf: 1, K: last32},  // 7: newer -> 8, else -> 9
		{Code: ret, K: enosys},                // 8: ENOSYS
	}
	out := make([]byte, 0, 8*len(insns))
	for _, in := range insns {
		out = binary.NativeEndian.AppendUint16(out, in.Code)
		out = append(out, in.Jt, in.Jf)
		out = binary.NativeEndian.AppendUint32(out, in.K)
	}
	return out
}

func seccompAction(a rspec.LinuxSeccompAction, errno *uint) (libseccomp.ScmpAction, error) {
	switch a {
	case rspec.ActKill, rspec.ActKillThread:
		return libseccomp.ActKillThread, nil
	case rspec.ActKillProcess:
		return libseccomp.ActKillProcess, nil
	case rspec.ActTrap:
		return libseccomp.ActTrap, nil
	case rspec.ActAllow:
		return libseccomp.ActAllow, nil
	case rspec.ActLog:
		return libseccomp.ActLog, nil
	case rspec.ActErrno:
		code := int16(unix.EPERM)
		if errno != nil {
			code = int16(*errno)
		}
		return libseccomp.ActErrno.SetReturnCode(code), nil
	case rspec.ActTrace:
		code := int16(unix.EPERM)
		if errno != nil {
			code = int16(*errno)
		}
		return libseccomp.ActTrace.SetReturnCode(code), nil
	}
	return libseccomp.ActInvalid, fmt.Errorf("seccomp action %s is not supported", a)
}

func seccompOp(op rspec.LinuxSeccompOperator) (libseccomp.ScmpCompareOp, error) {
	switch op {
	case rspec.OpEqualTo:
		return libseccomp.CompareEqual, nil
	case rspec.OpNotEqual:
		return libseccomp.CompareNotEqual, nil
	case rspec.OpGreaterThan:
		return libseccomp.CompareGreater, nil
	case rspec.OpGreaterEqual:
		return libseccomp.CompareGreaterEqual, nil
	case rspec.OpLessThan:
		return libseccomp.CompareLess, nil
	case rspec.OpLessEqual:
		return libseccomp.CompareLessOrEqual, nil
	case rspec.OpMaskedEqual:
		return libseccomp.CompareMaskedEqual, nil
	}
	return libseccomp.CompareInvalid, fmt.Errorf("seccomp operator %s is not supported", op)
}

// earlySeccomp splits spec's profile, compiles (or finds in cacheDir) the
// early program, and replaces the profile in spec with the late one. It
// returns the program, or nil when the profile is loaded whole.
func earlySeccomp(spec *rspec.Spec, cacheDir string) []byte {
	if spec.Linux == nil {
		return nil
	}
	early, late, ok := splitSeccomp(spec.Linux.Seccomp)
	if !ok {
		trace("seccomp: not split")
		return nil
	}
	key, _ := json.Marshal(early)
	sum := sha256.Sum256(key)
	path := filepath.Join(cacheDir, hex.EncodeToString(sum[:16])+".bpf")
	prog, err := os.ReadFile(path)
	if err != nil || len(prog) == 0 || len(prog)%8 != 0 {
		if prog, err = compileSeccomp(early); err != nil {
			trace("seccomp: " + err.Error())
			return nil
		}
		os.MkdirAll(cacheDir, 0o700)
		tmp := path + "." + strconv.Itoa(os.Getpid())
		if os.WriteFile(tmp, prog, 0o600) == nil {
			os.Rename(tmp, path)
		}
	}
	spec.Linux.Seccomp = late
	return prog
}

// LoadEarlySeccomp is called first thing in a container's init (before
// libcontainer's): it loads the early filter the monitor left in the
// container's state directory, found through the exec fifo libcontainer
// passes. A filter that is there but cannot be loaded ends the init: the
// container must not run with the late filter alone.
//
// An exec's init (libcontainer's setns init) has no exec fifo: Runtime.Exec
// passes the early program as a memfd on fd 3, which is loaded here and then
// closed on exec, so that the command never sees it.
func LoadEarlySeccomp() {
	if os.Getenv("_LIBCONTAINER_INITTYPE") == "setns" {
		loadExecSeccomp()
		return
	}
	fd := os.Getenv("_LIBCONTAINER_FIFOFD")
	if fd == "" {
		return
	}
	fifo, err := os.Readlink("/proc/self/fd/" + fd)
	if err != nil {
		return
	}
	prog, err := os.ReadFile(filepath.Join(filepath.Dir(fifo), EarlySeccompFile))
	if err != nil {
		return
	}
	if err := loadBPF(prog); err != nil {
		fmt.Fprintln(os.Stderr, "loading the seccomp filter:", err)
		os.Exit(255)
	}
}

func loadBPF(prog []byte) error {
	if len(prog) == 0 || len(prog)%8 != 0 || len(prog)/8 > 0xffff {
		return fmt.Errorf("corrupt seccomp program (%d bytes)", len(prog))
	}
	filters := make([]unix.SockFilter, len(prog)/8)
	for i := range filters {
		b := prog[i*8:]
		filters[i] = unix.SockFilter{Code: binary.NativeEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.NativeEndian.Uint32(b[4:])}
	}
	fprog := unix.SockFprog{Len: uint16(len(filters)), Filter: &filters[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, 1 /* SECCOMP_SET_MODE_FILTER */, 1 /* SECCOMP_FILTER_FLAG_TSYNC */, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return errno
	}
	return nil
}

func loadExecSeccomp() {
	const fd = 3
	if name, err := os.Readlink("/proc/self/fd/3"); err != nil || name != "/memfd:"+execSeccompName+" (deleted)" {
		return
	}
	// Read through the raw fd: an *os.File would close it when collected,
	// and it must stay open (libcontainer counts it as passed) until execve
	// closes it.
	var st unix.Stat_t
	err := unix.Fstat(fd, &st)
	prog := make([]byte, st.Size)
	for off := 0; err == nil && off < len(prog); {
		var n int
		n, err = unix.Pread(fd, prog[off:], int64(off))
		if n == 0 && err == nil {
			err = io.ErrUnexpectedEOF
		}
		off += n
	}
	if err == nil {
		_, err = unix.FcntlInt(fd, unix.F_SETFD, unix.FD_CLOEXEC)
	}
	if err == nil {
		err = loadBPF(prog)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loading the seccomp filter:", err)
		os.Exit(255)
	}
}
