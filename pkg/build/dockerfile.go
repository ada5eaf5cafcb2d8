package build

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// SyntaxError is a Dockerfile that cannot be parsed, with the line at fault.
type SyntaxError struct {
	Line int
	Err  error
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("dockerfile parse error on line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("dockerfile parse error: %v", e.Err)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// dockerfile is a parsed Dockerfile.
type dockerfile struct {
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
	escape   rune
	warnings []string
}

// parseDockerfile parses with BuildKit's parser; `# syntax` and `# escape`
// directives are honoured by it (the syntax image itself is not fetched:
// tug's executor is built in).
func parseDockerfile(data []byte) (*dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, syntaxError(err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, syntaxError(err)
	}
	if len(stages) == 0 {
		return nil, &SyntaxError{Err: errors.New("the Dockerfile has no FROM instruction: a build starts with FROM IMAGE (or FROM scratch)")}
	}
	df := &dockerfile{stages: stages, metaArgs: metaArgs, escape: res.EscapeToken}
	for _, w := range res.Warnings {
		df.warnings = append(df.warnings, w.Short)
	}
	return df, nil
}

// syntaxError finds the line of a parser error and strips the parser's own
// wrapping, so that the message names the line once.
func syntaxError(err error) error {
	line := 0
	var loc *parser.LocationError
	if errors.As(err, &loc) && len(loc.Locations) > 0 && len(loc.Locations[0]) > 0 {
		line = loc.Locations[0][0].Start.Line
	}
	msg := err.Error()
	if i := strings.Index(msg, "dockerfile parse error on line "); i >= 0 {
		rest := msg[i+len("dockerfile parse error on line "):]
		if j := strings.Index(rest, ": "); j >= 0 {
			if n, e := strconv.Atoi(rest[:j]); e == nil {
				line, msg = n, rest[j+2:]
			}
		}
	}
	return &SyntaxError{Line: line, Err: errors.New(msg)}
}

// stageIndex finds a stage by name (case-insensitive) or by number, among
// the stages before before.
func (df *dockerfile) stageIndex(ref string, before int) (int, bool) {
	name := strings.ToLower(ref)
	for i := 0; i < before && i < len(df.stages); i++ {
		if df.stages[i].Name != "" && df.stages[i].Name == name {
			return i, true
		}
	}
	if n, err := strconv.Atoi(ref); err == nil && n >= 0 && n < before {
		return n, true
	}
	return 0, false
}

// targetIndex is the stage --target names, or the last one.
func (df *dockerfile) targetIndex(target string) (int, error) {
	if target == "" {
		return len(df.stages) - 1, nil
	}
	if i, ok := df.stageIndex(target, len(df.stages)); ok {
		return i, nil
	}
	return 0, fmt.Errorf("target stage %q could not be found", target)
}

// neededStages lists, in order, the stages the target depends on: its base
// stage, the stages it copies or mounts from, and theirs.
func (df *dockerfile) neededStages(target int, lex *shell.Lex, global shell.EnvGetter) ([]int, error) {
	need := map[int]bool{}
	var visit func(i int) error
	visit = func(i int) error {
		if need[i] {
			return nil
		}
		need[i] = true
		st := df.stages[i]
		base, _, err := lex.ProcessWord(st.BaseName, global)
		if err != nil {
			return &SyntaxError{Line: line(st.Location), Err: err}
		}
		if j, ok := df.stageIndex(base, i); ok {
			if err := visit(j); err != nil {
				return err
			}
		}
		for _, cmd := range st.Commands {
			for _, from := range commandSources(cmd) {
				if j, ok := df.stageIndex(from, i); ok {
					if err := visit(j); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := visit(target); err != nil {
		return nil, err
	}
	var out []int
	for i := range df.stages {
		if need[i] {
			out = append(out, i)
		}
	}
	return out, nil
}

// commandSources are the stages or images a command reads from.
func commandSources(cmd instructions.Command) []string {
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		if c.From != "" {
			return []string{c.From}
		}
	case *instructions.RunCommand:
		var out []string
		for _, m := range instructions.GetMounts(c) {
			if m.From != "" {
				out = append(out, m.From)
			}
		}
		return out
	}
	return nil
}

func line(loc []parser.Range) int {
	if len(loc) > 0 {
		return loc[0].Start.Line
	}
	return 0
}
