//go:build system

// Package system runs the built bin/tug end to end, as root and as an
// unprivileged user, against a real registry on 127.0.0.1 (Debian's
// docker-registry) filled with images built from busybox-static.
//
// Run as root: make system (or go test -tags "exclude_graphdriver_btrfs system" ./test/system/).
package system

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tug-project/tug/test/testimages"
	"github.com/tug-project/tug/test/testregistry"
)

// The unprivileged test user, created by the setup with sub-IDs.
const (
	testUser     = "tugtest"
	subIDStart   = 300000
	subIDCount   = 65536
	authUser     = "tuguser"
	authPassword = "tugpass"
)

var (
	// Registry is the plain-HTTP test registry, filled with the test images.
	Registry string
	// AuthRegistry asks for user tuguser, password tugpass.
	AuthRegistry string
	// TugBin is the tug binary under test (a copy every user can execute).
	TugBin string

	baseDir     string // everything the tests make lives under here
	userUID     int
	userGID     int
	userRuntime string // XDG_RUNTIME_DIR of the test user (its pause process lives there)
)

// Img is the reference of a test image in Registry.
func Img(name string) string { return Registry + "/tug/" + name + ":latest" }

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "system tests must run as root (they also run tug as an unprivileged user)")
		return 1
	}
	var err error
	if baseDir, err = os.MkdirTemp("", "tug-system-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Chmod(baseDir, 0o755)
	stops, err := setup()
	defer func() {
		for _, stop := range stops {
			stop()
		}
		if os.Getenv("TUG_KEEP_TESTDIR") == "" {
			os.RemoveAll(baseDir)
		}
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "system test setup:", err)
		return 1
	}
	return m.Run()
}

func setup() (stops []func(), err error) {
	src, err := filepath.Abs("../../bin/tug")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("bin/tug is missing: run make build first")
	}
	// A copy in baseDir: the checkout may sit in a directory the test user cannot enter.
	// Not in baseDir itself: libcontainer seals the binary with an overlay
	// over its directory, which must not be an ancestor of a runroot.
	if err := os.Mkdir(filepath.Join(baseDir, "bin"), 0o755); err != nil {
		return nil, err
	}
	TugBin = filepath.Join(baseDir, "bin", "tug")
	if err := copyFile(src, TugBin, 0o755); err != nil {
		return nil, err
	}
	if err := ensureTestUser(); err != nil {
		return nil, err
	}
	// slirp4netns for the test user needs /dev/net/tun, as on an ordinary distribution.
	os.Chmod("/dev/net/tun", 0o666)

	plain, err := testregistry.Start(filepath.Join(baseDir, "registry-plain"), "", "")
	if err != nil {
		return nil, err
	}
	stops = append(stops, plain.Stop)
	auth, err := testregistry.Start(filepath.Join(baseDir, "registry-auth"), authUser, authPassword)
	if err != nil {
		return stops, err
	}
	stops = append(stops, auth.Stop)
	Registry, AuthRegistry = plain.Addr, auth.Addr
	return stops, pushTestImages(plain, auth)
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

// ensureTestUser creates the unprivileged user with sub-ID ranges and its
// runtime directory.
func ensureTestUser() error {
	if _, err := user.Lookup(testUser); err != nil {
		if out, err := exec.Command("useradd", "--create-home", "--shell", "/bin/sh", testUser).CombinedOutput(); err != nil {
			return fmt.Errorf("useradd %s: %v: %s", testUser, err, out)
		}
	}
	u, err := user.Lookup(testUser)
	if err != nil {
		return err
	}
	userUID, _ = strconv.Atoi(u.Uid)
	userGID, _ = strconv.Atoi(u.Gid)
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		data, _ := os.ReadFile(f)
		if !bytes.Contains(data, []byte(testUser+":")) {
			line := fmt.Sprintf("%s:%d:%d\n", testUser, subIDStart, subIDCount)
			fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			fh.WriteString(line)
			fh.Close()
		}
	}
	userRuntime = fmt.Sprintf("/tmp/tug-system-xdg-%d", userUID)
	if err := os.MkdirAll(userRuntime, 0o700); err != nil {
		return err
	}
	return os.Chown(userRuntime, userUID, userGID)
}

