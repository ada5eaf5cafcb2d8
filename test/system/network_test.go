//go:build system

package system

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePort is a TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// httpGet fetches http://127.0.0.1:port/, waiting for the server to come up.
func httpGet(t *testing.T, port int) string {
	t.Helper()
	client := &http.Client{Timeout: 3 * time.Second}
	var body string
	waitUntil(t, fmt.Sprintf("an answer on port %d", port), func() bool {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	return body
}

const httpd = "httpd -f -p 80 -h /var/www"

// The seed's nginx on -p 8080:80 (2.3), with busybox httpd: the host gets
// the page; port, ps and inspect tell the mapping (H16-H18).
func TestNetworkPublishedPort(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		port := freePort(t)
		e.TugOK(append([]string{"run", "-d", "--name", "web", "-p", fmt.Sprintf("%d:80", port), Img("busybox")}, strings.Fields(httpd)...)...)
		if body := httpGet(t, port); body != "<h1>hello from tug</h1>\n" {
			t.Fatalf("the published port answered %q", body)
		}
		if out := e.TugOK("port", "web").Out; out != fmt.Sprintf("80/tcp -> 0.0.0.0:%d\n", port) {
			t.Fatalf("tug port: %q", out)
		}
		if out := e.TugOK("container", "port", "web", "80").Out; out != fmt.Sprintf("0.0.0.0:%d\n", port) {
			t.Fatalf("tug container port web 80: %q", out)
		}
		e.TugFail(1, "port", "web", "81")
		if out := e.TugOK("ps", "--format", "{{.Ports}}").Out; out != fmt.Sprintf("0.0.0.0:%d->80/tcp\n", port) {
			t.Fatalf("ps PORTS: %q", out)
		}
		mustContain(t, e.TugOK("ps").Out, "PORTS", fmt.Sprintf("0.0.0.0:%d->80/tcp", port))
		// inspect | grep HostPort finds it, one key a line.
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^ +"HostPort": "%d"$`, port)).MatchString(e.TugOK("inspect", "web").Out) {
			t.Fatal("inspect web | grep HostPort does not show the host port")
		}
		if hp := e.inspect("web", `{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostIp}}`); hp != "0.0.0.0" {
			t.Fatalf("NetworkSettings.Ports HostIp %q", hp)
		}
		// Another container reaches the server by its address.
		ip := e.inspect("web", "{{.NetworkSettings.IPAddress}}")
		if out := e.TugOK("run", "--rm", Img("busybox"), "wget", "-qO-", "http://"+ip+"/").Out; out != "<h1>hello from tug</h1>\n" {
			t.Fatalf("container to container: %q", out)
		}
		// Stopped, the port is free again and shows nowhere.
		e.TugOK("stop", "-t", "0", "web")
		if out := e.TugOK("port", "web").Out; out != "" {
			t.Fatalf("tug port of a stopped container: %q", out)
		}
		ln, err := net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", port))
		if err != nil {
			t.Fatalf("the port stayed taken after stop: %v", err)
		}
		ln.Close()
	})
}

// -P publishes the image's EXPOSEd port on a free port from 32768 up (H16, internals 20).
func TestNetworkPublishAll(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		e.TugOK("run", "-d", "--name", "web", "-P", "--entrypoint", "httpd", Img("config"), "-f", "-p", "80", "-h", "/var/www")
		out := e.TugOK("port", "web").Out
		m := regexp.MustCompile(`^80/tcp -> 0\.0\.0\.0:(\d+)\n$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("tug port: %q", out)
		}
		port, _ := strconv.Atoi(m[1])
		if port < 32768 {
			t.Fatalf("-P chose port %d, below 32768", port)
		}
		if body := httpGet(t, port); body != "<h1>hello from tug</h1>\n" {
			t.Fatalf("-P port answered %q", body)
		}
		mustContain(t, e.TugOK("ps").Out, fmt.Sprintf("0.0.0.0:%d->80/tcp", port))
	})
}

