package parse

import (
	"path"
	"reflect"
	"strings"
	"testing"
)

func TestParseVolume(t *testing.T) {
	good := map[string]Mount{
		"/data":                  {Type: MountVolume, Destination: "/data"},
		"my-data:/data":          {Type: MountVolume, Source: "my-data", Destination: "/data", Mode: "z"},
		"my-data:/app/data/:ro":  {Type: MountVolume, Source: "my-data", Destination: "/app/data", ReadOnly: true, Mode: "ro"},
		"vol:/d:nocopy,U":        {Type: MountVolume, Source: "vol", Destination: "/d", NoCopy: true, Chown: true, Mode: "nocopy,U"},
		"/srv/x:/x":              {Type: MountBind, Source: "/srv/x", Destination: "/x", Propagation: "rprivate", CreateSource: true},
		"/srv/x/../y:/x:ro,Z":    {Type: MountBind, Source: "/srv/y", Destination: "/x", ReadOnly: true, Relabel: "Z", Propagation: "rprivate", CreateSource: true, Mode: "ro,Z"},
		"/srv:/x:rshared,noexec": {Type: MountBind, Source: "/srv", Destination: "/x", Propagation: "rshared", Options: []string{"noexec"}, CreateSource: true, Mode: "rshared,noexec"},
		"./src:/app/src":         {Type: MountBind, Source: "/home/u/proj/src", Destination: "/app/src", Propagation: "rprivate", CreateSource: true},
		".:/src":                 {Type: MountBind, Source: "/home/u/proj", Destination: "/src", Propagation: "rprivate", CreateSource: true},
		"../up:/up":              {Type: MountBind, Source: "/home/u/up", Destination: "/up", Propagation: "rprivate", CreateSource: true},
	}
	for spec, want := range good {
		got, err := ParseVolume(spec, "/home/u/proj")
		if err != nil {
			t.Errorf("%q: %v", spec, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n got %+v\nwant %+v", spec, got, want)
		}
	}
	bad := map[string]string{
		"":                 "invalid volume specification",
		"data":             "mount path must be absolute",
		"vol:data":         "mount path must be absolute",
		"vol:/":            "destination can't be '/'",
		"/":                "destination can't be '/'",
		"/data:ro":         "invalid volume specification",
		"a:b:c:d":          "invalid volume specification",
		":/data":           "invalid volume specification",
		"src/x:/app":       `"src/x" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
		"x:/app":           "volume name is too short",
		"vol:/d:ro,rw":     "invalid mode: ro,rw",
		"vol:/d:shared":    "only for bind mounts",
		"/h:/d:nocopy":     "only for volumes",
		"vol:/d:bogus":     "unknown option",
		"vol:/d:":          "invalid volume specification",
		"/h:/d:z,Z":        "conflict",
		"/h:/d:shared,rw,": "invalid mode",
	}
	for spec, want := range bad {
		_, err := ParseVolume(spec, "/cwd")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", spec, err, want)
		}
	}
	if _, err := ParseVolume("src/x:/app", "/"); err == nil || !strings.HasPrefix(err.Error(), "create src/x: ") {
		t.Errorf("a bad volume name is not worded as Docker's: %v", err)
	}
}

func TestParseMount(t *testing.T) {
	good := map[string]Mount{
		"source=my-vol,target=/app":                               {Type: MountVolume, Source: "my-vol", Destination: "/app", Mode: "z"},
		"src=my-vol,dst=/app,readonly":                            {Type: MountVolume, Source: "my-vol", Destination: "/app", ReadOnly: true, Mode: "z"},
		"type=volume,destination=/app,ro=false,volume-nocopy":     {Type: MountVolume, Destination: "/app", NoCopy: true},
		"type=bind,source=/code,target=/app":                      {Type: MountBind, Source: "/code", Destination: "/app", Propagation: "rprivate"},
		"type=bind,src=./code,target=/app,readonly=true":          {Type: MountBind, Source: "/w/code", Destination: "/app", ReadOnly: true, Propagation: "rprivate", Mode: "ro"},
		"type=bind,src=/c,target=/app,bind-propagation=rslave":    {Type: MountBind, Source: "/c", Destination: "/app", Propagation: "rslave"},
		"type=bind,src=/c,target=/app,bind-recursive=disabled":    {Type: MountBind, Source: "/c", Destination: "/app", Propagation: "rprivate", NonRecursive: true},
		"type=tmpfs,target=/cache,tmpfs-size=64m,tmpfs-mode=1770": {Type: MountTmpfs, Destination: "/cache", TmpfsSize: 64 << 20, TmpfsMode: 0o1770},
		`type=volume,src=vv,dst=/d,volume-opt=type=tmpfs,"volume-opt=o=size=1m,uid=0",volume-label=a=b`: {
			Type: MountVolume, Source: "vv", Destination: "/d", Mode: "z",
			VolumeOptions: map[string]string{"type": "tmpfs", "o": "size=1m,uid=0"}, VolumeLabels: map[string]string{"a": "b"}},
		"type=volume,src=vv,dst=/d,volume-subpath=sub/dir,volume-driver=local": {Type: MountVolume, Source: "vv", Destination: "/d", Mode: "z", Subpath: "sub/dir", VolumeDriver: "local"},
		"TYPE=bind,Source=/c,Target=/d,U,relabel=private":                      {Type: MountBind, Source: "/c", Destination: "/d", Propagation: "rprivate", Chown: true, Relabel: "Z"},
	}
	for spec, want := range good {
		got, err := ParseMount(spec, "/w")
		if err != nil {
			t.Errorf("%q: %v", spec, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n got %+v\nwant %+v", spec, got, want)
		}
	}
	bad := map[string]string{
		"":                                       "invalid --mount",
		"source=v":                               "field Target must not be empty",
		"type=bind,target=/d":                    "field Source must not be empty",
		"type=bind,source=rel,target=/d":         "mount path must be absolute",
		"type=tmpfs,source=x,target=/d":          "field Source must not be specified",
		"type=npipe,target=/d":                   "invalid --mount type",
		"target=/d,bind-propagation=shared":      "cannot mix 'bind-*' options with mount type 'volume'",
		"type=bind,src=/a,dst=/d,volume-opt=a=b": "cannot mix 'volume-*'",
		"type=bind,src=/a,dst=/d,tmpfs-size=1":   "cannot mix 'tmpfs-*'",
		"target=/d,readonly=maybe":               "invalid value for readonly: maybe",
		"target=/d,bogus=1":                      "unexpected key 'bogus'",
		"target":                                 "must be a key=value pair",
		"type=tmpfs,target=/d,tmpfs-size=big":    "invalid value for tmpfs-size",
		"type=tmpfs,target=/d,tmpfs-mode=999":    "invalid value for tmpfs-mode",
		"target=/d,volume-subpath=../x":          "volume-subpath",
		"src=a/b,target=/d":                      "includes invalid characters",
		`target="/d`:                             "invalid --mount",
		"target=/d,volume-opt=o":                 "KEY=VALUE",
	}
	for spec, want := range bad {
		_, err := ParseMount(spec, "/w")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", spec, err, want)
		}
	}
}

