package parse

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
)

// signals are the names Docker accepts, without the SIG prefix.
var signals = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "BUS": syscall.SIGBUS, "CHLD": syscall.SIGCHLD,
	"CLD": syscall.SIGCHLD, "CONT": syscall.SIGCONT, "FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP,
	"ILL": syscall.SIGILL, "INT": syscall.SIGINT, "IO": syscall.SIGIO, "IOT": syscall.SIGIOT,
	"KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE, "POLL": syscall.SIGIO, "PROF": syscall.SIGPROF,
	"PWR": syscall.SIGPWR, "QUIT": syscall.SIGQUIT, "SEGV": syscall.SIGSEGV, "STKFLT": syscall.SIGSTKFLT,
	"STOP": syscall.SIGSTOP, "SYS": syscall.SIGSYS, "TERM": syscall.SIGTERM, "TRAP": syscall.SIGTRAP,
	"TSTP": syscall.SIGTSTP, "TTIN": syscall.SIGTTIN, "TTOU": syscall.SIGTTOU, "URG": syscall.SIGURG,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "VTALRM": syscall.SIGVTALRM, "WINCH": syscall.SIGWINCH,
	"XCPU": syscall.SIGXCPU, "XFSZ": syscall.SIGXFSZ,
}

const (
	sigRTMin = 34
	sigRTMax = 64
)

// Signal parses a signal as Docker does: a number ("9"), a name with or
// without SIG ("SIGTERM", "term"), or RTMIN+n / RTMAX-n.
func Signal(s string) (syscall.Signal, error) {
	if s == "" {
		return 0, fmt.Errorf("invalid signal: the signal is empty (use a name such as SIGTERM or a number)")
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > sigRTMax {
			return 0, fmt.Errorf("invalid signal: %s (signal numbers go from 1 to %d)", s, sigRTMax)
		}
		return syscall.Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if sig, ok := signals[name]; ok {
		return sig, nil
	}
	for _, rt := range []struct {
		prefix string
		base   int
		dir    int
	}{{"RTMIN", sigRTMin, 1}, {"RTMAX", sigRTMax, -1}} {
		rest, ok := strings.CutPrefix(name, rt.prefix)
		if !ok {
			continue
		}
		if rest == "" {
			return syscall.Signal(rt.base), nil
		}
		sign := "+"
		if rt.dir < 0 {
			sign = "-"
		}
		if off, ok := strings.CutPrefix(rest, sign); ok {
			if n, err := strconv.Atoi(off); err == nil && n >= 0 && n <= sigRTMax-sigRTMin {
				return syscall.Signal(rt.base + rt.dir*n), nil
			}
		}
	}
	return 0, fmt.Errorf("invalid signal: %s (use a name such as SIGTERM or a number)", s)
}

// SignalName is the SIG name of sig ("SIGTERM"), or its number when it has none.
func SignalName(sig syscall.Signal) string {
	best := ""
	for name, v := range signals {
		if v == sig && (best == "" || name < best) && name != "CLD" && name != "POLL" && name != "IOT" {
			best = name
		}
	}
	if best != "" {
		return "SIG" + best
	}
	if sig >= sigRTMin && sig <= sigRTMax {
		return fmt.Sprintf("SIGRTMIN+%d", int(sig)-sigRTMin)
	}
	return strconv.Itoa(int(sig))
}
