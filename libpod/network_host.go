package libpod

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.podman.io/storage/pkg/reexec"
	"golang.org/x/sys/unix"

	"github.com/tug-project/tug/pkg/monitor"
	"github.com/tug-project/tug/pkg/network"
	"github.com/tug-project/tug/pkg/network/dnsserver"
)

// The network host ("tug-network", one per runroot) is the small process
// that bridge networks need beyond each container's monitor, started on
// first need:
//
//   - rootless, it holds the network namespace the bridges and veths live
//     in (pinned at <runroot>/network/netns) and joins it to the host with
//     slirp4netns (tap0, masqueraded) for egress;
//   - both ways, it is the DNS server of user-defined networks, on their
//     gateways, answering from the state DB.
//
// It exits once no container has been attached for netHostLinger, or
// when its runroot goes away; killed, the next tug call that needs it
// starts another, which adopts the namespace.
const netHostName = "tug-network"

// netHostLinger is how long the network host outlives the last container:
// a burst of short runs reuses one.
const netHostLinger = 30 * time.Second

func init() { reexec.Register(netHostName, netHostMain) }

func (r *Runtime) netDir() string { return filepath.Join(r.RunRoot, "network") }

// bridgeNS is the namespace of the bridges: the rootless one, or the host's ("").
func (r *Runtime) bridgeNS() string {
	if r.Rootless {
		return filepath.Join(r.netDir(), "netns")
	}
	return ""
}

// bridgeNSReady reports whether the bridges' namespace exists.
func (r *Runtime) bridgeNSReady() bool { return !r.Rootless || network.IsNS(r.bridgeNS()) }

// firewallTable names tug's nftables table: "tug" for the default data
// root, else one per root so that two roots on one host keep apart.
func (r *Runtime) firewallTable() string {
	if r.Rootless || r.Root == "/var/lib/tug" {
		return "tug"
	}
	sum := sha256.Sum256([]byte(r.Root))
	return "tug-" + hex.EncodeToString(sum[:4])
}

// netLock serializes what changes networks' kernel state and leases.
type netLock struct{ f *os.File }

func (r *Runtime) lockNetworks() (*netLock, error) {
	path := filepath.Join(r.netDir(), "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if os.IsNotExist(err) {
		if err := os.MkdirAll(r.netDir(), 0o700); err != nil {
			return nil, err
		}
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("locking the networks: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking the networks: %w", err)
	}
	return &netLock{f: f}, nil
}

func (l *netLock) unlock() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

func (r *Runtime) netHostPidFile() string { return filepath.Join(r.netDir(), "host.pid") }
func (r *Runtime) netHostSocket() string  { return filepath.Join(r.netDir(), netHostSocketName) }

const netHostSocketName = "host.sock"

// dialNetHost connects to the network host's socket through a descriptor
// of its directory, so that the path stays short whatever the runroot.
func (r *Runtime) dialNetHost() (net.Conn, error) {
	dir, err := os.Open(r.netDir())
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return net.DialTimeout("unix", fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), netHostSocketName), time.Second)
}

// netHostPid is the running network host's PID, 0 if none.
func (r *Runtime) netHostPid() int {
	data, err := os.ReadFile(r.netHostPidFile())
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) != 2 {
		return 0
	}
	pid, _ := strconv.Atoi(f[0])
	start, _ := strconv.ParseUint(f[1], 10, 64)
	if !alive(pid, start) {
		return 0
	}
	cmdline, _ := os.ReadFile("/proc/" + f[0] + "/cmdline")
	if !strings.HasPrefix(string(cmdline), netHostName+"\x00") {
		return 0
	}
	return pid
}

