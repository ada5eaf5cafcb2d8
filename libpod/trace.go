package libpod

import (
	"fmt"
	"os"
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