// pushTestImages fills both registries with the images of package testimages.
func pushTestImages(regs ...*testregistry.Registry) error {
	images, err := testimages.Images()
	if err != nil {
		return err
	}
	index, err := testimages.MultiArch()
	if err != nil {
		return err
	}
	for _, reg := range regs {
		for n, img := range images {
			if err := reg.Push("tug/"+n+":latest", img); err != nil {
				return err
			}
		}
		if err := reg.PushIndex("tug/multiarch:latest", index); err != nil {
			return err
		}
	}
	return nil
}

// Result is what a command did.
type Result struct {
	Out, Err string
	Code     int
}

// Combined is stdout then stderr, for error messages.
func (r Result) Combined() string { return r.Out + r.Err }

// Env is one test's world for one kind of user: its own --root, --runroot,
// HOME and scratch directory, all owned by that user.
type Env struct {
	T        *testing.T
	Rootless bool
	Root     string
	RunRoot  string
	Home     string
	TmpDir   string
	// ExtraEnv is added to (and overrides) the environment of commands.
	ExtraEnv []string
	uid, gid int
}

// eachUser runs fn as root and as the unprivileged test user, as subtests.
func eachUser(t *testing.T, fn func(t *testing.T, e *Env)) {
	t.Helper()
	for _, rootless := range []bool{false, true} {
		label := "root"
		if rootless {
			label = "rootless"
		}
		t.Run(label, func(t *testing.T) {
			fn(t, newEnv(t, rootless))
		})
	}
}

var envCounter int

func newEnv(t *testing.T, rootless bool) *Env {
	t.Helper()
	envCounter++
	dir := filepath.Join(baseDir, fmt.Sprintf("t%03d-%s", envCounter, strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())))
	e := &Env{T: t, Rootless: rootless, Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "runroot"), Home: filepath.Join(dir, "home"), TmpDir: filepath.Join(dir, "tmp")}
	if rootless {
		e.uid, e.gid = userUID, userGID
	}
	for _, d := range []string{dir, e.Root, e.RunRoot, e.Home, e.TmpDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, e.uid, e.gid); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { e.cleanup(dir) })
	return e
}

// cleanup removes what the test left: as root, storage mounts first; as a
// user, the pause process of the env's runroot.
func (e *Env) cleanup(dir string) {
	e.removeContainers()
	killProcessesOf(dir)
	killPause(e.RunRoot)
	if os.Getenv("TUG_KEEP_TESTDIR") != "" {
		return
	}
	if !e.Rootless {
		exec.Command("sh", "-c", "grep -o ' "+dir+"[^ ]*' /proc/self/mounts | sort -r | xargs -r -n1 umount -l").Run()
	}
	os.RemoveAll(dir)
}

// removeContainers removes the containers a test left, so that their
// processes (held by monitors, or in the pause process's namespace) go too.
func (e *Env) removeContainers() {
	if ents, _ := os.ReadDir(filepath.Join(e.RunRoot, "containers")); len(ents) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ids, _ := e.cleanupCommand(ctx, "ps", "-aq").Output()
	if fields := strings.Fields(string(ids)); len(fields) > 0 {
		e.cleanupCommand(ctx, append([]string{"rm", "-f"}, fields...)...).Run()
	}
}

func (e *Env) cleanupCommand(ctx context.Context, args ...string) *exec.Cmd {
	argv := e.TugArgs(args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = e.environ()
	if e.Rootless {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(e.uid), Gid: uint32(e.gid), Groups: []uint32{}}}
	}
	return cmd
}