// ensureNetHost starts the network host unless it runs. The caller holds
// the network lock.
func (r *Runtime) ensureNetHost() error {
	if r.netHostPid() != 0 && r.bridgeNSReady() {
		return nil
	}
	trace("network: starting the network host")
	if err := os.MkdirAll(r.netDir(), 0o700); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(r.netDir(), "host.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer readyR.Close()
	cmd := reexec.Command(append([]string{netHostName}, r.selfArgs()[1:]...)...)
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return fmt.Errorf("starting the network host: %w", err)
	}
	go cmd.Wait()
	readyR.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(readyR).ReadString('\n')
	if strings.TrimSpace(line) == "ok" {
		trace("network: network host ready")
		return nil
	}
	if msg := strings.TrimSpace(strings.TrimPrefix(line, "error:")); msg != "" {
		return fmt.Errorf("starting the network host: %s", msg)
	}
	logged, _ := os.ReadFile(filepath.Join(r.netDir(), "host.log"))
	return fmt.Errorf("the network host exited at start (%v): %s", err, strings.TrimSpace(lastLines(string(logged), 5)))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// netHostSync asks a running network host to serve DNS on the networks
// the DB has now (after a network was created or removed).
func (r *Runtime) netHostSync() {
	if r.netHostPid() == 0 {
		return
	}
	conn, err := r.dialNetHost()
	if err != nil {
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	conn.Write([]byte("sync\n"))
	bufio.NewReader(conn).ReadString('\n')
}

// netHost is the network host process.
type netHost struct {
	r     *Runtime
	slirp *network.Slirp
	dns   *dnsserver.Server

	mu sync.Mutex
	// bridges are the bridges of the root's networks, for the teardown
	// (as root) even when the state DB is gone.
	bridges map[string]bool
	snap    *dnsSnapshot
	ver     int64
	// missing are gateways the DNS server could not listen on yet.
	missing map[netip.Addr]bool
}

func netHostMain() {
	debugLog := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, time.Now().Format(time.RFC3339)+" "+format+"\n", a...)
	}
	ready := os.NewFile(3, "ready")
	fail := func(err error) {
		fmt.Fprintf(ready, "error: %v\n", err)
		debugLog("%v", err)
		os.Exit(1)
	}
	var opts Options
	args := os.Args[1:]
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "--root":
			opts.Root = args[i+1]
		case "--runroot":
			opts.RunRoot = args[i+1]
		case "--config":
			opts.ConfigPath = args[i+1]
		}
	}
	r, err := NewRuntime(opts)
	if err != nil {
		fail(err)
	}
	h := &netHost{r: r, missing: map[netip.Addr]bool{}, bridges: map[string]bool{}}
	if err := h.start(); err != nil {
		h.teardown()
		fail(err)
	}
	ready.Write([]byte("ok\n"))
	ready.Close()
	debugLog("network host %d ready", os.Getpid())
	// It idles for as long as containers run: keep it small.
	debug.SetGCPercent(20)
	time.AfterFunc(time.Second, monitor.TrimMemory)
	reason := h.run()
	debugLog("network host exiting: %s", reason)
}

func (h *netHost) start() error {
	r := h.r
	db, err := r.DB()
	if err != nil {
		return err
	}
	// PRAGMA data_version is per connection: keep to one.
	db.sql.SetMaxOpenConns(1)
	if r.Rootless {
		ns := r.bridgeNS()
		if !network.IsNS(ns) {
			os.Remove(ns)
			if err := network.CreateNS(ns); err != nil {
				return err
			}
		}
		if err := network.SetSysctl(ns, "net/ipv4/ip_forward", "1"); err != nil {
			return fmt.Errorf("enabling forwarding in the network namespace: %w", err)
		}
		if err := network.LinkUp(ns, "lo"); err != nil {
			return err
		}
		if err := h.startSlirp(); err != nil {
			return err
		}
	}
	resolv, _ := os.ReadFile("/etc/resolv.conf")
	h.dns = &dnsserver.Server{Records: h, Upstreams: dnsserver.Upstreams(resolv)}
	h.sync()
	// Relative to the network directory: a long runroot would pass the
	// 108-byte limit of socket paths.
	if err := os.Chdir(r.netDir()); err != nil {
		return err
	}
	os.Remove(r.netHostSocket())
	ln, err := net.Listen("unix", netHostSocketName)
	if err != nil {
		return err
	}
	go h.serveCtl(ln)
	pid := os.Getpid()
	tmp := r.netHostPidFile() + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d %d\n", pid, procStartTime(pid))), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, r.netHostPidFile())
}

func (h *netHost) startSlirp() error {
	bin, err := exec.LookPath("slirp4netns")
	if err != nil {
		return fmt.Errorf("rootless bridge networks need slirp4netns, which is not installed: install it, or use --network none or host")
	}
	if network.LinkExists(h.r.bridgeNS(), "tap0") {
		// A killed network host's slirp4netns is gone, its device soon too.
		network.DeleteLink(h.r.bridgeNS(), "tap0")
	}
	h.slirp, err = network.StartSlirp(network.SlirpOptions{Binary: bin, NSPath: h.r.bridgeNS(), Device: "tap0", MTU: 65520,
		AllowHostLoopback: h.r.Config.Network.AllowHostLoopback})
	return err
}

