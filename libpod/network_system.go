package libpod

import (
	"context"
	"os"
	"path/filepath"

	"github.com/tug-project/tug/pkg/network"
	"github.com/tug-project/tug/pkg/parse"
)

// networkSystem is the networks' part in system prune and system reset.
type networkSystem struct{}

func init() { RegisterNetworks(networkSystem{}) }

// Prune removes the user-defined networks no container names.
func (networkSystem) Prune(_ context.Context, r *Runtime, filters parse.Filters) ([]string, error) {
	return r.PruneNetworks(NetworkFilters(filters))
}

// Reset stops the network host (which takes the bridges, the rootless
// namespace and the firewall table with it) and removes what a killed one
// would have left.
func (networkSystem) Reset(ctx context.Context, r *Runtime) error {
	if err := r.stopNetHost(ctx); err != nil {
		return err
	}
	lock, err := r.lockNetworks()
	if err != nil {
		return err
	}
	defer lock.unlock()
	if r.Rootless {
		network.RemoveNS(r.bridgeNS())
	} else {
		if nets, err := r.Networks(); err == nil {
			for _, n := range nets {
				if n.Driver == DriverBridge && n.Bridge != "" {
					network.DeleteLink("", n.Bridge)
				}
			}
		}
		network.Firewall{Table: r.firewallTable()}.Remove()
	}
	os.Remove(filepath.Join(r.netDir(), "firewall.sum"))
	return nil
}