func TestCheckMountsRefusesDuplicateDestinations(t *testing.T) {
	a, _ := ParseVolume("v1:/data", "/")
	b, _ := ParseMount("type=tmpfs,target=/data/", "/")
	if err := CheckMounts([]Mount{a, b}); err == nil || err.Error() != "Duplicate mount point: /data" {
		t.Fatalf("got %v", err)
	}
}

func TestParseVolumesFrom(t *testing.T) {
	for spec, want := range map[string]VolumesFrom{
		"web":       {Container: "web"},
		"/web:ro":   {Container: "web", Mode: "ro"},
		"abc123:rw": {Container: "abc123", Mode: "rw"},
		"db:ro,z":   {Container: "db", Mode: "ro", Relabel: "z"},
	} {
		got, err := ParseVolumesFrom(spec)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v", spec, got, err)
		}
	}
	for _, spec := range []string{"", ":ro", "web:rx", "web:ro,rw", "a b", "web:"} {
		if _, err := ParseVolumesFrom(spec); err == nil {
			t.Errorf("%q: expected an error", spec)
		}
	}
}

func TestParseLocalVolumeOptions(t *testing.T) {
	o, err := ParseLocalVolumeOptions(map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=100m,uid=1000"})
	if err != nil || !o.NeedsMount() || o.IsBind() || o.Options != "size=100m,uid=1000" {
		t.Fatalf("tmpfs: %+v %v", o, err)
	}
	o, err = ParseLocalVolumeOptions(map[string]string{"type": "none", "device": "/srv/data", "o": "bind"})
	if err != nil || !o.IsBind() {
		t.Fatalf("bind: %+v %v", o, err)
	}
	if o, err := ParseLocalVolumeOptions(nil); err != nil || o.NeedsMount() {
		t.Fatalf("no options: %+v %v", o, err)
	}
	for _, bad := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"foo": "bar"}, `invalid option: "foo"`},
		{map[string]string{"type": "tmpfs"}, `missing required option: "device"`},
		{map[string]string{"device": "/dev/sda"}, `missing required option: "type"`},
		{map[string]string{"o": "size=1m"}, `missing required option`},
		{map[string]string{"size": "1g"}, "no quota support"},
		{map[string]string{"type": "none", "device": "/srv"}, "needs o=bind"},
		{map[string]string{"type": "none", "device": "srv", "o": "bind"}, "absolute path"},
		{map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m,,uid=0"}, "empty mount option"},
		{map[string]string{"type": "", "device": ""}, "must not be empty"},
		{map[string]string{"type": "ext4,x", "device": "/dev/x"}, "filesystem type"},
	} {
		if _, err := ParseLocalVolumeOptions(bad.opts); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: error %v, want %q", bad.opts, err, bad.want)
		}
	}
}

