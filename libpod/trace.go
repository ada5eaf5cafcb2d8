package libpod

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

var traceOn = os.Getenv("TUG_TRACE") != ""
var traceStart = time.Now()

func trace(what string) {
	if traceOn {
		fmt.Fprintf(os.Stderr, "%.2f %6.2fms %s\n", float64(time.Now().UnixMicro()%100000000)/1000, float64(time.Since(traceStart).Microseconds())/1000, what)
	}
}
func Trace(s string) { trace(s) }

// TraceMemory reports, with TUG_TRACE set, what the process allocated: a
// short-lived call never collects garbage, so each byte is a fresh page.
func TraceMemory() {
	if traceOn {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		trace(fmt.Sprintf("memory: %d KB allocated in %d objects, %d GCs, heap %d KB", m.TotalAlloc>>10, m.Mallocs, m.NumGC, m.HeapSys>>10))
	}
}
