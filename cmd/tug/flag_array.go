package main

import (
	"bytes"
	"encoding/csv"
	"strings"

	"github.com/spf13/pflag"
)

// stringArrayVarP defines a flag like pflag's StringArrayVarP with no
// default. pflag renders a StringArray's default through an encoding/csv
// writer, a fresh 4 KB buffer per flag: run and create define 26 of them,
// 100 KB of new pages on every call for "[]".
func stringArrayVarP(fs *pflag.FlagSet, p *[]string, name, shorthand, usage string) {
	*p = nil
	f := fs.VarPF(&stringArray{value: p}, name, shorthand, usage)
	// pflag knows its own array's "[]" for no default; help prints
	// "(default ...)" for any other type unless the default is "".
	f.DefValue = ""
}

// stringArray is pflag's stringArray: each use of the flag adds one value,
// commas included; String and Type are the same, so completion, help and
// GetStringArray see no difference (the test compares them).
type stringArray struct {
	value   *[]string
	changed bool
}

func (s *stringArray) Set(val string) error {
	if !s.changed {
		*s.value = []string{val}
		s.changed = true
	} else {
		*s.value = append(*s.value, val)
	}
	return nil
}

func (s *stringArray) Append(val string) error {
	*s.value = append(*s.value, val)
	return nil
}

func (s *stringArray) Replace(val []string) error {
	*s.value = append([]string(nil), val...)
	return nil
}

func (s *stringArray) GetSlice() []string { return append([]string{}, *s.value...) }

func (s *stringArray) Type() string { return "stringArray" }

func (s *stringArray) String() string {
	if len(*s.value) == 0 {
		return "[]"
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(*s.value)
	w.Flush()
	return "[" + strings.TrimSuffix(b.String(), "\n") + "]"
}
