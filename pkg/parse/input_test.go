package parse

import (
	"strings"
	"syscall"
	"testing"
)

func noEnv(string) (string, bool) { return "", false }

func TestEnvAndEnvFile(t *testing.T) {
	lookup := func(k string) (string, bool) {
		if k == "HOME" {
			return "/root", true
		}
		return "", false
	}
	if kv, ok, err := Env("A=b=c", lookup); err != nil || !ok || kv != "A=b=c" {
		t.Fatalf("A=b=c: %q %v %v", kv, ok, err)
	}
	if kv, ok, _ := Env("HOME", lookup); !ok || kv != "HOME=/root" {
		t.Fatalf("HOME from the environment: %q", kv)
	}
	if _, ok, _ := Env("UNSET", lookup); ok {
		t.Fatal("an unset bare name must be dropped")
	}
	if _, _, err := Env("=x", lookup); err == nil {
		t.Fatal("empty name accepted")
	}
	env, err := ParseEnvFile([]byte("# comment\n\nA=1\n  B=\"quoted\"\r\nHOME\nUNSET\n"), lookup)
	if err != nil || strings.Join(env, ",") != `A=1,B="quoted",HOME=/root` {
		t.Fatalf("env file: %q %v", env, err)
	}
	if _, err := ParseEnvFile([]byte("ok=1\n=bad\n"), lookup); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("error must name the line: %v", err)
	}
}

func TestSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{"SIGTERM": syscall.SIGTERM, "term": syscall.SIGTERM, "9": syscall.SIGKILL, "USR1": syscall.SIGUSR1, "RTMIN+3": 37, "SIGRTMAX-1": 63} {
		if got, err := Signal(in); err != nil || got != want {
			t.Errorf("Signal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "65", "SIGFOO", "RTMIN+40", "RTMAX+1"} {
		if _, err := Signal(bad); err == nil {
			t.Errorf("Signal(%q) accepted", bad)
		}
	}
	if SignalName(syscall.SIGCHLD) != "SIGCHLD" || SignalName(syscall.SIGUSR1) != "SIGUSR1" {
		t.Fatal("SignalName")
	}
}

func TestUlimit(t *testing.T) {
	u, err := ParseUlimit("nofile=1024:2048")
	if err != nil || u != (Ulimit{"nofile", 1024, 2048}) || u.RlimitType() != "RLIMIT_NOFILE" {
		t.Fatalf("%+v %v", u, err)
	}
	if u, _ := ParseUlimit("core=-1"); u.Soft != -1 || u.Hard != -1 {
		t.Fatalf("unlimited: %+v", u)
	}
	for _, bad := range []string{"nofile", "foo=1", "nofile=2:1", "nofile=x", "nofile=-1:5"} {
		if _, err := ParseUlimit(bad); err == nil {
			t.Errorf("ParseUlimit(%q) accepted", bad)
		}
	}
}

func TestAddHost(t *testing.T) {
	for in, want := range map[string]string{"db:10.0.0.1": "db 10.0.0.1", "v6:[::1]": "v6 ::1", "v6b:::1": "v6b ::1", "x=1.2.3.4": "x 1.2.3.4", "gw:host-gateway": "gw host-gateway"} {
		h, ip, err := AddHost(in)
		if err != nil || h+" "+ip != want {
			t.Errorf("AddHost(%q) = %q %q %v", in, h, ip, err)
		}
	}
	for _, bad := range []string{"db", "db:notip", ":1.2.3.4", "-x:1.2.3.4", "a b:1.1.1.1"} {
		if _, _, err := AddHost(bad); err == nil {
			t.Errorf("AddHost(%q) accepted", bad)
		}
	}
}

func TestUserAndTmpfsAndLogConfig(t *testing.T) {
	if u, g, err := User("tuguser:1000"); err != nil || u != "tuguser" || g != "1000" {
		t.Fatal(u, g, err)
	}
	for _, bad := range []string{"", ":g", "u:", "a:b:c"} {
		if _, _, err := User(bad); err == nil {
			t.Errorf("User(%q) accepted", bad)
		}
	}
	if d, o, err := Tmpfs("/run/:rw,size=64m,mode=1777"); err != nil || d != "/run" || len(o) != 3 {
		t.Fatal(d, o, err)
	}
	for _, bad := range []string{"run", "/", "/x:bogus"} {
		if _, _, err := Tmpfs(bad); err == nil {
			t.Errorf("Tmpfs(%q) accepted", bad)
		}
	}
	lc, err := ParseLogConfig("json-file", []string{"max-size=1k", "max-file=2"})
	if err != nil || lc.MaxSize != 1024 || lc.MaxFile != 2 {
		t.Fatalf("%+v %v", lc, err)
	}
	for _, bad := range [][]string{{"max-size=big"}, {"max-file=0"}, {"max-file=3"}, {"nope=1"}, {"novalue"}} {
		if _, err := ParseLogConfig("json-file", bad); err == nil {
			t.Errorf("log opts %q accepted", bad)
		}
	}
	if _, err := ParseLogConfig("syslog", nil); err == nil {
		t.Error("unknown driver accepted")
	}
	if _, err := ParseLogConfig("none", []string{"max-size=1k"}); err == nil {
		t.Error("none takes no options")
	}
}

func TestRestartPolicy(t *testing.T) {
	good := map[string]RestartPolicy{
		"":               {Name: "no"},
		"no":             {Name: "no"},
		"always":         {Name: "always"},
		"always:0":       {Name: "always"},
		"unless-stopped": {Name: "unless-stopped"},
		"on-failure":     {Name: "on-failure"},
		"on-failure:3":   {Name: "on-failure", MaxRetries: 3},
	}
	for in, want := range good {
		if p, err := ParseRestartPolicy(in); err != nil || p != want {
			t.Errorf("%q: %+v %v, want %+v", in, p, err, want)
		}
	}
	bad := map[string]string{
		"always:3":      "maximum retry count can only be used with 'on-failure'",
		"no:-1":         "can only be used with 'on-failure' and cannot be negative",
		"on-failure:-2": "maximum retry count cannot be negative",
		"on-failure:x":  "maximum retry count must be an integer",
		":3":            "no policy provided before colon",
		"sometimes":     "unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'",
	}
	for in, msg := range bad {
		if _, err := ParseRestartPolicy(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", in, err, msg)
		}
	}
	if (RestartPolicy{Name: "on-failure", MaxRetries: 2}).Flag() != "on-failure:2" || (RestartPolicy{}).Flag() != "no" {
		t.Error("Flag")
	}
}

func FuzzRestartPolicy(f *testing.F) {
	for _, s := range []string{"no", "always", "on-failure:3", "unless-stopped", "always:1", ":", "on-failure:-1", "on-failure:99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseRestartPolicy(s)
		if err != nil {
			return
		}
		switch p.Name {
		case "no", "always", "unless-stopped":
			if p.MaxRetries != 0 {
				t.Fatalf("%q: retries %d on %s", s, p.MaxRetries, p.Name)
			}
		case "on-failure":
			if p.MaxRetries < 0 {
				t.Fatalf("%q: negative retries", s)
			}
		default:
			t.Fatalf("%q: accepted as %q", s, p.Name)
		}
		if again, err := ParseRestartPolicy(p.Flag()); err != nil || again != p {
			t.Fatalf("%q: round trip through %q gives %+v %v", s, p.Flag(), again, err)
		}
	})
}

