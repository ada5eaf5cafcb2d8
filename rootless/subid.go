package rootless

import (
	"bytes"
	"math"
	"strconv"
	"strings"
)

// IDRange is Count host IDs from Start: one line of /etc/subuid or /etc/subgid.
type IDRange struct {
	Start, Count uint32
}

func (r IDRange) end() uint64 { return uint64(r.Start) + uint64(r.Count) }

func (r IDRange) overlaps(o IDRange) bool {
	return uint64(r.Start) < o.end() && uint64(o.Start) < r.end()
}

// maxRanges is what the kernel takes in one uid_map (340 lines), less the
// line that maps the user's own ID.
const maxRanges = 339

// ParseSubIDs returns the sub-ID ranges of a user in the contents of
// /etc/subuid or /etc/subgid ("owner:start:count" lines, the owner by name
// or by numeric ID, '#' comments), in file order. As newuidmap does, it
// ignores malformed lines; it also drops what the kernel would refuse in one
// map: empty ranges, ranges past 2^32, ranges that overlap the user's own ID
// or an earlier range, and IDs past the 2^32-1 that fit inside.
func ParseSubIDs(data []byte, name string, id int) []IDRange {
	idStr := strconv.Itoa(id)
	var ranges []IDRange
	inside := uint64(1) // the user's own ID is 0 inside
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		s := strings.TrimSpace(string(line))
		if s == "" || s[0] == '#' {
			continue
		}
		f := strings.Split(s, ":")
		if len(f) != 3 || (f[0] != idStr && (name == "" || f[0] != name)) {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || count == 0 || start+count > math.MaxUint32+1 {
			continue
		}
		r := IDRange{Start: uint32(start), Count: uint32(count)}
		if id >= 0 && uint64(id) <= math.MaxUint32 && r.overlaps(IDRange{Start: uint32(id), Count: 1}) {
			continue
		}
		if overlapsAny(r, ranges) {
			continue
		}
		// Inside IDs run up to 2^32-2 (2^32-1 means "no ID").
		if room := uint64(math.MaxUint32) - inside; uint64(r.Count) > room {
			r.Count = uint32(room)
		}
		if r.Count == 0 || len(ranges) == maxRanges {
			break
		}
		ranges = append(ranges, r)
		inside += uint64(r.Count)
	}
	return ranges
}

func overlapsAny(r IDRange, rs []IDRange) bool {
	for _, o := range rs {
		if r.overlaps(o) {
			return true
		}
	}
	return false
}

// mapArgs is the ID map for newuidmap/newgidmap: the user's own ID as 0,
// then the ranges one after the other from 1, as "inside host count" triples.
func mapArgs(id int, ranges []IDRange) []string {
	args := []string{"0", strconv.Itoa(id), "1"}
	inside := uint64(1)
	for _, r := range ranges {
		args = append(args, strconv.FormatUint(inside, 10), strconv.FormatUint(uint64(r.Start), 10), strconv.FormatUint(uint64(r.Count), 10))
		inside += uint64(r.Count)
	}
	return args
}
