package parse

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
)

// Env normalizes one -e/--env value as Docker does: "KEY=VALUE" is kept,
// a bare "KEY" takes the value from lookup (tug's own environment) and is
// dropped when unset there.
func Env(s string, lookup func(string) (string, bool)) (kv string, ok bool, err error) {
	name, _, hasValue := strings.Cut(s, "=")
	if name == "" {
		return "", false, fmt.Errorf("invalid environment variable %q: the name is empty (use KEY=VALUE)", s)
	}
	if strings.ContainsAny(name, " \t\n\x00") {
		return "", false, fmt.Errorf("invalid environment variable %q: the name contains whitespace", s)
	}
	if strings.ContainsRune(s, 0) {
		return "", false, fmt.Errorf("invalid environment variable %q: it contains a NUL byte", name)
	}
	if hasValue {
		return s, true, nil
	}
	if v, found := lookup(name); found {
		return name + "=" + v, true, nil
	}
	return "", false, nil
}

// EnvFile reads a Docker env file: one KEY=VALUE or KEY per line, lines
// starting with # and blank lines ignored, no quoting (quotes are part of the
// value), a bare KEY taking its value from lookup.
func EnvFile(path string, lookup func(string) (string, bool)) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading env file: %w", err)
	}
	env, err := ParseEnvFile(data, lookup)
	if err != nil {
		return nil, fmt.Errorf("env file %s: %w", path, err)
	}
	return env, nil
}

// ParseEnvFile parses the content of an env file (see EnvFile).
func ParseEnvFile(data []byte, lookup func(string) (string, bool)) ([]string, error) {
	return parseKVLines(data, "environment variable", func(line string) (string, bool, error) {
		return Env(line, lookup)
	})
}

// LabelFile parses a --label-file: KEY=VALUE lines (a bare KEY means an empty value).
func LabelFile(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading label file: %w", err)
	}
	labels, err := parseKVLines(data, "label", func(line string) (string, bool, error) {
		if !strings.Contains(line, "=") {
			line += "="
		}
		_, _, err := Label(line)
		return line, err == nil, err
	})
	if err != nil {
		return nil, fmt.Errorf("label file %s: %w", path, err)
	}
	return labels, nil
}

func parseKVLines(data []byte, what string, one func(string) (string, bool, error)) ([]string, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("the file is not valid UTF-8")
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		line = strings.TrimSuffix(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kv, ok, err := one(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if ok {
			out = append(out, kv)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("a line is too long: %w", err)
	}
	_ = what
	return out, nil
}

// Label checks one -l/--label value, KEY=VALUE or KEY (empty value).
func Label(s string) (key, value string, err error) {
	key, value, _ = strings.Cut(s, "=")
	if key == "" {
		return "", "", fmt.Errorf("invalid label %q: the key is empty (use KEY=VALUE)", s)
	}
	if strings.ContainsAny(key, " \t\n\x00") {
		return "", "", fmt.Errorf("invalid label %q: the key contains whitespace", s)
	}
	return key, value, nil
}