// A taken host port fails run and start with a message that names it, and
// nothing is left running (internals 20, H21).
func TestNetworkPortConflict(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		ln, err := net.Listen("tcp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		port := ln.Addr().(*net.TCPAddr).Port
		r := e.TugFail(125, "run", "-d", "--name", "clash", "-p", fmt.Sprintf("%d:80", port), Img("busybox"), "sleep", "300")
		mustContain(t, r.Err, fmt.Sprintf("Bind for 0.0.0.0:%d failed: port is already allocated", port))
		if out := e.TugOK("ps", "-q").Out; out != "" {
			t.Fatalf("a container runs after the failed start: %q", out)
		}
		if st := e.inspect("clash", "{{.State.Status}}"); st != "created" {
			t.Fatalf("state after the failed start: %q", st)
		}
		// Between two containers: the second fails, the first keeps serving.
		ln.Close()
		e.TugOK(append([]string{"run", "-d", "--name", "first", "-p", fmt.Sprintf("%d:80", port), Img("busybox")}, strings.Fields(httpd)...)...)
		r = e.TugFail(125, append([]string{"run", "-d", "--name", "second", "-p", fmt.Sprintf("%d:80", port), Img("busybox")}, strings.Fields(httpd)...)...)
		mustContain(t, r.Err, fmt.Sprintf("0.0.0.0:%d", port), "port is already allocated")
		if body := httpGet(t, port); body != "<h1>hello from tug</h1>\n" {
			t.Fatalf("the first container stopped serving: %q", body)
		}
		e.TugFail(1, "start", "clash")
		if out := lines(e.TugOK("ps", "-q").Out); len(out) != 1 {
			t.Fatalf("running after the failed start: %v", out)
		}
		// Bad -p values are refused before anything is made.
		for _, bad := range []string{"0:80", "8080:80/sctp", "1.2.3:80:80", "8000-8002:80-81"} {
			r := e.TugFail(125, "run", "--rm", "-p", bad, Img("busybox"), "true")
			mustContain(t, r.Err, "-p/--publish")
		}
	})
}

// Two containers on one user network reach each other by name and alias;
// one on another network cannot, by name nor by address (H8, H9, internals 18-19).
func TestNetworkNameResolution(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.TugOK("network", "create", "front")
		e.TugOK("network", "create", "back")
		e.TugOK(append([]string{"run", "-d", "--name", "web", "--network", "front", "--network-alias", "www", bb}, strings.Fields(httpd)...)...)
		for _, name := range []string{"web", "www", e.inspect("web", "{{.Id}}")[:12]} {
			r := e.TugOK("run", "--rm", "--network", "front", bb, "wget", "-qO-", "http://"+name+"/")
			if r.Out != "<h1>hello from tug</h1>\n" {
				t.Fatalf("wget http://%s/ on the same network: %q %q", name, r.Out, r.Err)
			}
		}
		ip := e.inspect("web", "{{.NetworkSettings.Networks.front.IPAddress}}")
		r := e.Tug("run", "--rm", "--network", "back", bb, "ping", "-c", "1", "web")
		if r.Code == 0 || !strings.Contains(r.Out+r.Err, "ping: bad address 'web'") {
			t.Fatalf("web resolved from another network: %d %q %q", r.Code, r.Out, r.Err)
		}
		r = e.Tug("run", "--rm", "--network", "back", bb, "ping", "-c", "2", "-W", "1", ip)
		if r.Code == 0 || !strings.Contains(r.Out, "100% packet loss") {
			t.Fatalf("web reached by address from another network: %d %q", r.Code, r.Out)
		}
		// A renamed container answers to its new name.
		e.TugOK("rename", "web", "site")
		if out := e.TugOK("run", "--rm", "--network", "front", bb, "wget", "-qO-", "http://site/").Out; out != "<h1>hello from tug</h1>\n" {
			t.Fatalf("after rename: %q", out)
		}
		e.TugOK("rename", "site", "web")
		// The default bridge network has no name resolution.
		e.TugOK("run", "-d", "--name", "plain", bb, "sleep", "300")
		r = e.Tug("run", "--rm", bb, "ping", "-c", "1", "plain")
		mustContain(t, r.Out+r.Err, "bad address 'plain'")
		// --network container:web shares web's localhost (H14).
		if out := e.TugOK("run", "--rm", "--network", "container:web", bb, "wget", "-qO-", "http://localhost/").Out; out != "<h1>hello from tug</h1>\n" {
			t.Fatalf("container:web localhost: %q", out)
		}
	})
}

