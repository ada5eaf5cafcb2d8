package monitor

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// trimMemory makes an idle monitor small. The Go heap goes back to the
// kernel, and the pages of code and read-only data that starting the
// container touched are dropped from this process (MADV_DONTNEED): they
// stay in the page cache, shared, and come back on the next access. Only
// what cannot have been written is dropped: executable mappings, and the
// binary's read-only segments outside its RELRO range (a non-PIE binary has
// no relocations there). The ranges are all found first and dropped last:
// on kernels that map a whole large page-cache folio (up to 2 MB) at each
// fault, any code run after a drop brings back far more than it touches.
func trimMemory() {
	if traceOn {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		trace(fmt.Sprintf("trimming memory: heap in use %d kB, stacks %d kB, sys %d kB, mspan %d kB, gc sys %d kB, other %d kB", ms.HeapInuse>>10, ms.StackInuse>>10, ms.Sys>>10, ms.MSpanInuse>>10, ms.GCSys>>10, ms.OtherSys>>10))
	}
	debug.FreeOSMemory()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	var readOnly [][2]uint64 // the binary's read-only PT_LOAD ranges, RELRO excluded
	if f, err := elf.Open("/proc/self/exe"); err == nil {
		if f.Type == elf.ET_EXEC {
			var relro [2]uint64
			for _, p := range f.Progs {
				if p.Type == elf.PT_GNU_RELRO {
					relro = [2]uint64{p.Vaddr, p.Vaddr + p.Memsz}
				}
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_LOAD && p.Flags&elf.PF_W == 0 && p.Flags&elf.PF_X == 0 {
					start, end := p.Vaddr, p.Vaddr+p.Memsz
					if start < relro[1] && end > relro[0] {
						continue
					}
					readOnly = append(readOnly, [2]uint64{start, end})
				}
			}
		}
		f.Close()
	}
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	drops := make([][2]uintptr, 0, 64)
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || !strings.HasPrefix(f[5], "/") {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		drop := f[1] == "r-xp"
		if f[1] == "r--p" && f[5] == exe {
			for _, r := range readOnly {
				if start >= r[0]&^0xfff && end <= (r[1]+0xfff)&^0xfff {
					drop = true
				}
			}
		}
		if drop && len(drops) < cap(drops) {
			drops = append(drops, [2]uintptr{uintptr(start), uintptr(end - start)})
		}
	}
	maps.Close()
	for _, d := range drops {
		// The raw call: the range is this process's own mappings, not Go memory.
		unix.Syscall(unix.SYS_MADVISE, d[0], d[1], unix.MADV_DONTNEED)
	}
}