func TestVolumeName(t *testing.T) {
	for _, ok := range []string{"my-data", "a1", "A.b_c-d", strings.Repeat("f", 64)} {
		if err := VolumeName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "-ab", "_ab", ".ab", "a b", "a/b", "é1", "ab:c", strings.Repeat("a", 256)} {
		if err := VolumeName(bad); err == nil {
			t.Errorf("%q: expected an error", bad)
		}
	}
}

func TestParseSecret(t *testing.T) {
	good := map[string]SecretRequest{
		"db-pass":                             {Name: "db-pass", Type: SecretMount, Target: "/run/secrets/db-pass", Mode: 0o444},
		"source=db,target=pw,mode=0400,uid=5": {Name: "db", Type: SecretMount, Target: "/run/secrets/pw", UID: 5, Mode: 0o400},
		"db,target=/etc/app/pw,gid=7":         {Name: "db", Type: SecretMount, Target: "/etc/app/pw", GID: 7, Mode: 0o444},
		"db,type=env":                         {Name: "db", Type: SecretEnv, Target: "db", Mode: 0o444},
		"src=db,type=env,target=DB_PASSWORD":  {Name: "db", Type: SecretEnv, Target: "DB_PASSWORD", Mode: 0o444},
	}
	for spec, want := range good {
		got, err := ParseSecret(spec)
		if err != nil || got != want {
			t.Errorf("%q: %+v %v, want %+v", spec, got, err, want)
		}
	}
	for _, bad := range []string{"", ",type=env", "db,type=file", "db,uid=x", "db,mode=999", "db,type=env,mode=0400",
		"db,type=env,target=A=B", "db,bogus=1", "db,extra", "db,source=other", "-db", "db,target=", "db,target=/"} {
		if _, err := ParseSecret(bad); err == nil {
			t.Errorf("%q: expected an error", bad)
		} else if !strings.HasPrefix(err.Error(), "invalid --secret ") {
			t.Errorf("%q: error does not name the flag: %v", bad, err)
		}
	}
}

func TestSecretName(t *testing.T) {
	for _, ok := range []string{"a", "db_pass", "x.y-z9", strings.Repeat("s", 64)} {
		if err := SecretName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "a b", "a/b", "a=b", "a,b", strings.Repeat("s", 65)} {
		if err := SecretName(bad); err == nil {
			t.Errorf("%q: expected an error", bad)
		}
	}
}

