package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/tug-project/tug/libpod"
	"github.com/tug-project/tug/pkg/image"
	"github.com/tug-project/tug/pkg/parse"
)

// Options are one build's inputs, resolved by the command line.
type Options struct {
	Context        *Context
	Dockerfile     []byte
	DockerfileName string            // as the user named it, for messages
	Tags           []string          // full references
	BuildArgs      map[string]string // --build-arg
	Target         string
	NoCache        bool
	Pull           bool // pull the base images even when they are stored
	Labels         map[string]string
	Network        string // RUN's network: default, none, host
	Remove         bool   // remove intermediate containers after a successful step (--rm)
	ForceRemove    bool   // remove them even after a failed one (--force-rm)
	Squash         bool
	Secrets        map[string]parse.BuildSecret
	// Out receives the build's lines; RunOutput the RUN steps' output (both
	// streams), written by the steps' processes themselves.
	Out       io.Writer
	RunOutput *os.File
	// PullImage finds a base image or COPY --from image, pulling it when
	// missing (or always, with always), with its progress on Out.
	PullImage func(ctx context.Context, name string, always bool) (*image.Image, error)
}

// Result is what a build made.
type Result struct {
	Image    *image.Image
	Warnings []string
}

// RunError is a RUN step whose command failed: Docker's message and its exit code.
type RunError struct {
	Command string
	Code    int
	Detail  string // why the command could not start, if it did not
}

func (e *RunError) Error() string {
	return fmt.Sprintf("The command '%s' returned a non-zero code: %d", e.Command, e.Code)
}

// StepError is another failure of a step, with the instruction at fault.
type StepError struct {
	Instruction string
	Err         error
}

