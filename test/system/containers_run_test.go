//go:build system

package system

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Chapter A: one-shot runs, exit codes, and nothing created on bad input.
func TestContainersRunOutputAndExitCodes(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		r := e.TugOK("run", "--rm", bb, "echo", "Hello World")
		if r.Out != "Hello World\n" {
			t.Fatalf("run output %q", r.Out)
		}
		// An image not in the store is pulled first, with Docker's lines on stderr.
		r = e.TugOK("run", "--rm", Img("multilayer"), "cat", "/opt/layer2.txt")
		if r.Out != "second layer\n" {
			t.Fatalf("run of a pulled image: %q", r.Out)
		}
		mustContain(t, r.Err, "Unable to find image '"+Img("multilayer")+"' locally", "Pull complete", "Status: Downloaded newer image for")
		if r = e.TugOK("run", "--rm", Img("multilayer"), "true"); r.Err != "" {
			t.Fatalf("a second run pulled again: %q", r.Err)
		}
		e.TugFail(3, "run", "--rm", bb, "sh", "-c", "exit 3")
		r = e.TugFail(127, "run", "--rm", bb, "no-such-command")
		mustContain(t, r.Err, "executable file not found")
		r = e.TugFail(126, "run", "--rm", bb, "/etc/passwd")
		mustContain(t, r.Err, "permission denied")
		// Output on both streams, in the container's order per stream.
		r = e.TugOK("run", "--rm", bb, "sh", "-c", "echo out; echo err >&2; echo out2")
		if r.Out != "out\nout2\n" || r.Err != "err\n" {
			t.Fatalf("streams: out %q err %q", r.Out, r.Err)
		}
		if ids := e.TugOK("ps", "-aq").Out; ids != "" {
			t.Fatalf("--rm left containers: %q", ids)
		}
		// Bad input: exit 125, a message naming the problem, nothing created.
		for _, bad := range [][]string{
			{"run", "--no-such-flag", bb},
			{"run", "--ulimit", "nofile=bogus", bb, "true"},
			{"run", "--stop-signal", "SIGNOPE", bb, "true"},
			{"run", "--log-opt", "max-size=huge", bb, "true"},
			{"run", "--network", "no-such-network", bb, "true"},
			{"run", "--cap-add", "CAP_FLY", bb, "true"},
			{"run", "--add-host", "db", bb, "true"},
			{"run", "-e", "=x", bb, "true"},
			{"run", "--name", "bad name", bb, "true"},
			{"run", "--pull", "never", "no-such-image-here", "true"},
			{"run"},
		} {
			r := e.TugFail(125, bad...)
			if !strings.Contains(r.Err, "Error") {
				t.Fatalf("%v: no error message: %q", bad, r.Err)
			}
		}
		if ids := e.TugOK("ps", "-aq").Out; ids != "" {
			t.Fatalf("bad input created containers: %q", ids)
		}
		// A name is unique.
		e.TugOK("create", "--name", "taken", bb, "true")
		r = e.TugFail(125, "run", "--name", "taken", bb, "true")
		mustContain(t, r.Err, `The container name "/taken" is already in use`)
		// A container that failed to start stays, as Created.
		e.TugFail(127, "run", "--name", "nocmd", bb, "no-such-command")
		if st := e.inspect("nocmd", "{{.State.Status}} {{.State.ExitCode}}"); st != "created 127" {
			t.Fatalf("state after a failed start: %q", st)
		}
	})
}

