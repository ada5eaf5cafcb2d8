package parse

import "testing"

func TestBuildArg(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "HOME" {
			return "/root", true
		}
		return "", false
	}
	for _, c := range []struct {
		in, key, value string
		ok, err        bool
	}{
		{"A=b", "A", "b", true, false},
		{"A=", "A", "", true, false},
		{"A=b=c", "A", "b=c", true, false},
		{"HOME", "HOME", "/root", true, false},
		{"UNSET", "UNSET", "", false, false},
		{"=x", "", "", false, true},
		{"A B=c", "", "", false, true},
	} {
		k, v, ok, err := BuildArg(c.in, env)
		if (err != nil) != c.err || k != c.key || v != c.value || ok != c.ok {
			t.Errorf("BuildArg(%q) = %q %q %v %v", c.in, k, v, ok, err)
		}
	}
}

func TestParseBuildSecret(t *testing.T) {
	for _, c := range []struct {
		in   string
		want BuildSecret
		err  bool
	}{
		{"id=tok,src=/tmp/tok", BuildSecret{ID: "tok", File: "/tmp/tok"}, false},
		{"id=tok,source=/tmp/t", BuildSecret{ID: "tok", File: "/tmp/t"}, false},
		{"id=tok,env=TOKEN", BuildSecret{ID: "tok", Env: "TOKEN"}, false},
		{"id=TOKEN", BuildSecret{ID: "TOKEN", Env: "TOKEN"}, false},
		{"id=tok,type=env", BuildSecret{ID: "tok", Env: "tok"}, false},
		{"src=/a/b/key", BuildSecret{ID: "key", File: "/a/b/key"}, false},
		{"id=tok,type=file", BuildSecret{}, true},
		{"id=tok,src=/a,env=B", BuildSecret{}, true},
		{"tok", BuildSecret{}, true},
		{"id=a/b,src=/x", BuildSecret{}, true},
		{"id=t,colour=red", BuildSecret{}, true},
		{"", BuildSecret{}, true},
	} {
		got, err := ParseBuildSecret(c.in)
		if (err != nil) != c.err || !c.err && got != c.want {
			t.Errorf("ParseBuildSecret(%q) = %+v, %v", c.in, got, err)
		}
	}
}

func FuzzBuildArg(f *testing.F) {
	for _, s := range []string{"A=b", "A", "=", "A B", "A=b=c", "\x00=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, _, ok, err := BuildArg(s, func(string) (string, bool) { return "v", true })
		if err == nil && (k == "" || !ok) {
			t.Fatalf("BuildArg(%q) accepted an empty key", s)
		}
	})
}

func FuzzParseBuildSecret(f *testing.F) {
	for _, s := range []string{"id=a,src=/b", "id=a,env=B", "id=a", "src=/x/y", "type=env,id=q", ",,", "id=a,type=file,src=f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sec, err := ParseBuildSecret(s)
		if err != nil {
			return
		}
		if sec.ID == "" || (sec.File == "") == (sec.Env == "") {
			t.Fatalf("ParseBuildSecret(%q) = %+v: needs an id and exactly one source", s, sec)
		}
	})
}
