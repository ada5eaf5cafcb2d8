package parse

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ChangeInstructions are the Dockerfile instructions that `import --change`
// (and later `commit --change`) accept, as Docker's.
var ChangeInstructions = []string{"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}

// ApplyChanges applies Dockerfile instructions (each --change value; a value
// may hold several lines) to cfg in order. On error cfg may be half changed:
// callers apply to a copy.
func ApplyChanges(cfg *v1.Config, changes []string) error {
	cmdSet := false
	for _, change := range changes {
		for _, line := range strings.Split(change, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if err := applyChange(cfg, line, &cmdSet); err != nil {
				return fmt.Errorf("invalid change %q: %w", line, err)
			}
		}
	}
	return nil
}

func applyChange(cfg *v1.Config, line string, cmdSet *bool) error {
	var instr, rest string
	if i := strings.IndexAny(line, " \t"); i >= 0 {
		instr, rest = line[:i], strings.TrimSpace(line[i+1:])
	} else {
		instr, rest = line, ""
	}
	instr = strings.ToUpper(instr)
	if !contains(ChangeInstructions, instr) {
		return fmt.Errorf("%s is not a valid change command: use one of %s", instr, strings.Join(ChangeInstructions, ", "))
	}
	if rest == "" {
		return fmt.Errorf("%s needs an argument", instr)
	}
	env := envMap(cfg.Env)
	switch instr {
	case "CMD":
		cfg.Cmd = commandArgs(rest)
		*cmdSet = true
	case "ENTRYPOINT":
		cfg.Entrypoint = commandArgs(rest)
		// As in a Dockerfile: a new entrypoint drops an inherited CMD.
		if !*cmdSet {
			cfg.Cmd = nil
		}
	case "ENV":
		pairs, err := nameValues(rest, env, "ENV")
		if err != nil {
			return err
		}
		for _, p := range pairs {
			cfg.Env = setEnv(cfg.Env, p[0], p[1])
		}
	case "LABEL":
		pairs, err := nameValues(rest, env, "LABEL")
		if err != nil {
			return err
		}
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, p := range pairs {
			cfg.Labels[p[0]] = p[1]
		}
	case "EXPOSE":
		words, err := shellWords(rest, env)
		if err != nil {
			return err
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, w := range words {
			ports, err := exposedPorts(w)
			if err != nil {
				return err
			}
			for _, p := range ports {
				cfg.ExposedPorts[p] = struct{}{}
			}
		}
	case "VOLUME":
		vols := jsonArray(rest)
		if vols == nil {
			var err error
			if vols, err = shellWords(rest, env); err != nil {
				return err
			}
		}
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range vols {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("VOLUME specified can not be an empty string")
			}
			cfg.Volumes[v] = struct{}{}
		}
	case "USER":
		words, err := shellWords(rest, env)
		if err != nil {
			return err
		}
		if len(words) != 1 {
			return fmt.Errorf("USER takes one argument, NAME[:GROUP] or UID[:GID]")
		}
		cfg.User = words[0]
	case "WORKDIR":
		words, err := shellWords(rest, env)
		if err != nil {
			return err
		}
		if len(words) != 1 {
			return fmt.Errorf("WORKDIR takes one path (quote a path with spaces)")
		}
		dir := words[0]
		if !path.IsAbs(dir) {
			dir = path.Join("/", cfg.WorkingDir, dir)
		}
		cfg.WorkingDir = path.Clean(dir)
	case "STOPSIGNAL":
		words, err := shellWords(rest, env)
		if err != nil {
			return err
		}
		if len(words) != 1 || !validSignal(words[0]) {
			return fmt.Errorf("invalid STOPSIGNAL %q: give a signal name (SIGTERM, TERM) or number (1-64)", rest)
		}
		cfg.StopSignal = words[0]
	case "ONBUILD":
		sub, subRest, _ := strings.Cut(rest, " ")
		switch strings.ToUpper(sub) {
		case "ONBUILD":
			return fmt.Errorf("chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
		case "FROM", "MAINTAINER":
			return fmt.Errorf("%s isn't allowed as an ONBUILD trigger", strings.ToUpper(sub))
		}
		cfg.OnBuild = append(cfg.OnBuild, strings.TrimSpace(strings.ToUpper(sub)+" "+strings.TrimSpace(subRest)))
	case "HEALTHCHECK":
		hc, err := healthcheck(rest)
		if err != nil {
			return err
		}
		cfg.Healthcheck = hc
	}
	return nil
}

// commandArgs reads the exec form (a JSON array) or the shell form, which
// runs under /bin/sh -c.
func commandArgs(s string) []string {
	if arr := jsonArray(s); arr != nil {
		return arr
	}
	return []string{"/bin/sh", "-c", s}
}

// jsonArray returns s as a list of strings when it is a JSON array of
// strings, else nil (the shell form).
func jsonArray(s string) []string {
	if !strings.HasPrefix(s, "[") {
		return nil
	}
	var arr []string
	if err := json.Unmarshal([]byte(s), &arr); err != nil {
		return nil
	}
	if arr == nil {
		arr = []string{}
	}
	return arr
}

func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

func setEnv(env []string, key, value string) []string {
	for i, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

// nameValues reads "k=v k2='v 2'" or the legacy one-pair "k v w" form.
func nameValues(s string, env map[string]string, instr string) ([][2]string, error) {
	words, err := shellWordsRaw(s)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%s needs at least one KEY=VALUE", instr)
	}
	if !strings.Contains(words[0].raw, "=") {
		// Legacy form: the first word is the name, the rest of the line the value.
		name, err := words[0].expand(env)
		if err != nil {
			return nil, err
		}
		if len(words) < 2 {
			return nil, fmt.Errorf("%s %s has no value: write %s %s=VALUE", instr, name, instr, name)
		}
		valueStart := strings.TrimSpace(s[len(words[0].raw):])
		vw, err := shellWords(valueStart, env)
		if err != nil {
			return nil, err
		}
		return [][2]string{{name, strings.Join(vw, " ")}}, nil
	}
	var out [][2]string
	for _, w := range words {
		if !strings.Contains(w.raw, "=") {
			return nil, fmt.Errorf("%s %q has no '=': write KEY=VALUE", instr, w.raw)
		}
		kv, err := w.expand(env)
		if err != nil {
			return nil, err
		}
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("%s has an empty name in %q", instr, w.raw)
		}
		if instr == "ENV" {
			env[k] = v // later pairs see earlier ones, as in a Dockerfile
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// exposedPorts reads PORT[-END][/PROTO] into "80/tcp" keys.
func exposedPorts(s string) ([]string, error) {
	portSpec, proto, hasProto := strings.Cut(s, "/")
	proto = strings.ToLower(proto)
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, fmt.Errorf("invalid port %q: the protocol must be tcp, udp or sctp", s)
	}
	lo, hi, isRange := strings.Cut(portSpec, "-")
	start, err := strconv.Atoi(lo)
	if err != nil || start < 1 || start > 65535 {
		return nil, fmt.Errorf("invalid port %q: a port is a number from 1 to 65535", s)
	}
	end := start
	if isRange {
		if end, err = strconv.Atoi(hi); err != nil || end < start || end > 65535 {
			return nil, fmt.Errorf("invalid port range %q: write START-END with START <= END <= 65535", s)
		}
	}
	if end-start > 10000 {
		return nil, fmt.Errorf("port range %q is too large: at most 10000 ports", s)
	}
	out := make([]string, 0, end-start+1)
	for p := start; p <= end; p++ {
		out = append(out, strconv.Itoa(p)+"/"+proto)
	}
	return out, nil
}

var signalNames = map[string]bool{
	"ABRT": true, "ALRM": true, "BUS": true, "CHLD": true, "CLD": true, "CONT": true, "FPE": true, "HUP": true,
	"ILL": true, "INT": true, "IO": true, "IOT": true, "KILL": true, "PIPE": true, "POLL": true, "PROF": true,
	"PWR": true, "QUIT": true, "SEGV": true, "STKFLT": true, "STOP": true, "SYS": true, "TERM": true, "TRAP": true,
	"TSTP": true, "TTIN": true, "TTOU": true, "URG": true, "USR1": true, "USR2": true, "VTALRM": true, "WINCH": true,
	"XCPU": true, "XFSZ": true,
}

func validSignal(s string) bool {
	if n, err := strconv.Atoi(s); err == nil {
		return n >= 1 && n <= 64
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if signalNames[name] {
		return true
	}
	// Real-time signals: RTMIN, RTMIN+n, RTMAX-n.
	for _, base := range []string{"RTMIN", "RTMAX"} {
		if name == base {
			return true
		}
		if rest, ok := strings.CutPrefix(name, base); ok && len(rest) > 1 && (rest[0] == '+' || rest[0] == '-') {
			n, err := strconv.Atoi(rest[1:])
			return err == nil && n >= 1 && n <= 30
		}
	}
	return false
}

// healthcheck reads NONE or [--interval=D] [--timeout=D] [--start-period=D]
// [--retries=N] CMD command.
func healthcheck(s string) (*v1.HealthConfig, error) {
	if strings.EqualFold(strings.TrimSpace(s), "NONE") {
		return &v1.HealthConfig{Test: []string{"NONE"}}, nil
	}
	hc := &v1.HealthConfig{}
	rest := strings.TrimSpace(s)
	for strings.HasPrefix(rest, "--") {
		var opt string
		if i := strings.IndexAny(rest, " \t"); i >= 0 {
			opt, rest = rest[:i], strings.TrimSpace(rest[i+1:])
		} else {
			opt, rest = rest, ""
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(opt, "--"), "=")
		if !ok {
			return nil, fmt.Errorf("HEALTHCHECK option %s needs a value: write %s=VALUE", opt, opt)
		}
		switch name {
		case "interval", "timeout", "start-period":
			d, err := time.ParseDuration(value)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("HEALTHCHECK --%s=%s is not a duration (30s, 1m)", name, value)
			}
			if d != 0 && d < time.Millisecond {
				return nil, fmt.Errorf("HEALTHCHECK --%s cannot be less than 1ms", name)
			}
			switch name {
			case "interval":
				hc.Interval = d
			case "timeout":
				hc.Timeout = d
			case "start-period":
				hc.StartPeriod = d
			}
		case "retries":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("HEALTHCHECK --retries=%s is not a count (0 or more)", value)
			}
			hc.Retries = n
		default:
			return nil, fmt.Errorf("unknown HEALTHCHECK option --%s: use --interval, --timeout, --start-period or --retries", name)
		}
	}
	kind, cmd, _ := strings.Cut(rest, " ")
	if !strings.EqualFold(kind, "CMD") || strings.TrimSpace(cmd) == "" {
		return nil, fmt.Errorf("HEALTHCHECK needs NONE or CMD followed by a command")
	}
	cmd = strings.TrimSpace(cmd)
	if arr := jsonArray(cmd); arr != nil {
		hc.Test = append([]string{"CMD"}, arr...)
	} else {
		hc.Test = []string{"CMD-SHELL", cmd}
	}
	return hc, nil
}

// word is one shell word: raw as written, and its parts to expand.
type word struct {
	raw   string
	parts []wordPart
}

type wordPart struct {
	text   string
	expand bool // unquoted or double-quoted: $VAR is replaced
}

func (w word) expand(env map[string]string) (string, error) {
	var b strings.Builder
	for _, p := range w.parts {
		if !p.expand {
			b.WriteString(p.text)
			continue
		}
		s, err := expandVars(p.text, env)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// shellWords splits s into words as a Dockerfile does: whitespace separates,
// quotes group, backslash escapes, and $VAR / ${VAR} expand from env.
func shellWords(s string, env map[string]string) ([]string, error) {
	words, err := shellWordsRaw(s)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(words))
	for _, w := range words {
		e, err := w.expand(env)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func shellWordsRaw(s string) ([]word, error) {
	var words []word
	var cur word
	var part strings.Builder
	inWord := false
	flush := func(expand bool) {
		if part.Len() > 0 {
			cur.parts = append(cur.parts, wordPart{text: part.String(), expand: expand})
			part.Reset()
		}
	}
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				flush(true)
				cur.raw = s[start:i]
				words = append(words, cur)
				cur, inWord = word{}, false
			}
		case c == '\\':
			if !inWord {
				inWord, start = true, i
			}
			if i+1 < len(s) {
				i++
				if s[i] == '$' {
					flush(true)
					cur.parts = append(cur.parts, wordPart{text: "$"})
				} else {
					part.WriteByte(s[i])
				}
			}
		case c == '\'' || c == '"':
			if !inWord {
				inWord, start = true, i
			}
			end := i + 1
			for end < len(s) && s[end] != c {
				if c == '"' && s[end] == '\\' && end+1 < len(s) {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, fmt.Errorf("unterminated %c quote", c)
			}
			flush(true)
			inner := s[i+1 : end]
			if c == '"' {
				inner = unescapeDouble(inner)
			}
			cur.parts = append(cur.parts, wordPart{text: inner, expand: c == '"'})
			i = end
		default:
			if !inWord {
				inWord, start = true, i
			}
			part.WriteByte(c)
		}
	}
	if inWord {
		flush(true)
		cur.raw = s[start:]
		words = append(words, cur)
	}
	return words, nil
}

func unescapeDouble(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\`, s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// expandVars replaces $VAR, ${VAR}, ${VAR:-default} and ${VAR:+alternative}.
func expandVars(s string, env map[string]string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		if s[i+1] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return "", fmt.Errorf("missing '}' in %q", s)
			}
			expr := s[i+2 : i+end]
			name, op, alt := expr, "", ""
			if j := strings.Index(expr, ":"); j >= 0 && j+1 < len(expr) && (expr[j+1] == '-' || expr[j+1] == '+') {
				name, op, alt = expr[:j], expr[j:j+2], expr[j+2:]
			}
			if !validVarName(name) {
				return "", fmt.Errorf("bad substitution ${%s}", expr)
			}
			val, ok := env[name]
			switch op {
			case ":-":
				if !ok || val == "" {
					val = alt
				}
			case ":+":
				if ok && val != "" {
					val = alt
				} else {
					val = ""
				}
			}
			b.WriteString(val)
			i += end
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] == '_' || isAlnum(s[j])) {
			j++
		}
		if j == i+1 {
			b.WriteByte('$')
			continue
		}
		b.WriteString(env[s[i+1:j]])
		i = j - 1
	}
	return b.String(), nil
}

func validVarName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '_' && !isAlnum(s[i]) {
			return false
		}
	}
	return true
}