func TestContainersRunConfiguration(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.WriteFile(e.TmpDir+"/env.list", []byte("# comment\nFROM_FILE=yes\nBOTH=file\n"))
		r := e.TugOK("run", "--rm", "--env-file", e.TmpDir+"/env.list", "-e", "BOTH=flag", "-e", "PLAIN=1", "-w", "/tmp/work", bb, "sh", "-c", "echo $FROM_FILE $BOTH $PLAIN; pwd")
		if r.Out != "yes flag 1\n/tmp/work\n" {
			t.Fatalf("env and workdir: %q", r.Out)
		}
		r = e.TugOK("run", "--rm", "--entrypoint", "/bin/echo", bb, "via", "entrypoint")
		if r.Out != "via entrypoint\n" {
			t.Fatalf("--entrypoint: %q", r.Out)
		}
		// The config image: ENTRYPOINT echo entrypoint, CMD default-cmd, USER tuguser, WORKDIR /work.
		cfg := Img("config")
		if out := e.TugOK("run", "--rm", cfg).Out; out != "entrypoint default-cmd\n" {
			t.Fatalf("image entrypoint+cmd: %q", out)
		}
		if out := e.TugOK("run", "--rm", cfg, "given").Out; out != "entrypoint given\n" {
			t.Fatalf("args replace CMD: %q", out)
		}
		r = e.TugOK("run", "--rm", "--entrypoint", "sh", cfg, "-c", "id -un; pwd; echo $GREETING")
		if r.Out != "tuguser\n/work\nhello world\n" {
			t.Fatalf("image user, workdir, env: %q", r.Out)
		}
		if out := e.TugOK("run", "--rm", "-u", "root", "--entrypoint", "id", cfg, "-u").Out; out != "0\n" {
			t.Fatalf("-u root: %q", out)
		}
		if out := e.TugOK("run", "--rm", "-u", "tuguser", bb, "id").Out; !strings.HasPrefix(out, "uid=1000(tuguser) gid=1000(tuguser)") {
			t.Fatalf("--user by name: %q", out)
		}
		if out := e.TugOK("run", "--rm", "-u", "1234:5678", bb, "id").Out; !strings.HasPrefix(out, "uid=1234 gid=5678") {
			t.Fatalf("--user uid:gid: %q", out)
		}
		if out := e.TugOK("run", "--rm", "-u", "tuguser", "--group-add", "root", bb, "id", "-G").Out; out != "1000 0\n" {
			t.Fatalf("--group-add: %q", out)
		}
		r = e.TugFail(125, "run", "--rm", "-u", "nobody-here", bb, "true")
		mustContain(t, r.Err, "unable to find user nobody-here")
		// Hostname is the short ID, also in /etc/hostname and /etc/hosts.
		id := strings.TrimSpace(e.TugOK("run", "-d", bb, "sleep", "60").Out)
		r = e.TugOK("container", "inspect", "--format", "{{.Config.Hostname}}", id)
		if strings.TrimSpace(r.Out) != id[:12] {
			t.Fatalf("Config.Hostname %q, want %q", r.Out, id[:12])
		}
		r = e.TugOK("run", "--rm", bb, "sh", "-c", "hostname; cat /etc/hostname; grep -c $(hostname) /etc/hosts")
		f := lines(r.Out)
		if len(f) != 3 || len(f[0]) != 12 || f[0] != f[1] || f[2] != "1" {
			t.Fatalf("hostname files: %q", r.Out)
		}
		if out := e.TugOK("run", "--rm", "-h", "myhost", "--add-host", "db:10.1.2.3", bb, "sh", "-c", "hostname; grep db /etc/hosts").Out; out != "myhost\n10.1.2.3\tdb\n" {
			t.Fatalf("-h and --add-host: %q", out)
		}
		out := e.TugOK("run", "--rm", "--dns", "10.9.9.9", "--dns-search", "example.test", "--dns-option", "ndots:2", bb, "cat", "/etc/resolv.conf").Out
		if out != "search example.test\nnameserver 10.9.9.9\noptions ndots:2\n" {
			t.Fatalf("--dns*: %q", out)
		}
		// Read-only root, with a writable tmpfs.
		r = e.Tug("run", "--rm", "--read-only", bb, "touch", "/etc/x")
		if r.Code == 0 || !strings.Contains(r.Err, "Read-only file system") {
			t.Fatalf("--read-only write: %d %q", r.Code, r.Err)
		}
		e.TugOK("run", "--rm", "--read-only", "--tmpfs", "/scratch:size=1m", bb, "sh", "-c", "touch /scratch/x && grep ' /scratch ' /proc/mounts | grep -q tmpfs")
		if out := e.TugOK("run", "--rm", "--ulimit", "nofile=512:1024", bb, "sh", "-c", "ulimit -n; ulimit -Hn").Out; out != "512\n1024\n" {
			t.Fatalf("--ulimit: %q", out)
		}
		// Labels from flags and files.
		e.WriteFile(e.TmpDir+"/labels", []byte("from=file\n"))
		e.TugOK("create", "--name", "lab", "-l", "a=1", "--label-file", e.TmpDir+"/labels", bb, "true")
		if l := e.inspect("lab", `{{index .Config.Labels "a"}} {{index .Config.Labels "from"}}`); l != "1 file" {
			t.Fatalf("labels: %q", l)
		}
		// --cidfile.
		cid := e.TmpDir + "/cid"
		e.TugOK("run", "--rm", "--cidfile", cid, bb, "true")
		r = e.TugFail(125, "run", "--rm", "--cidfile", cid, bb, "true")
		mustContain(t, r.Err, "container ID file found")
	})
}

