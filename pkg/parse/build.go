package parse

import (
	"fmt"
	"strings"
)

// BuildArg reads --build-arg KEY=VALUE; a bare KEY takes the value of the
// variable KEY in tug's environment (lookup), and is dropped (ok false) when
// that is unset, as Docker does.
func BuildArg(s string, lookup func(string) (string, bool)) (key, value string, ok bool, err error) {
	key, value, hasValue := strings.Cut(s, "=")
	if key == "" || strings.ContainsAny(key, " \t\n") {
		return "", "", false, fmt.Errorf("invalid --build-arg %q: use KEY=VALUE, or KEY to pass the variable from the environment", s)
	}
	if !hasValue {
		value, ok = lookup(key)
		return key, value, ok, nil
	}
	return key, value, true, nil
}

// BuildSecret is a parsed `build --secret`: a secret a RUN step can mount
// (RUN --mount=type=secret,id=ID), read from a file or an environment variable.
type BuildSecret struct {
	ID   string
	File string // the file holding it, or
	Env  string // the variable holding it
}

// ParseBuildSecret reads --secret id=ID[,type=file|env][,src=PATH|source=PATH][,env=VAR]
// as BuildKit does: without a type, src means a file, env a variable, and a
// lone id the variable of that name.
func ParseBuildSecret(spec string) (BuildSecret, error) {
	bad := func(format string, a ...any) (BuildSecret, error) {
		return BuildSecret{}, fmt.Errorf("invalid --secret %q: %s", spec, fmt.Sprintf(format, a...))
	}
	var s BuildSecret
	typ := ""
	for _, field := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return bad("%q is not KEY=VALUE (use id=ID,src=PATH or id=ID,env=VAR)", field)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "id":
			s.ID = v
		case "type":
			if v != "file" && v != "env" {
				return bad("unknown type %q: use file or env", v)
			}
			typ = v
		case "src", "source":
			s.File = v
		case "env":
			s.Env = v
		default:
			return bad("unknown key %q: use id, type, src or env", k)
		}
	}
	if s.ID == "" {
		switch {
		case s.File != "":
			s.ID = baseName(s.File)
		case s.Env != "":
			s.ID = s.Env
		default:
			return bad("give the secret's id= (and src=PATH or env=VAR)")
		}
	}
	if s.ID == "" || strings.ContainsAny(s.ID, "/\x00") || s.ID == "." || s.ID == ".." {
		return bad("the id %q cannot be a file name", s.ID)
	}
	switch typ {
	case "file":
		if s.File == "" {
			return bad("type=file needs src=PATH")
		}
		s.Env = ""
	case "env":
		if s.Env == "" {
			s.Env = s.ID
		}
		s.File = ""
	default:
		if s.File != "" && s.Env != "" {
			return bad("give src= or env=, not both")
		}
		if s.File == "" && s.Env == "" {
			s.Env = s.ID
		}
	}
	return s, nil
}

func baseName(p string) string {
	p = strings.TrimRight(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// ExposedPorts reads one EXPOSE word (80, 80/udp, 8000-8002/tcp) into the
// PORT/PROTO keys an image config lists.
func ExposedPorts(s string) ([]string, error) { return exposedPorts(s) }