// The seed's lab (2.14, H1-H15, internals 17-22), as written, with c3's
// shell replaced by containers that share c3's network namespace.
func TestNetworkLab(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		out := e.TugOK("network", "ls").Out
		if !regexp.MustCompile(`^NETWORK ID +NAME +DRIVER +SCOPE\n`).MatchString(out) {
			t.Fatalf("network ls header: %q", out)
		}
		for _, row := range []string{`bridge +bridge +local`, `host +host +local`, `none +none +null +local`} {
			if row == `none +none +null +local` {
				row = `none +null +local`
			}
			if !regexp.MustCompile(`(?m)^[0-9a-f]{12} +` + row + `$`).MatchString(out) {
				t.Fatalf("network ls has no row %q:\n%s", row, out)
			}
		}
		bridge := e.TugOK("network", "inspect", "bridge").Out
		subnet := regexp.MustCompile(`"Subnet": "([0-9./]+)"`).FindStringSubmatch(bridge)
		if subnet == nil {
			t.Fatalf("network inspect bridge has no Subnet:\n%s", bridge)
		}
		// Docker's 172.17.0.0/16, unless the host routes it already (another
		// data root's bridge, as root).
		if e.Rootless && subnet[1] != "172.17.0.0/16" {
			t.Fatalf("default bridge subnet %s", subnet[1])
		}
		prefix := strings.TrimSuffix(subnet[1], "0.0/16")
		mustContain(t, bridge, `"Gateway": "`+prefix+`0.1"`, `"Driver": "bridge"`, `"Scope": "local"`)

		e.TugOK("network", "create", "--driver", "bridge", "sample-net")
		if !e.Rootless && !strings.Contains(e.TugOK("network", "inspect", "sample-net").Out, `"Subnet": "172.`) {
			t.Fatal("sample-net did not get a 172.x subnet")
		}
		if e.Rootless {
			if out := e.Sh(`$TUG network inspect sample-net | grep Subnet`).Out; strings.TrimSpace(out) != `"Subnet": "172.18.0.0/16",` {
				t.Fatalf("network inspect sample-net | grep Subnet: %q", out)
			}
		}
		e.TugOK("network", "create", "--driver", "bridge", "--subnet", "10.1.0.0/16", "test-net")
		r := e.TugFail(125, "network", "create", "--subnet", "10.1.128.0/17", "overlap")
		mustContain(t, r.Err, "overlaps")

		e.TugOK("container", "run", "--name", "c1", "-d", bb, "sleep", "300")
		e.TugOK("container", "run", "--name", "c2", "-d", bb, "ping", "127.0.0.1")
		if ip := e.inspect("c1", "{{.NetworkSettings.IPAddress}}"); ip != prefix+"0.2" {
			t.Fatalf("c1's address %s, want %s0.2", ip, prefix)
		}
		c2ip := e.inspect("c2", "{{.NetworkSettings.IPAddress}}")
		if c2ip != prefix+"0.3" {
			t.Fatalf("c2's address %s, want %s0.3", c2ip, prefix)
		}
		// The view from inside (H15).
		out = e.TugOK("run", "--rm", "--network", "container:c1", bb, "sh", "-c", "ip addr show eth0; ip route").Out
		mac := fmt.Sprintf("02:42:%02x:%02x:00:02", atoi(strings.Split(prefix, ".")[0]), atoi(strings.Split(prefix, ".")[1]))
		mustContain(t, out, "link/ether "+mac, "inet "+prefix+"0.2/16 brd "+prefix+"255.255 scope global eth0",
			"default via "+prefix+"0.1 dev eth0", prefix+"0.0/16 dev eth0 scope link  src "+prefix+"0.2")
		if !regexp.MustCompile(`eth0@if\d+:`).MatchString(out) {
			t.Fatalf("eth0 is not a veth: %s", out)
		}

		e.TugOK("container", "run", "--name", "c3", "-d", "--network", "test-net", bb, "ping", "127.0.0.1")
		e.TugOK("container", "run", "--name", "c4", "-d", "--network", "test-net", bb, "ping", "127.0.0.1")
		tn := e.TugOK("network", "inspect", "test-net").Out
		mustContain(t, tn, `"Name": "c3"`, `"Name": "c4"`, `"IPv4Address": "10.1.0.2/16"`, `"IPv4Address": "10.1.0.3/16"`)
		inC3 := func(cmd ...string) Result {
			return e.Tug(append([]string{"run", "--rm", "--network", "container:c3", bb}, cmd...)...)
		}
		r = inC3("ping", "-c", "1", "c4")
		if r.Code != 0 || !strings.HasPrefix(r.Out, "PING c4 (10.1.0.3): 56 data bytes\n") || !strings.Contains(r.Out, "1 packets received") {
			t.Fatalf("ping c4 from c3: %d %q %q", r.Code, r.Out, r.Err)
		}
		if r = inC3("ping", "-c", "1", "10.1.0.3"); r.Code != 0 {
			t.Fatalf("ping 10.1.0.3 from c3: %q", r.Out)
		}
		r = inC3("ping", "-c", "1", "c2")
		if r.Code == 0 || !strings.Contains(r.Err, "ping: bad address 'c2'") {
			t.Fatalf("ping c2 from c3: %d %q %q", r.Code, r.Out, r.Err)
		}
		// (From a container of its own: one sharing c3's namespaces would
		// count the replies of c3's own ping 127.0.0.1, whose ID is its PID, 1.)
		r = e.Tug("run", "--rm", "--network", "test-net", bb, "ping", "-c", "3", "-W", "1", c2ip)
		if r.Code == 0 || !strings.Contains(r.Out, "3 packets transmitted, 0 packets received, 100% packet loss") {
			t.Fatalf("ping %s from c3: %d %q", c2ip, r.Code, r.Out)
		}

		// c5 on both networks: eth0 and eth1, reachable from each (H7, internals 19).
		e.TugOK("container", "run", "--name", "c5", "-d", "--network", "sample-net", "--network", "test-net", bb, "ping", "127.0.0.1")
		out = e.TugOK("run", "--rm", "--network", "container:c5", bb, "ip", "-o", "-4", "addr").Out
		mustContain(t, out, "eth0", "eth1", "10.1.0.4/16")
		for _, nw := range []string{"sample-net", "test-net"} {
			if r := e.Tug("run", "--rm", "--network", nw, bb, "ping", "-c", "1", "c5"); r.Code != 0 {
				t.Fatalf("c5 from %s: %q %q", nw, r.Out, r.Err)
			}
		}
		if r := inC3("ping", "-c", "1", "c5"); r.Code != 0 || !strings.Contains(r.Out, "(10.1.0.4)") {
			t.Fatalf("c5 from c3: %q", r.Out)
		}

		// Removal is refused while containers are attached (H10, internals 22).
		r = e.TugFail(1, "network", "rm", "test-net")
		id := strings.TrimSpace(e.TugOK("network", "inspect", "--format", "{{.Id}}", "test-net").Out)
		mustContain(t, r.Err, "network test-net id "+id+" has active endpoints")
		e.Sh(`$TUG container rm -f $($TUG container ls -aq) >/dev/null`)
		e.TugOK("network", "rm", "sample-net")
		e.TugOK("network", "rm", "test-net")
		e.TugFail(1, "network", "exists", "test-net")
		e.TugOK("network", "exists", "bridge")
		r = e.TugFail(1, "network", "rm", "bridge")
		mustContain(t, r.Err, "pre-defined network")

		// none and host (H12, H13).
		r = e.Tug("run", "--rm", "--network", "none", bb, "ip", "addr", "show", "eth0")
		if r.Code == 0 || !strings.Contains(r.Err, "ip: can't find device 'eth0'") {
			t.Fatalf("none: %d %q %q", r.Code, r.Out, r.Err)
		}
		if out := e.TugOK("run", "--rm", "--network", "none", bb, "ip", "route").Out; out != "" {
			t.Fatalf("none has routes: %q", out)
		}
		hostIfs, _ := readDir("/sys/class/net")
		if out := e.TugOK("run", "--rm", "--network", "host", bb, "ls", "/sys/class/net").Out; len(lines(out)) != len(hostIfs) {
			t.Fatalf("host: %q", out)
		}
		// Prune removes the networks no container names.
		e.TugOK("network", "create", "unused")
		e.TugOK("network", "create", "used")
		e.TugOK("create", "--network", "used", bb, "true")
		out = e.TugOK("network", "prune", "-f").Out
		if out != "Deleted Networks:\nunused\n" {
			t.Fatalf("network prune: %q", out)
		}
		if !regexp.MustCompile(`(?m)^used$`).MatchString(e.TugOK("network", "ls", "--format", "{{.Name}}", "--filter", "type=custom").Out) {
			t.Fatal("prune removed a network a container names")
		}
		// system prune takes the unused networks too.
		e.TugOK("network", "create", "unused2")
		mustContain(t, e.TugOK("system", "prune", "-f").Out, "Deleted Networks:\nunused2\n")
	})
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// connect and disconnect work on a running container, with their events
// (H22), and a stopped container keeps what it was connected to.
func TestNetworkConnectDisconnect(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.TugOK("network", "create", "front")
		e.TugOK(append([]string{"run", "-d", "--name", "web", bb}, strings.Fields(httpd)...)...)
		r := e.Tug("run", "--rm", "--network", "front", bb, "wget", "-T", "2", "-qO-", "http://web/")
		if r.Code == 0 {
			t.Fatal("web answered on front before it was connected")
		}
		e.TugOK("network", "connect", "--alias", "site", "front", "web")
		for _, name := range []string{"web", "site"} {
			if out := e.TugOK("run", "--rm", "--network", "front", bb, "wget", "-qO-", "http://"+name+"/").Out; out != "<h1>hello from tug</h1>\n" {
				t.Fatalf("after connect, %s: %q", name, out)
			}
		}
		mustContain(t, e.TugOK("run", "--rm", "--network", "container:web", bb, "ip", "-o", "-4", "addr").Out, "eth1")
		mustContain(t, e.TugOK("network", "inspect", "front").Out, `"Name": "web"`)
		r = e.TugFail(125, "network", "connect", "front", "web")
		mustContain(t, r.Err, "already exists in network front")
		e.TugOK("network", "disconnect", "front", "web")
		r = e.Tug("run", "--rm", "--network", "front", bb, "ping", "-c", "1", "web")
		mustContain(t, r.Out+r.Err, "bad address 'web'")
		if out := e.TugOK("run", "--rm", "--network", "container:web", bb, "ip", "-o", "-4", "addr").Out; strings.Contains(out, "eth1") {
			t.Fatalf("eth1 stayed after disconnect: %s", out)
		}
		r = e.TugFail(125, "network", "disconnect", "front", "web")
		mustContain(t, r.Err, "is not connected to network front")
		// A stopped container joins at its next start.
		e.TugOK("stop", "-t", "0", "web")
		e.TugOK("network", "connect", "front", "web")
		e.TugOK("start", "web")
		if nets := e.inspect("web", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}"); !regexp.MustCompile(`^bridge=\S+ front=\S+$`).MatchString(nets) {
			t.Fatalf("networks after a restart: %q", nets)
		}
		// The events: connect and disconnect, at start, stop and by hand.
		events := readNetEvents(t, e)
		var got []string
		for _, ev := range events {
			if ev.Type == "network" && (ev.Action == "connect" || ev.Action == "disconnect") {
				got = append(got, ev.Action+" "+ev.Actor.Attributes["name"])
				if ev.Actor.Attributes["container"] != e.inspect("web", "{{.Id}}") && ev.Actor.Attributes["container"] == "" {
					t.Fatalf("event without its container: %+v", ev)
				}
			}
		}
		joined := strings.Join(got, ",")
		for _, want := range []string{"connect bridge", "connect front", "disconnect front", "disconnect bridge"} {
			if !strings.Contains(joined, want) {
				t.Fatalf("events %q lack %q", joined, want)
			}
		}
	})
}

