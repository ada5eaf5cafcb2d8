package rootless

import (
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParseSubIDs(t *testing.T) {
	file := `# comment
alice:100000:65536
bob:165536:65536
  # indented comment
1000:300000:1000

alice:bad:10
alice:400000
alice:500000:0
alice:600000:10:extra
alice:100500:10
alice:1000:10
 alice:700000:5 
`
	got := ParseSubIDs([]byte(file), "alice", 1000)
	want := []IDRange{{100000, 65536}, {300000, 1000}, {700000, 5}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// By numeric ID only, when the name is unknown.
	if got := ParseSubIDs([]byte(file), "", 1000); !reflect.DeepEqual(got, []IDRange{{300000, 1000}}) {
		t.Fatalf("by ID: got %v", got)
	}
	if got := ParseSubIDs([]byte(file), "carol", 1002); got != nil {
		t.Fatalf("unknown user: got %v", got)
	}
}

func TestParseSubIDsLimits(t *testing.T) {
	// Past 2^32 on the host: dropped. Inside IDs: capped at 2^32-1 in all.
	got := ParseSubIDs([]byte("u:4294967295:2\nu:1:4294967295\nu:4294967295:1\n"), "u", 0)
	if !reflect.DeepEqual(got, []IDRange{{1, math.MaxUint32 - 1}}) {
		t.Fatalf("got %v", got)
	}
	var b strings.Builder
	for i := range 400 {
		b.WriteString("u:" + strconv.Itoa(100000+i*10) + ":10\n")
	}
	if got := ParseSubIDs([]byte(b.String()), "u", 5); len(got) != maxRanges {
		t.Fatalf("%d ranges, want the kernel's limit %d", len(got), maxRanges)
	}
}

func TestMapArgs(t *testing.T) {
	got := strings.Join(mapArgs(1000, []IDRange{{100000, 65536}, {300000, 10}}), " ")
	if want := "0 1000 1 1 100000 65536 65537 300000 10"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func FuzzParseSubIDs(f *testing.F) {
	f.Add([]byte("alice:100000:65536\n"), "alice", 1000)
	f.Add([]byte("# c\n1000:1:2\nalice:0:4294967295\nalice:999:3\n"), "alice", 1000)
	f.Add([]byte("alice:4294967295:1\n\n alice : 1 : 2 \n"), "", 1000)
	f.Fuzz(func(t *testing.T, data []byte, name string, id int) {
		ranges := ParseSubIDs(data, name, id)
		if len(ranges) > maxRanges {
			t.Fatalf("%d ranges", len(ranges))
		}
		inside := uint64(1)
		own := IDRange{Start: uint32(id), Count: 1}
		for i, r := range ranges {
			if r.Count == 0 || r.end() > math.MaxUint32+1 {
				t.Fatalf("bad range %v", r)
			}
			if id >= 0 && id <= math.MaxUint32 && r.overlaps(own) {
				t.Fatalf("range %v holds the user's own ID %d", r, id)
			}
			if overlapsAny(r, ranges[:i]) {
				t.Fatalf("range %v overlaps an earlier one in %v", r, ranges)
			}
			inside += uint64(r.Count)
		}
		if inside > math.MaxUint32 {
			t.Fatalf("%d IDs inside", inside)
		}
		if args := mapArgs(id, ranges); len(args) != 3*(len(ranges)+1) {
			t.Fatalf("mapArgs: %v", args)
		}
	})
}