// sync serves DNS on the gateway of every user-defined network, and on no other address.
func (h *netHost) sync() {
	nets, err := h.r.Networks()
	if err != nil {
		return
	}
	var gws []netip.Addr
	h.mu.Lock()
	for _, n := range nets {
		if n.Driver == DriverBridge && n.DNS && n.Gateway.IsValid() {
			gws = append(gws, n.Gateway)
		}
		if n.Driver == DriverBridge && n.Bridge != "" {
			h.bridges[n.Bridge] = true
		}
	}
	h.mu.Unlock()
	h.dns.Keep(gws)
	var listening []string
	for _, gw := range gws {
		err := h.dns.Listen(h.r.bridgeNS(), gw)
		h.mu.Lock()
		if err != nil {
			if !h.missing[gw] {
				fmt.Fprintf(os.Stderr, "%s\n", err)
			}
			h.missing[gw] = true
		} else {
			delete(h.missing, gw)
			listening = append(listening, gw.String())
		}
		h.mu.Unlock()
	}
	// What the CLI checks before it starts a container on a network.
	tmp := filepath.Join(h.r.netDir(), dnsListeningFile+".tmp")
	if os.WriteFile(tmp, []byte(strings.Join(listening, "\n")+"\n"), 0o600) == nil {
		os.Rename(tmp, filepath.Join(h.r.netDir(), dnsListeningFile))
	}
}

// dnsListeningFile lists the gateways the network host's DNS server listens on.
const dnsListeningFile = "dns.listening"

// ensureDNS makes sure the network host answers on each gateway, asking it
// to try again for a while when it does not (the address may still be
// held by a network host of another data root that is going away). It
// warns when it gives up: the container runs, without name resolution.
func (r *Runtime) ensureDNS(nets []*Network) {
	listening := func() map[string]bool {
		m := map[string]bool{}
		data, _ := os.ReadFile(filepath.Join(r.netDir(), dnsListeningFile))
		for _, l := range strings.Fields(string(data)) {
			m[l] = true
		}
		return m
	}
	missing := func() []*Network {
		l := listening()
		var out []*Network
		for _, n := range nets {
			if n.DNS && !l[n.Gateway.String()] {
				out = append(out, n)
			}
		}
		return out
	}
	deadline := time.Now().Add(5 * time.Second)
	for m := missing(); len(m) > 0; m = missing() {
		if time.Now().After(deadline) {
			for _, n := range m {
				fmt.Fprintf(os.Stderr, "WARNING: the DNS server of network %s cannot listen on %s:53 (see %s): containers will not resolve names there\n", n.Name, n.Gateway, filepath.Join(r.netDir(), "host.log"))
			}
			return
		}
		r.netHostSync()
		if len(missing()) > 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func (h *netHost) serveCtl(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			line, _ := bufio.NewReader(conn).ReadString('\n')
			if strings.TrimSpace(line) == "sync" {
				h.sync()
			}
			conn.Write([]byte("ok\n"))
		}()
	}
}

// run waits until the host has nothing left to do; it returns why it ends.
func (h *netHost) run() string {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var slirpDone <-chan struct{}
	if h.slirp != nil {
		slirpDone = h.slirp.Done()
	}
	idleSince := time.Now()
	for n := 0; ; n++ {
		select {
		case <-sigs:
			h.exit()
			return "signalled"
		case <-slirpDone:
			// slirp4netns died: bring egress back.
			fmt.Fprintln(os.Stderr, "slirp4netns exited: restarting it")
			if err := h.startSlirp(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				slirpDone = nil
			} else {
				slirpDone = h.slirp.Done()
			}
		case <-tick.C:
		}
		if _, err := os.Stat(filepath.Join(h.r.Root, "tug.db")); err != nil {
			h.exit()
			return "its state database is gone"
		}
		if _, err := os.Stat(h.r.netDir()); err != nil {
			h.exit()
			return "its runroot is gone"
		}
		h.mu.Lock()
		retry := len(h.missing) > 0
		h.mu.Unlock()
		if retry && n%8 == 0 {
			h.sync()
		}
		if n%8 != 0 {
			continue
		}
		if h.endpointCount() > 0 {
			idleSince = time.Now()
			continue
		}
		if time.Since(idleSince) < netHostLinger {
			continue
		}
		lock, err := h.r.lockNetworks()
		if err != nil {
			continue
		}
		if h.endpointCount() == 0 {
			h.teardown()
			lock.unlock()
			return "idle"
		}
		lock.unlock()
	}
}

func (h *netHost) endpointCount() int {
	db, err := h.r.DB()
	if err != nil {
		return 0
	}
	var n int
	db.sql.QueryRow(`SELECT COUNT(*) FROM endpoints`).Scan(&n)
	return n
}

// exit tears down under the network lock.
func (h *netHost) exit() {
	lock, err := h.r.lockNetworks()
	h.teardown()
	if err == nil {
		lock.unlock()
	}
}