type netEventLine struct {
	Type, Action string
	Actor        struct {
		ID         string
		Attributes map[string]string
	}
}

func readNetEvents(t *testing.T, e *Env) []netEventLine {
	t.Helper()
	f, err := os.Open(filepath.Join(e.RunRoot, "events.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []netEventLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev netEventLine
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			out = append(out, ev)
		}
	}
	return out
}

// kill -9 of a container's monitor (and of the container): the next tug
// call frees its address and its port.
func TestNetworkKilledMonitorReleases(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		e.TugOK("network", "create", "front")
		port := freePort(t)
		id := e.ID(e.TugOK(append([]string{"run", "-d", "--network", "front", "-p", fmt.Sprintf("%d:80", port), bb}, strings.Fields(httpd)...)...).Out)
		ip := e.inspect(id, "{{.NetworkSettings.Networks.front.IPAddress}}")
		httpGet(t, port)
		pid := atoi(e.inspect(id, "{{.State.Pid}}"))
		syscall.Kill(monitorPid(t, e, id), syscall.SIGKILL)
		syscall.Kill(pid, syscall.SIGKILL)
		waitUntil(t, "the container seen exited", func() bool { return e.inspect(id, "{{.State.Status}}") == "exited" })
		if strings.Contains(e.TugOK("network", "inspect", "front").Out, id) {
			t.Fatal("the killed container is still attached to front")
		}
		// The same address and the same port serve a new container.
		e.TugOK(append([]string{"run", "-d", "--name", "again", "--network", "front", "-p", fmt.Sprintf("%d:80", port), bb}, strings.Fields(httpd)...)...)
		if got := e.inspect("again", "{{.NetworkSettings.Networks.front.IPAddress}}"); got != ip {
			t.Fatalf("the new container got %s, not the freed %s", got, ip)
		}
		if body := httpGet(t, port); body != "<h1>hello from tug</h1>\n" {
			t.Fatalf("the freed port answered %q", body)
		}
	})
}

