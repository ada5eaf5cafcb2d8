package main

import (
	"slices"
	"testing"

	"github.com/spf13/pflag"
)

// stringArray parses, prints and reports as pflag's StringArray does.
func TestStringArrayIsPflagsStringArray(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"--x", "a"},
		{"--x", "a,b", "-y", "c"},
		{"--x", `"quoted, comma"`, "--x", ""},
	} {
		var ours, theirs []string
		a := pflag.NewFlagSet("ours", pflag.ContinueOnError)
		stringArrayVarP(a, &ours, "x", "y", "usage")
		b := pflag.NewFlagSet("theirs", pflag.ContinueOnError)
		b.StringArrayVarP(&theirs, "x", "y", nil, "usage")
		if err := a.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := b.Parse(args); err != nil {
			t.Fatal(err)
		}
		fa, fb := a.Lookup("x"), b.Lookup("x")
		if !slices.Equal(ours, theirs) || fa.Value.String() != fb.Value.String() || fa.Value.Type() != fb.Value.Type() {
			t.Errorf("%q: ours %q %s %s, pflag's %q %s %s", args, ours, fa.Value, fa.Value.Type(), theirs, fb.Value, fb.Value.Type())
		}
		if ua, ub := a.FlagUsages(), b.FlagUsages(); ua != ub {
			t.Errorf("%q: help\n%s\npflag's\n%s", args, ua, ub)
		}
		ga, _ := a.GetStringArray("x")
		gb, _ := b.GetStringArray("x")
		if !slices.Equal(ga, gb) {
			t.Errorf("%q: GetStringArray %q, pflag's %q", args, ga, gb)
		}
		sa, sb := fa.Value.(pflag.SliceValue), fb.Value.(pflag.SliceValue)
		sa.Append("z")
		sb.Append("z")
		if !slices.Equal(sa.GetSlice(), sb.GetSlice()) {
			t.Errorf("%q: after Append %q, pflag's %q", args, sa.GetSlice(), sb.GetSlice())
		}
		sa.Replace([]string{"r"})
		sb.Replace([]string{"r"})
		if !slices.Equal(ours, theirs) {
			t.Errorf("%q: after Replace %q, pflag's %q", args, ours, theirs)
		}
	}
}
