package main

import (
	"slices"
	"testing"

	"github.com/spf13/pflag"

	"github.com/tug-project/tug/rootless"
)

// The rootless constructor finds the command (and --runroot) before cobra
// runs, so it must know every global flag that takes a value.
func TestConstructorKnowsGlobalValueFlags(t *testing.T) {
	known := rootless.ConstructorValueFlags()
	check := func(f *pflag.Flag) {
		if f.Value.Type() == "bool" {
			return
		}
		if !slices.Contains(known, "--"+f.Name) {
			t.Errorf("global flag --%s takes a value: add it to value_flags in rootless/join_linux.c", f.Name)
		}
		if f.Shorthand != "" && !slices.Contains(known, "-"+f.Shorthand) {
			t.Errorf("global flag -%s takes a value: add it to value_flags in rootless/join_linux.c", f.Shorthand)
		}
	}
	rootCmd.PersistentFlags().VisitAll(check)
	rootCmd.LocalNonPersistentFlags().VisitAll(check)
}