// Docker's security defaults, and the flags that change them.
func TestContainersSecurityDefaults(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		caps := func(args ...string) map[string]string {
			out := e.TugOK(append(append([]string{"run", "--rm"}, args...), bb, "grep", "-E", "^(Cap|Seccomp|NoNewPrivs)", "/proc/self/status")...).Out
			m := map[string]string{}
			for _, l := range lines(out) {
				k, v, _ := strings.Cut(l, ":")
				m[k] = strings.TrimSpace(v)
			}
			return m
		}
		def := caps()
		// Docker's 14 default capabilities.
		if def["CapBnd"] != "00000000a80425fb" || def["CapEff"] != "00000000a80425fb" || def["CapInh"] != "0000000000000000" {
			t.Fatalf("default capabilities: %v", def)
		}
		if def["Seccomp"] != "2" || def["NoNewPrivs"] != "0" {
			t.Fatalf("seccomp filter not active or no_new_privs set: %v", def)
		}
		if c := caps("--cap-drop", "ALL"); c["CapBnd"] != "0000000000000000" || c["CapEff"] != "0000000000000000" {
			t.Fatalf("--cap-drop ALL: %v", c)
		}
		if c := caps("--cap-drop", "ALL", "--cap-add", "NET_RAW"); c["CapBnd"] != "0000000000002000" {
			t.Fatalf("--cap-add NET_RAW after ALL dropped: %v", c)
		}
		if c := caps("--cap-add", "SYS_ADMIN"); c["CapBnd"] != "00000000a82425fb" {
			t.Fatalf("--cap-add SYS_ADMIN: %v", c)
		}
		if c := caps("--privileged"); c["Seccomp"] != "0" || c["CapBnd"] == def["CapBnd"] {
			t.Fatalf("--privileged: %v", c)
		}
		if c := caps("--security-opt", "seccomp=unconfined"); c["Seccomp"] != "0" {
			t.Fatalf("seccomp=unconfined: %v", c)
		}
		if c := caps("--security-opt", "no-new-privileges", "--security-opt", "label=disable"); c["NoNewPrivs"] != "1" {
			t.Fatalf("no-new-privileges: %v", c)
		}
		// A custom profile that refuses mkdir with EPERM.
		e.WriteFile(e.TmpDir+"/profile.json", []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`))
		r := e.Tug("run", "--rm", "--security-opt", "seccomp="+e.TmpDir+"/profile.json", bb, "mkdir", "/tmp/d")
		if r.Code == 0 || !strings.Contains(r.Err, "not permitted") {
			t.Fatalf("custom seccomp profile: %d %q", r.Code, r.Err)
		}
		// The default profile refuses what Docker's refuses (unshare of a user namespace needs CAP_SYS_ADMIN).
		if r := e.Tug("run", "--rm", bb, "unshare", "-U", "true"); r.Code == 0 {
			t.Fatal("unshare -U allowed by the default seccomp profile")
		}
		// Masked and read-only paths.
		r = e.TugOK("run", "--rm", bb, "sh", "-c", "wc -c < /proc/kcore; touch /proc/sys/kernel/x 2>&1; grep ' /proc/sys ' /proc/mounts")
		mustContain(t, r.Out, "0\n", "/proc/sys proc ro")
		if r := e.TugOK("run", "--rm", bb, "sh", "-c", "echo 1 > /proc/sysrq-trigger 2>/dev/null && echo writable || echo refused"); r.Out != "refused\n" {
			t.Fatalf("/proc/sysrq-trigger: %q", r.Out)
		}
		// Namespaces: PID 1 inside, own UTS, IPC and mount.
		if out := e.TugOK("run", "--rm", bb, "sh", "-c", "echo $$").Out; out != "1\n" {
			t.Fatalf("PID inside: %q", out)
		}
	})
}

func TestContainersNetworkModes(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		out := e.TugOK("run", "--rm", "--network", "none", bb, "ls", "/sys/class/net").Out
		if out != "lo\n" {
			t.Fatalf("--network none interfaces: %q", out)
		}
		// The default network is Docker's bridge (see network_test.go).
		gw := strings.TrimSpace(e.TugOK("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "bridge").Out)
		out = e.TugOK("run", "--rm", bb, "sh", "-c", "ip -4 -o addr show eth0; ip route; cat /etc/resolv.conf").Out
		mustContain(t, out, "eth0", "default via "+gw+" dev eth0")
		if strings.Contains(out, "nameserver 127.") {
			t.Fatalf("host loopback resolver kept in a container: %s", out)
		}
		if e.Rootless {
			mustContain(t, out, "nameserver 10.0.2.3")
		}
		if r := e.TugOK("container", "inspect", "--format", "{{.HostConfig.NetworkMode}}", e.ID(e.TugOK("create", bb, "true").Out)); strings.TrimSpace(r.Out) != "bridge" {
			t.Fatalf("NetworkMode %q", r.Out)
		}
		// slirp4netns (Podman's) stays as an explicit choice.
		out = e.TugOK("run", "--rm", "--network", "slirp4netns", bb, "sh", "-c", "ip -4 -o addr show eth0; ip route; cat /etc/resolv.conf").Out
		mustContain(t, out, "10.0.2.100/24", "default via 10.0.2.2", "nameserver 10.0.2.3")
		// host: the host's interfaces (those there before and after: other
		// tests add and remove veths meanwhile).
		before, _ := readDir("/sys/class/net")
		out = e.TugOK("run", "--rm", "--network", "host", bb, "ls", "/sys/class/net").Out
		after, _ := readDir("/sys/class/net")
		seen := strings.Fields(out)
		for _, name := range before {
			if slices.Contains(after, name) && !slices.Contains(seen, name) {
				t.Fatalf("--network host sees %q, the host has %v", out, after)
			}
		}
		hostName, _ := os.Hostname()
		if out := e.TugOK("run", "--rm", "--network", "host", bb, "hostname").Out; out != hostName+"\n" {
			t.Fatalf("--network host hostname %q, the host's is %q", out, hostName)
		}
		// container:NAME shares the network namespace (same address, same loopback).
		e.TugOK("run", "-d", "--name", "netowner", bb, "sh", "-c", "echo shared > /tmp/i; httpd -f -p 127.0.0.1:8081 -h /tmp")
		waitUntil(t, "netowner running", func() bool { return e.inspect("netowner", "{{.State.Running}}") == "true" })
		for _, mode := range []string{"--network=container:netowner", "--net=container:netowner"} {
			r := e.Tug("run", "--rm", mode, bb, "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://127.0.0.1:8081/i && exit 0; sleep 0.2; done; exit 1")
			if r.Code != 0 || r.Out != "shared\n" {
				t.Fatalf("%s: %d %q %q", mode, r.Code, r.Out, r.Err)
			}
		}
		e.TugOK("stop", "-t", "0", "netowner")
		r := e.TugFail(125, "run", "--rm", "--network", "container:netowner", bb, "true")
		mustContain(t, r.Err, "non running container")
	})
}

// The default network reaches a server: a server on the host's loopback,
// through slirp4netns's 10.0.2.2 when allowed; refused by default, as the
// host's loopback is off limits (podman's default too).
func TestContainersDefaultNetworkReachesServer(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		srv := startHTTPServer(t, "reached from a container\n")
		url := "http://10.0.2.2:" + srv + "/"
		r := e.Tug("run", "--rm", "--network", "slirp4netns:allow_host_loopback=true", bb, "wget", "-qO-", url)
		if r.Code != 0 || r.Out != "reached from a container\n" {
			t.Fatalf("wget through slirp4netns: %d %q %q", r.Code, r.Out, r.Err)
		}
		r = e.Tug("run", "--rm", "--network", "slirp4netns", bb, "timeout", "10", "wget", "-qO-", url)
		if r.Code == 0 {
			t.Fatalf("the host's loopback was reachable by default: %q", r.Out)
		}
		// Nor from the default bridge network: rootless through slirp4netns's
		// 10.0.2.2, as root through the gateway (the server is on 127.0.0.1).
		url = "http://10.0.2.2:" + srv + "/"
		if !e.Rootless {
			url = "http://" + strings.TrimSpace(e.TugOK("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", "bridge").Out) + ":" + srv + "/"
		}
		r = e.Tug("run", "--rm", bb, "timeout", "10", "wget", "-qO-", url)
		if r.Code == 0 {
			t.Fatalf("the host's loopback was reachable from the default network: %q", r.Out)
		}
	})
}

// ID extracts the container ID printed by run -d or create.
func (e *Env) ID(out string) string {
	e.T.Helper()
	id := strings.TrimSpace(out)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		e.T.Fatalf("not a container ID: %q", out)
	}
	return id
}

func inspectJSON(t *testing.T, e *Env, name string) map[string]any {
	t.Helper()
	var docs []map[string]any
	if err := json.Unmarshal([]byte(e.TugOK("container", "inspect", name).Out), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("inspect %s: %v", name, err)
	}
	return docs[0]
}