// Every mount a parser accepts is well formed: an absolute clean
// destination other than /, a known type, an absolute source for binds and
// a valid name (or none) for volumes.
func checkMount(t *testing.T, spec string, m Mount) {
	t.Helper()
	if m.Destination == "/" || !path.IsAbs(m.Destination) || path.Clean(m.Destination) != m.Destination {
		t.Fatalf("%q: bad destination %q", spec, m.Destination)
	}
	switch m.Type {
	case MountBind:
		if !path.IsAbs(m.Source) || m.Propagation == "" {
			t.Fatalf("%q: bind with source %q propagation %q", spec, m.Source, m.Propagation)
		}
	case MountVolume:
		if m.Source != "" && VolumeName(m.Source) != nil {
			t.Fatalf("%q: bad volume name %q", spec, m.Source)
		}
	case MountTmpfs:
		if m.Source != "" {
			t.Fatalf("%q: tmpfs with a source", spec)
		}
	default:
		t.Fatalf("%q: type %q", spec, m.Type)
	}
	if strings.ContainsRune(m.Source+m.Destination, 0) {
		t.Fatalf("%q: NUL in a path", spec)
	}
}

func FuzzParseVolume(f *testing.F) {
	for _, s := range []string{"/data", "v:/d", "v:/d:ro,z", "/h:/d:rshared", "./x:/y", "a:b:c:d", "x:/d", "/h:/d:nocopy"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseVolume(s, "/cwd")
		if err == nil {
			checkMount(t, s, m)
		}
	})
}

func FuzzParseMount(f *testing.F) {
	for _, s := range []string{"source=v,target=/app", "type=bind,src=/a,dst=/b,readonly", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=700",
		`type=volume,dst=/d,"volume-opt=o=a,b"`, "type=bind,src=./x,dst=/x,bind-propagation=shared", "target=/d,volume-subpath=a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMount(s, "/cwd")
		if err == nil {
			checkMount(t, s, m)
		}
	})
}

func FuzzParseVolumesFrom(f *testing.F) {
	for _, s := range []string{"web", "web:ro", "/db:rw,z", "x:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVolumesFrom(s)
		if err == nil && (v.Container == "" || strings.ContainsAny(v.Container, "/: \x00") || v.Mode != "" && v.Mode != "ro" && v.Mode != "rw") {
			t.Fatalf("%q: %+v", s, v)
		}
	})
}

func FuzzParseSecret(f *testing.F) {
	for _, s := range []string{"db", "source=db,target=pw,mode=0400,uid=5", "db,type=env,target=X", "db,target=../../etc/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseSecret(s)
		if err != nil {
			return
		}
		if SecretName(r.Name) != nil || r.Mode > 0o777 {
			t.Fatalf("%q: %+v", s, r)
		}
		if r.Type == SecretMount && (!path.IsAbs(r.Target) || r.Target == "/" || path.Clean(r.Target) != r.Target) {
			t.Fatalf("%q: mount target %q", s, r.Target)
		}
		if r.Type == SecretEnv && (r.Target == "" || strings.ContainsAny(r.Target, "=\x00")) {
			t.Fatalf("%q: env target %q", s, r.Target)
		}
	})
}

func FuzzParseLocalVolumeOptions(f *testing.F) {
	f.Add("type", "tmpfs", "device", "tmpfs", "o", "size=1m")
	f.Add("type", "none", "device", "/srv", "o", "bind")
	f.Add("foo", "bar", "", "", "", "")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		opts := map[string]string{k1: v1, k2: v2, k3: v3}
		o, err := ParseLocalVolumeOptions(opts)
		if err != nil {
			return
		}
		if o.NeedsMount() && (o.Type == "" || o.Device == "") {
			t.Fatalf("%v: %+v", opts, o)
		}
		if o.IsBind() && !path.IsAbs(o.Device) {
			t.Fatalf("%v: bind of %q", opts, o.Device)
		}
	})
}

func FuzzParseKeyValue(f *testing.F) {
	for _, s := range []string{"a=b", "a", "=b", "a==b", " a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, v, err := ParseKeyValue(s, "label", false)
		if err != nil {
			return
		}
		if k == "" || strings.Contains(k, "=") || (v != "" && k+"="+v != s) {
			t.Fatalf("%q -> %q %q", s, k, v)
		}
	})
}
