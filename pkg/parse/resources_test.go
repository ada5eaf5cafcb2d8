package parse

import (
	"strings"
	"testing"
)

func TestMemoryBytes(t *testing.T) {
	for in, want := range map[string]int64{"32m": 32 << 20, "1g": 1 << 30, "1.5g": 3 << 29, "512k": 512 << 10, "1048576": 1 << 20, "100b": 100, "64MiB": 64 << 20, "-1": -1} {
		if got, err := MemoryBytes(in); err != nil || got != want {
			t.Errorf("MemoryBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "abc", "-5m", "12x", "1..5m", "m"} {
		if _, err := MemoryBytes(bad); err == nil {
			t.Errorf("MemoryBytes(%q) accepted", bad)
		}
	}
}

func TestNanoCPUs(t *testing.T) {
	for in, want := range map[string]int64{"1": 1e9, "1.5": 15e8, "0.25": 25e7, "0.000000001": 1, "2.0": 2e9} {
		if got, err := NanoCPUs(in); err != nil || got != want {
			t.Errorf("NanoCPUs(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "1/2", "0.0000000001", "1e3", "99999999999999999999"} {
		if _, err := NanoCPUs(bad); err == nil {
			t.Errorf("NanoCPUs(%q) accepted", bad)
		}
	}
}

func TestCPUSet(t *testing.T) {
	got, err := CPUSet("0-2,4,1")
	if err != nil || len(got) != 4 || got[0] != 0 || got[3] != 4 {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"", "a", "1-", "-1", "3-1", "1,,2", "0-99999"} {
		if _, err := CPUSet(bad); err == nil {
			t.Errorf("CPUSet(%q) accepted", bad)
		}
	}
}

func TestCopyArg(t *testing.T) {
	for in, want := range map[string][2]string{
		"web:/etc/hosts": {"web", "/etc/hosts"}, "web:rel": {"web", "rel"}, "/abs:x": {"", "/abs:x"},
		"./a:b": {"", "./a:b"}, "file": {"", "file"}, "-": {"", "-"}, "c:": {"c", ""},
	} {
		if c, p := CopyArg(in); c != want[0] || p != want[1] {
			t.Errorf("CopyArg(%q) = %q, %q; want %q", in, c, p, want)
		}
	}
}

func FuzzMemoryBytes(f *testing.F) {
	for _, s := range []string{"32m", "1.5g", "-1", "100", "7MiB", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := MemoryBytes(s)
		if err == nil && n < -1 {
			t.Fatalf("%q gave %d", s, n)
		}
		if err == nil && n == -1 && strings.TrimSpace(s) != "-1" {
			t.Fatalf("%q read as unlimited", s)
		}
	})
}

func FuzzNanoCPUs(f *testing.F) {
	for _, s := range []string{"1", "0.5", "1.000000001", "3/4", "-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := NanoCPUs(s); err == nil && n < 0 {
			t.Fatalf("%q gave %d", s, n)
		}
	})
}

func FuzzCPUSet(f *testing.F) {
	for _, s := range []string{"0", "0-3", "1,3-4", "9-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cpus, err := CPUSet(s)
		if err != nil {
			return
		}
		if len(cpus) == 0 {
			t.Fatalf("%q gave no CPU", s)
		}
		seen := map[int]bool{}
		for _, c := range cpus {
			if c < 0 || seen[c] {
				t.Fatalf("%q gave %v", s, cpus)
			}
			seen[c] = true
		}
	})
}

func FuzzCopyArg(f *testing.F) {
	for _, s := range []string{"c:/x", "/a", "./b:c", "x", "c:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, p := CopyArg(s)
		if c == "" && p != s {
			t.Fatalf("local %q became %q", s, p)
		}
		if c != "" && c+":"+p != s {
			t.Fatalf("%q split into %q %q", s, c, p)
		}
	})
}