func (e *StepError) Error() string { return fmt.Sprintf("%s failed: %v", e.Instruction, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// builder runs one build.
type builder struct {
	opts   Options
	rt     *libpod.Runtime
	ir     *image.Runtime
	df     *dockerfile
	lex    *shell.Lex
	global []kv // ARGs before the first FROM, with the platform ones
	stages map[int]*stage
	step   int
	steps  int
	used   map[string]bool // build args an ARG declared
}

type kv struct {
	key   string
	value string
	set   bool
}

// stage is the state of one stage being built.
type stage struct {
	index  int
	name   string
	image  *image.Image // the current step's image; nil before any on scratch
	config v1.Config
	args   []kv // ARGs declared in the stage, in order
	base   *image.Image
	busted bool // a step missed the cache: the following ones cannot hit it
	steps  int  // steps that made an image (for --squash)
	cmdSet bool // a CMD of this stage (a later ENTRYPOINT keeps it)
}

// proxyArgs are passed to RUN without an ARG and kept out of the cache key
// and the history, as Docker does.
var proxyArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true, "ALL_PROXY": true, "all_proxy": true,
}

// platformArgs are BuildKit's automatic platform ARGs: this machine's.
func platformArgs() []kv {
	arch, variant := runtime.GOARCH, ""
	if arch == "arm" {
		variant = "v7"
	}
	plat := "linux/" + arch
	if variant != "" {
		plat += "/" + variant
	}
	var out []kv
	for _, p := range []string{"BUILD", "TARGET"} {
		out = append(out, kv{p + "PLATFORM", plat, true}, kv{p + "OS", "linux", true}, kv{p + "ARCH", arch, true}, kv{p + "VARIANT", variant, true})
	}
	return out
}

// Build runs the Dockerfile's steps for the target stage and the stages it
// needs, and names the result.
func Build(ctx context.Context, rt *libpod.Runtime, opts Options) (*Result, error) {
	df, err := parseDockerfile(opts.Dockerfile)
	if err != nil {
		return nil, err
	}
	ir, err := rt.Images()
	if err != nil {
		return nil, err
	}
	if err := rt.CleanBuildContainers(); err != nil {
		return nil, err
	}
	b := &builder{opts: opts, rt: rt, ir: ir, df: df, lex: shell.NewLex(df.escape), stages: map[int]*stage{}, used: map[string]bool{}}
	if b.opts.Out == nil {
		b.opts.Out = io.Discard
	}
	if err := b.globalArgs(); err != nil {
		return nil, err
	}
	target, err := df.targetIndex(opts.Target)
	if err != nil {
		return nil, err
	}
	order, err := df.neededStages(target, b.lex, b.globalEnv())
	if err != nil {
		return nil, err
	}
	for _, i := range order {
		b.steps += 1 + len(df.stages[i].Commands)
	}
	if len(opts.Labels) > 0 {
		b.steps++
	}
	var last *stage
	for _, i := range order {
		if last, err = b.buildStage(ctx, i, i == target); err != nil {
			return nil, err
		}
	}
	res := &Result{}
	for _, w := range df.warnings {
		res.Warnings = append(res.Warnings, w)
	}
	var unused []string
	for k := range opts.BuildArgs {
		if !b.used[k] && !proxyArgs[k] && !isPlatformArg(k) {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		fmt.Fprintf(b.opts.Out, "[Warning] One or more build-args [%s] were not consumed\n", strings.Join(unused, " "))
	}
	img := last.image
	if img == nil {
		// FROM scratch and nothing else.
		return nil, &StepError{Instruction: "FROM scratch", Err: errors.New("no image was generated: is your Dockerfile empty?")}
	}
	if opts.Squash && last.steps > 1 {
		if img, err = b.squash(last, img); err != nil {
			return nil, err
		}
	}
	res.Image = img
	return res, nil
}

// instructionText is the instruction as written (continuations joined).
func instructionText(cmd instructions.Command) string {
	if s, ok := cmd.(fmt.Stringer); ok {
		return s.String()
	}
	return strings.ToUpper(cmd.Name())
}

func isPlatformArg(k string) bool {
	for _, a := range platformArgs() {
		if a.key == k {
			return true
		}
	}
	return false
}

// globalArgs evaluates the ARGs before the first FROM.
func (b *builder) globalArgs() error {
	b.global = platformArgs()
	for _, a := range b.df.metaArgs {
		for _, p := range a.Args {
			b.used[p.Key] = true
			v := kv{key: p.Key}
			if val, ok := b.opts.BuildArgs[p.Key]; ok {
				v.value, v.set = val, true
			} else if p.Value != nil {
				res, _, err := b.lex.ProcessWord(*p.Value, b.globalEnv())
				if err != nil {
					return &SyntaxError{Line: line(a.Location()), Err: err}
				}
				v.value, v.set = res, true
			}
			b.global = setKV(b.global, v)
		}
	}
	return nil
}

func setKV(list []kv, v kv) []kv {
	for i := range list {
		if list[i].key == v.key {
			list[i] = v
			return list
		}
	}
	return append(list, v)
}

func (b *builder) globalEnv() shell.EnvGetter {
	var env []string
	for _, a := range b.global {
		if a.set {
			env = append(env, a.key+"="+a.value)
		}
	}
	return shell.EnvsFromSlice(env)
}

// printStep prints Docker's "Step N/M : INSTRUCTION".
func (b *builder) printStep(text string) {
	b.step++
	fmt.Fprintf(b.opts.Out, "Step %d/%d : %s\n", b.step, b.steps, text)
}

func short(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// buildStage runs one stage: FROM, the base image's ONBUILD triggers, its
// instructions, and for the target the --label step.
func (b *builder) buildStage(ctx context.Context, i int, isTarget bool) (*stage, error) {
	st := b.df.stages[i]
	s := &stage{index: i, name: st.Name}
	b.stages[i] = s
	b.printStep(st.SourceCode)
	baseName, _, err := b.lex.ProcessWord(st.BaseName, b.globalEnv())
	if err != nil {
		return nil, &SyntaxError{Line: line(st.Location), Err: err}
	}
	if st.Platform != "" {
		p, _, err := b.lex.ProcessWord(st.Platform, b.globalEnv())
		if err != nil {
			return nil, &SyntaxError{Line: line(st.Location), Err: err}
		}
		if err := checkPlatform(p); err != nil {
			return nil, &StepError{Instruction: "FROM", Err: err}
		}
	}
	switch j, isStage := b.df.stageIndex(baseName, i); {
	case isStage:
		prev := b.stages[j]
		if prev == nil {
			return nil, &StepError{Instruction: "FROM", Err: fmt.Errorf("stage %q was not built", baseName)}
		}
		s.base, s.image, s.config = prev.image, prev.image, cloneConfig(prev.config)
	case strings.EqualFold(baseName, "scratch"):
	default:
		if baseName == "" {
			return nil, &SyntaxError{Line: line(st.Location), Err: errors.New("FROM names no image (an empty ARG?)")}
		}
		img, err := b.opts.PullImage(ctx, baseName, b.opts.Pull)
		if err != nil {
			return nil, err
		}
		s.base, s.image = img, img
		if img.Config != nil {
			s.config = cloneConfig(img.Config.Config)
		}
	}
	if s.image != nil {
		fmt.Fprintf(b.opts.Out, " ---> %s\n", short(s.image.ID))
	}
	if triggers := s.config.OnBuild; len(triggers) > 0 {
		s.config.OnBuild = nil
		if err := b.onBuild(ctx, s, triggers); err != nil {
			return nil, err
		}
	}
	for _, cmd := range st.Commands {
		b.printStep(instructionText(cmd))
		if err := b.dispatch(ctx, s, cmd); err != nil {
			return nil, err
		}
	}
	if isTarget && len(b.opts.Labels) > 0 {
		keys := make([]string, 0, len(b.opts.Labels))
		for k := range b.opts.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%q=%q", k, b.opts.Labels[k]))
		}
		text := "LABEL " + strings.Join(parts, " ")
		b.printStep(text)
		if s.config.Labels == nil {
			s.config.Labels = map[string]string{}
		}
		for k, v := range b.opts.Labels {
			s.config.Labels[k] = v
		}
		if err := b.commitConfig(s, text, ""); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// onBuild runs the triggers a base image left, as Docker does, before the
// stage's own instructions.
func (b *builder) onBuild(ctx context.Context, s *stage, triggers []string) error {
	plural := "s"
	if len(triggers) == 1 {
		plural = ""
	}
	fmt.Fprintf(b.opts.Out, "# Executing %d build trigger%s\n", len(triggers), plural)
	df, err := parseDockerfile([]byte("FROM scratch\n" + strings.Join(triggers, "\n") + "\n"))
	if err != nil {
		return fmt.Errorf("the base image's ONBUILD triggers: %w", err)
	}
	for _, cmd := range df.stages[0].Commands {
		if err := b.dispatch(ctx, s, cmd); err != nil {
			return err
		}
	}
	return nil
}

func checkPlatform(p string) error {
	want, err := image.ParsePlatform(p)
	if err != nil {
		return err
	}
	if want.Architecture != runtime.GOARCH {
		return fmt.Errorf("tug builds for this machine's platform only (linux/%s), not %s", runtime.GOARCH, p)
	}
	return nil
}

func cloneConfig(c v1.Config) v1.Config {
	b, _ := json.Marshal(c)
	var out v1.Config
	json.Unmarshal(b, &out)
	return out
}

// cacheKey identifies a step: what it does and the configuration it runs
// with (its parent is matched apart).
func cacheKey(createdBy string, cfg v1.Config, extra string) string {
	h := sha256.New()
	cj, _ := json.Marshal(cfg)
	fmt.Fprintf(h, "tug-build-cache v1\n%s\n%s\n%s", createdBy, cj, extra)
	return hex.EncodeToString(h.Sum(nil))
}

// cached looks for the result of the step keyed key on the stage's image.
func (b *builder) cached(s *stage, key string) (*image.Image, error) {
	if b.opts.NoCache || s.busted {
		return nil, nil
	}
	parent := ""
	if s.image != nil {
		parent = s.image.ID
	}
	img, err := b.ir.FindCached(parent, key)
	if err != nil || img == nil {
		s.busted = true
		return nil, err
	}
	fmt.Fprintf(b.opts.Out, " ---> Using cache\n ---> %s\n", short(img.ID))
	return img, nil
}

// advance makes img the stage's current image.
func (b *builder) advance(s *stage, img *image.Image) {
	s.image = img
	if img.Config != nil {
		s.config = cloneConfig(img.Config.Config)
	}
	s.steps++
}

// commitConfig makes the image of a step that changes only the config
// (ENV, CMD, LABEL ...), or takes it from the cache.
func (b *builder) commitConfig(s *stage, text, extra string) error {
	createdBy := "/bin/sh -c #(nop)  " + text
	key := cacheKey(createdBy, s.config, extra)
	img, err := b.cached(s, key)
	if err != nil {
		return err
	}
	if img == nil {
		cc := cloneConfig(s.config)
		cc.Cmd = []string{"/bin/sh", "-c", "#(nop) ", text}
		if img, err = b.ir.CreateChild(s.image, image.ChildOptions{Config: s.config, ContainerConfig: &cc, History: v1.History{CreatedBy: createdBy}, CacheKey: key}); err != nil {
			return err
		}
		fmt.Fprintf(b.opts.Out, " ---> %s\n", short(img.ID))
	}
	b.advance(s, img)
	return nil
}

// env is what $VAR expands to in the stage: its ARGs, with ENV over them.
func (s *stage) env() []string {
	out := []string{}
	for _, a := range s.args {
		if a.set && !hasKey(s.config.Env, a.key) {
			out = append(out, a.key+"="+a.value)
		}
	}
	return append(out, s.config.Env...)
}

func hasKey(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}

func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

// squash folds the target stage's layers into one on its base image.
func (b *builder) squash(s *stage, img *image.Image) (*image.Image, error) {
	return b.rt.SquashImage(s.base, img)
}