// killProcessesOf kills what is left of tug's own processes for a test dir
// (monitors, network hosts, exec monitors): their command lines name it.
//
// A network host is asked first (SIGTERM) and given a moment: it takes its
// bridges down as it goes, where a killed one leaves them on the host, and
// enough of those exhaust the subnet pools of every later root test ("no
// free subnet for the default bridge network").
func killProcessesOf(dir string) {
	for _, pid := range processesOf(dir, "tug-network\x00") {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	for deadline := time.Now().Add(3 * time.Second); len(processesOf(dir, "tug-network\x00")) > 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	for _, pid := range processesOf(dir, "") {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// processesOf lists the processes whose command line names dir and starts
// with prefix.
func processesOf(dir, prefix string) []int {
	var pids []int
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		cmdline, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(cmdline), dir+"/") || !strings.HasPrefix(string(cmdline), prefix) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killPause kills the pause process of runRoot, if its pid file names one
// (checked by its command line, so that a reused PID is left alone).
func killPause(runRoot string) {
	data, err := os.ReadFile(filepath.Join(runRoot, "pause.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.Fields(string(data) + " x")[0])
	if err != nil {
		return
	}
	if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); string(cmdline) == "tug-pause\x00"+runRoot+"\x00" {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

// TugArgs is the command line of tug for this env, global flags included.
func (e *Env) TugArgs(args ...string) []string {
	return append([]string{TugBin, "--root", e.Root, "--runroot", e.RunRoot}, args...)
}

// environ is the environment commands of this env run with.
func (e *Env) environ() []string {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + e.Home,
		"TMPDIR=" + e.TmpDir,
		"LANG=C.UTF-8",
		"TUG=" + strings.Join(e.TugArgs(), " "),
	}
	if e.Rootless {
		env = append(env, "USER="+testUser, "LOGNAME="+testUser, "XDG_RUNTIME_DIR="+userRuntime)
	} else {
		env = append(env, "USER=root", "LOGNAME=root")
	}
	return append(env, e.ExtraEnv...)
}

// commandTimeout bounds every command so that a hang fails a test, not CI.
const commandTimeout = 5 * time.Minute

func (e *Env) run(stdin io.Reader, argv ...string) Result {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = e.environ()
	cmd.Dir = e.TmpDir
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if e.Rootless {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(e.uid), Gid: uint32(e.gid), Groups: []uint32{}}}
	}
	err := cmd.Run()
	res := Result{Out: out.String(), Err: errb.String()}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			res.Code = ee.ExitCode()
		} else {
			e.T.Fatalf("running %v: %v", argv, err)
		}
	}
	if ctx.Err() != nil {
		e.T.Fatalf("%v did not finish within %s\nstdout: %s\nstderr: %s", argv, commandTimeout, res.Out, res.Err)
	}
	return res
}

// Tug runs tug with args and returns what it did; it never fails the test.
func (e *Env) Tug(args ...string) Result {
	e.T.Helper()
	return e.run(nil, e.TugArgs(args...)...)
}

// TugStdin runs tug with stdin.
func (e *Env) TugStdin(stdin string, args ...string) Result {
	e.T.Helper()
	return e.run(strings.NewReader(stdin), e.TugArgs(args...)...)
}

// TugOK runs tug and fails the test unless it exits 0.
func (e *Env) TugOK(args ...string) Result {
	e.T.Helper()
	r := e.Tug(args...)
	if r.Code != 0 {
		e.T.Fatalf("tug %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, r.Out, r.Err)
	}
	return r
}

// TugFail runs tug and fails the test unless it exits with code.
func (e *Env) TugFail(code int, args ...string) Result {
	e.T.Helper()
	r := e.Tug(args...)
	if r.Code != code {
		e.T.Fatalf("tug %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Code, code, r.Out, r.Err)
	}
	return r
}

// Sh runs a shell script as the env's user; $TUG in it is the tug command line.
func (e *Env) Sh(script string) Result {
	e.T.Helper()
	return e.run(nil, "/bin/sh", "-c", script)
}

// ShOK runs a shell script and fails the test unless it exits 0.
func (e *Env) ShOK(script string) Result {
	e.T.Helper()
	r := e.Sh(script)
	if r.Code != 0 {
		e.T.Fatalf("sh -c %q: exit %d\nstdout: %s\nstderr: %s", script, r.Code, r.Out, r.Err)
	}
	return r
}

// WriteFile writes a file owned by the env's user.
func (e *Env) WriteFile(path string, data []byte) {
	e.T.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		e.T.Fatal(err)
	}
	if err := os.Chown(path, e.uid, e.gid); err != nil {
		e.T.Fatal(err)
	}
}

// mustContain fails the test unless s contains each of wants.
func mustContain(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Fatalf("output does not contain %q:\n%s", w, s)
		}
	}
}
