package specgen

import (
	"strings"
	"testing"
)

func TestResourcesValidateLikeDocker(t *testing.T) {
	bad := map[string]Resources{
		"Minimum memory limit allowed is 6MB":                     {Memory: 1 << 20},
		"Minimum memory reservation allowed is 6MB":               {MemoryReservation: 1024},
		"can not be less than memory reservation":                 {Memory: 64 << 20, MemoryReservation: 128 << 20},
		"always set the Memory limit when using Memoryswap limit": {MemorySwap: 64 << 20},
		"Minimum memoryswap limit should be larger":               {Memory: 64 << 20, MemorySwap: 32 << 20},
		"Range of CPUs":                    {NanoCPUs: 1 << 62},
		"Requested CPUs are not available": {CpusetCpus: "4095"},
		"invalid cpuset":                   {CpusetCpus: "1-"},
		"kernel's maximum":                 {CPUShares: 1 << 20},
	}
	for want, r := range bad {
		err := r.validate()
		if err == nil || !strings.Contains(err.Error(), want) || !IsValidationError(err) {
			t.Errorf("%+v: %v, want %q", r, err, want)
		}
	}
	ok := Resources{Memory: 32 << 20, NanoCPUs: 5e8, CPUShares: 1, PidsLimit: -5, CpusetCpus: "0"}
	if err := ok.validate(); err != nil {
		t.Fatal(err)
	}
	if ok.CPUShares != 2 || ok.PidsLimit != -1 || !ok.Any() {
		t.Fatalf("normalized: %+v", ok)
	}
	if (Resources{PidsLimit: -1}).Any() {
		t.Fatal("no pids limit is no limit")
	}
	if got := strings.Join(ok.Flags(), " "); got != "--memory --cpus --cpu-shares --cpuset-cpus" {
		t.Fatalf("flags: %q", got)
	}
	for r, want := range map[Resources]int64{{}: 0, {Memory: 10}: 20, {Memory: 10, MemorySwap: -1}: -1, {Memory: 10, MemorySwap: 15}: 15} {
		if got := r.SwapLimit(); got != want {
			t.Errorf("SwapLimit(%+v) = %d, want %d", r, got, want)
		}
	}
}