// Bad network input is refused with exit 125 and nothing made.
func TestNetworkBadInput(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		bb := Img("busybox")
		for _, bad := range [][]string{
			{"network", "create", "--subnet", "10.1.0.1/16", "n"},
			{"network", "create", "--subnet", "300.1.0.0/16", "n"},
			{"network", "create", "--subnet", "10.1.0.0/16", "--gateway", "10.2.0.1", "n"},
			{"network", "create", "--driver", "macvlan", "n"},
			{"network", "create", "-o", "com.example.unknown=1", "n"},
			{"network", "create", "bad name"},
			{"network", "create", "host"},
			{"run", "--rm", "--ip", "172.17.0.9", bb, "true"},
			{"run", "--rm", "--network-alias", "x", bb, "true"},
			{"run", "--rm", "--network", "host", "--network", "bridge", bb, "true"},
			{"run", "--rm", "--mac-address", "zz", bb, "true"},
			{"run", "--rm", "--network", "container:nope", "-p", "80", bb, "true"},
		} {
			r := e.TugFail(125, bad...)
			if !strings.Contains(r.Err, "Error") {
				t.Fatalf("%v: no message: %q", bad, r.Err)
			}
		}
		if out := e.TugOK("network", "ls", "-q", "--filter", "type=custom").Out; out != "" {
			t.Fatalf("bad input made networks: %q", out)
		}
		if out := e.TugOK("ps", "-aq").Out; out != "" {
			t.Fatalf("bad input made containers: %q", out)
		}
		// --ip, --mac-address and an alias on a user network.
		e.TugOK("network", "create", "--subnet", "10.7.0.0/24", "--ip-range", "10.7.0.128/25", "fixed")
		out := e.TugOK("run", "--rm", "--network", "fixed", "--ip", "10.7.0.9", "--mac-address", "02:00:00:00:00:09", bb, "ip", "addr", "show", "eth0").Out
		mustContain(t, out, "inet 10.7.0.9/24", "link/ether 02:00:00:00:00:09")
		if out := e.TugOK("run", "--rm", "--network", "fixed", bb, "ip", "-o", "-4", "addr", "show", "eth0").Out; !strings.Contains(out, "10.7.0.128/24") {
			t.Fatalf("--ip-range: %q", out)
		}
		r := e.TugFail(125, "run", "--rm", "--network", "fixed", "--ip", "10.8.0.9", bb, "true")
		mustContain(t, r.Err, "not in network fixed's subnet")
	})
}
