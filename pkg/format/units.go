package format

import (
	"time"

	units "github.com/docker/go-units"
)

// Size prints a byte count as Docker's tables do: decimal units, 3 significant digits ("5.64MB").
func Size(n int64) string { return units.HumanSizeWithPrecision(float64(n), 3) }

// HumanSize prints a byte count with 4 significant digits, as Docker's
// "Total reclaimed space" does ("5.641MB").
func HumanSize(n int64) string { return units.HumanSize(float64(n)) }

// Ago prints how long ago t was as Docker does ("About a minute ago", "6 weeks ago").
func Ago(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return units.HumanDuration(time.Since(t)) + " ago"
}

// Duration prints a running time as in `Up 16 seconds`.
func Duration(d time.Duration) string { return units.HumanDuration(d) }

// Timestamp prints a time as Docker's CreatedAt columns do, in local time:
// "2024-01-01 00:00:00 +0000 UTC".
func Timestamp(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return t.Local().Truncate(time.Second).String()
}