// The fuzz targets check that no input panics and that accepted values
// satisfy the invariants the engine relies on.

func FuzzSignal(f *testing.F) {
	for _, s := range []string{"SIGTERM", "9", "rtmin+2", "RTMAX-0", "SIG", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if sig, err := Signal(s); err == nil && (sig < 1 || sig > 64) {
			t.Fatalf("%q -> %d out of range", s, sig)
		}
	})
}

func FuzzUlimit(f *testing.F) {
	for _, s := range []string{"nofile=1024:2048", "core=-1", "nproc=1:", "stack=unlimited"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUlimit(s)
		if err == nil && u.Hard != -1 && (u.Soft > u.Hard || u.Soft < 0) {
			t.Fatalf("%q -> %+v", s, u)
		}
	})
}

func FuzzAddHost(f *testing.F) {
	for _, s := range []string{"db:10.0.0.1", "v6:[::1]", "x=::ffff:1.2.3.4", "a:host-gateway", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, ip, err := AddHost(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(h+ip, " \t\n#") || Hostname(h) != nil {
			t.Fatalf("%q -> %q %q would corrupt /etc/hosts", s, h, ip)
		}
	})
}

func FuzzEnvFile(f *testing.F) {
	for _, s := range []string{"A=1\n#c\nB\n", "\xef\xbb\xbfX=y\r\n", "=x", "A=\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvFile(data, noEnv)
		if err != nil {
			return
		}
		for _, kv := range env {
			if name, _, _ := strings.Cut(kv, "="); name == "" || strings.ContainsAny(kv, "\n\x00") {
				t.Fatalf("bad entry %q", kv)
			}
		}
	})
}

func FuzzUser(f *testing.F) {
	for _, s := range []string{"root", "1000:1000", "tuguser:users", "a::b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, g, err := User(s)
		if err == nil && (u == "" || strings.Contains(u+g, ":")) {
			t.Fatalf("%q -> %q %q", s, u, g)
		}
	})
}

func FuzzLogConfig(f *testing.F) {
	f.Add("json-file", "max-size=1k", "max-file=2")
	f.Add("k8s-file", "max-size=10m", "tag=x")
	f.Add("none", "", "")
	f.Fuzz(func(t *testing.T, driver, a, b string) {
		var opts []string
		for _, o := range []string{a, b} {
			if o != "" {
				opts = append(opts, o)
			}
		}
		lc, err := ParseLogConfig(driver, opts)
		if err == nil && (lc.MaxFile < 1 || lc.MaxSize < 0 || lc.MaxFile > 1 && lc.MaxSize == 0) {
			t.Fatalf("%q %q -> %+v", driver, opts, lc)
		}
	})
}

func FuzzTmpfs(f *testing.F) {
	for _, s := range []string{"/run", "/run:rw,size=64m", "/x:mode=1777,uid=1", "rel:rw"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, _, err := Tmpfs(s)
		if err == nil && (!strings.HasPrefix(d, "/") || d == "/") {
			t.Fatalf("%q -> %q", s, d)
		}
	})
}
