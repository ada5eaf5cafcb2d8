package format

import (
	"time"

	units "github.com/docker/go-units"
)

// Size prints a byte count as Docker does: decimal units, 3 significant digits ("5.64MB").
func Size(n int64) string { return units.HumanSizeWithPrecision(float64(n), 3) }

// Ago prints how long ago t was as Docker does ("About a minute ago", "6 weeks ago").
func Ago(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return units.HumanDuration(time.Since(t)) + " ago"
}

// Duration prints a running time as in `Up 16 seconds`.
func Duration(d time.Duration) string { return units.HumanDuration(d) }