// teardown stops serving and lets the namespace go (rootless: with every
// bridge and veth in it).
func (h *netHost) teardown() {
	if h.dns != nil {
		h.dns.Close()
	}
	if h.slirp != nil {
		h.slirp.Stop()
	}
	if h.r.Rootless {
		network.RemoveNS(h.r.bridgeNS())
	} else {
		// As root the bridges are the host's: none outlives its use.
		if nets, err := h.r.Networks(); err == nil {
			for _, n := range nets {
				if n.Driver == DriverBridge && n.Bridge != "" {
					h.bridges[n.Bridge] = true
				}
			}
		}
		for b := range h.bridges {
			network.DeleteLink("", b)
		}
		network.Firewall{Table: h.r.firewallTable()}.Remove()
	}
	os.Remove(filepath.Join(h.r.netDir(), "firewall.sum"))
	if data, err := os.ReadFile(h.r.netHostPidFile()); err == nil && strings.HasPrefix(string(data), strconv.Itoa(os.Getpid())+" ") {
		os.Remove(h.r.netHostPidFile())
	}
	os.Remove(h.r.netHostSocket())
	os.Remove(filepath.Join(h.r.netDir(), dnsListeningFile))
}

// dnsSnapshot is what DNS answers come from, reloaded when the DB changes.
type dnsSnapshot struct {
	gateways map[netip.Addr]*Network        // gateway -> network
	byNet    map[string][]EndpointState     // network ID -> endpoints
	byCtr    map[string][]EndpointState     // container ID -> endpoints
	byIP     map[netip.Addr][]EndpointState // container address -> endpoints
	subnets  []netip.Prefix
}

func (h *netHost) snapshot() *dnsSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	db, err := h.r.DB()
	if err != nil {
		return &dnsSnapshot{}
	}
	var ver int64
	db.sql.QueryRow(`PRAGMA data_version`).Scan(&ver)
	if h.snap != nil && ver == h.ver {
		return h.snap
	}
	s := &dnsSnapshot{gateways: map[netip.Addr]*Network{}, byNet: map[string][]EndpointState{}, byCtr: map[string][]EndpointState{}, byIP: map[netip.Addr][]EndpointState{}}
	nets, _ := h.r.Networks()
	for _, n := range nets {
		if n.Driver != DriverBridge {
			continue
		}
		s.gateways[n.Gateway] = n
		s.subnets = append(s.subnets, n.Subnet)
	}
	rows, err := db.sql.Query(`SELECT config FROM endpoints ORDER BY network_id, ip`)
	if err == nil {
		for rows.Next() {
			var cfg string
			var ep EndpointState
			if rows.Scan(&cfg) == nil && json.Unmarshal([]byte(cfg), &ep) == nil {
				s.byNet[ep.NetworkID] = append(s.byNet[ep.NetworkID], ep)
				s.byCtr[ep.ContainerID] = append(s.byCtr[ep.ContainerID], ep)
				s.byIP[ep.IP] = append(s.byIP[ep.IP], ep)
			}
		}
		rows.Close()
	}
	h.snap, h.ver = s, ver
	return s
}

// scope is the networks a client may resolve names on: the network it asked
// on first, then its container's other user-defined networks.
func (s *dnsSnapshot) scope(server, client netip.Addr) []string {
	n := s.gateways[server]
	if n == nil || !n.DNS {
		return nil
	}
	out := []string{n.ID}
	for _, ep := range s.byIP[client] {
		if ep.NetworkID != n.ID {
			continue
		}
		for _, other := range s.byCtr[ep.ContainerID] {
			if o := s.netByID(other.NetworkID); o != nil && o.DNS && other.NetworkID != n.ID {
				out = append(out, other.NetworkID)
			}
		}
	}
	return out
}

func (s *dnsSnapshot) netByID(id string) *Network {
	for _, n := range s.gateways {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// Lookup implements dnsserver.Records.
func (h *netHost) Lookup(server, client netip.Addr, name string) ([]netip.Addr, bool) {
	s := h.snapshot()
	for _, netID := range s.scope(server, client) {
		var ips []netip.Addr
		for _, ep := range s.byNet[netID] {
			for _, n := range ep.DNSNames {
				if strings.EqualFold(n, name) {
					ips = append(ips, ep.IP)
					break
				}
			}
		}
		if len(ips) > 0 {
			return ips, true
		}
	}
	return nil, false
}

// Reverse implements dnsserver.Records.
func (h *netHost) Reverse(server, client, ip netip.Addr) (string, bool) {
	s := h.snapshot()
	for _, netID := range s.scope(server, client) {
		for _, ep := range s.byNet[netID] {
			if ep.IP == ip && len(ep.DNSNames) > 0 {
				return ep.DNSNames[0], true
			}
		}
	}
	return "", false
}

// Ours implements dnsserver.Records.
func (h *netHost) Ours(ip netip.Addr) bool {
	for _, p := range h.snapshot().subnets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// stopNetHost ends the network host of this runroot (network rm of the
// last network, tests); it tears down what it holds.
func (r *Runtime) stopNetHost(ctx context.Context) error {
	pid := r.netHostPid()
	if pid == 0 {
		return nil
	}
	if err := unix.Kill(pid, unix.SIGTERM); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	for r.netHostPid() != 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
