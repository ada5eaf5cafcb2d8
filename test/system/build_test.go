//go:build system

package system

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// buildContext writes a build context (name -> content) owned by the env's
// user and returns its directory. "Dockerfile" may use {{BUSYBOX}}.
func (e *Env) buildContext(name string, files map[string]string) string {
	e.T.Helper()
	dir := filepath.Join(e.TmpDir, name)
	for p, data := range files {
		full := filepath.Join(dir, p)
		e.ShOK("mkdir -p " + filepath.Dir(full))
		e.WriteFile(full, []byte(strings.ReplaceAll(data, "{{BUSYBOX}}", Img("busybox"))))
	}
	e.ShOK("chown -R " + e.owner() + " " + dir + " 2>/dev/null || true")
	return dir
}

func (e *Env) owner() string {
	if e.Rootless {
		return testUser
	}
	return "root"
}

var stepRe = regexp.MustCompile(`(?m)^Step (\d+)/(\d+) : `)

// steps splits build output by step: the lines after each "Step N/M".
func steps(out string) []string {
	idx := stepRe.FindAllStringIndex(out, -1)
	var res []string
	for i, loc := range idx {
		end := len(out)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		res = append(res, out[loc[0]:end])
	}
	return res
}

func inspectConfig(t *testing.T, e *Env, img string) map[string]any {
	t.Helper()
	var out []struct{ Config map[string]any }
	if err := json.Unmarshal([]byte(e.TugOK("image", "inspect", img).Out), &out); err != nil || len(out) != 1 {
		t.Fatalf("inspect %s: %v", img, err)
	}
	return out[0].Config
}

// Seed 2.7 (pinger, adapted): ENTRYPOINT + CMD, Docker's output, and both
// overridden at run; shell-form CMD.
func TestBuildEntrypointAndCmd(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		dir := e.buildContext("pinger", map[string]string{"Dockerfile": "FROM {{BUSYBOX}}\nENTRYPOINT [\"ping\"]\nCMD [\"-c\", \"1\", \"127.0.0.1\"]\n"})
		r := e.TugOK("image", "build", "-t", "pinger", dir)
		st := steps(r.Out)
		if len(st) != 3 || !strings.HasPrefix(st[0], "Step 1/3 : FROM "+Img("busybox")) || !strings.HasPrefix(st[1], `Step 2/3 : ENTRYPOINT ["ping"]`) {
			t.Fatalf("build output:\n%s", r.Out)
		}
		id := regexp.MustCompile(`Successfully built ([0-9a-f]{12})\n`).FindStringSubmatch(r.Out)
		if id == nil || !strings.HasSuffix(r.Out, "Successfully tagged pinger:latest\n") || !strings.Contains(st[2], " ---> "+id[1]+"\n") {
			t.Fatalf("build output:\n%s", r.Out)
		}
		r = e.TugOK("run", "--rm", "--network", "none", "pinger")
		mustContain(t, r.Out, "PING 127.0.0.1 (127.0.0.1)", "1 packets transmitted, 1 packets received")
		r = e.TugOK("run", "--rm", "--network", "none", "pinger", "-c", "2", "127.0.0.1")
		mustContain(t, r.Out, "2 packets transmitted")
		r = e.TugOK("run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", "pinger", "-c", "echo overridden")
		if r.Out != "overridden\n" {
			t.Fatalf("--entrypoint: %q", r.Out)
		}
		// The shell form runs through /bin/sh -c.
		dir = e.buildContext("shellcmd", map[string]string{"Dockerfile": "FROM {{BUSYBOX}}\nCMD echo shell form from $HOME\n"})
		e.TugOK("build", "-t", "shellcmd", dir)
		if r = e.TugOK("run", "--rm", "--network", "none", "shellcmd"); r.Out != "shell form from /root\n" {
			t.Fatalf("shell-form CMD: %q", r.Out)
		}
		cfg := inspectConfig(t, e, "shellcmd")
		if got, _ := json.Marshal(cfg["Cmd"]); string(got) != `["/bin/sh","-c","echo shell form from $HOME"]` {
			t.Fatalf("Cmd %s", got)
		}
		// A shell-form ENTRYPOINT ignores CMD, as in Docker.
		dir = e.buildContext("shellep", map[string]string{"Dockerfile": "FROM {{BUSYBOX}}\nENTRYPOINT echo entry\nCMD [\"ignored\"]\n"})
		e.TugOK("build", "-t", "shellep", dir)
		if r = e.TugOK("run", "--rm", "--network", "none", "shellep"); r.Out != "entry\n" {
			t.Fatalf("shell-form ENTRYPOINT: %q", r.Out)
		}
	})
}

// E12-E15 and seed 2.9/2.10: WORKDIR persists where RUN cd does not; COPY
// renames, wildcards, directories; ADD unpacks a tar; ENV, ARG, USER,
// VOLUME, EXPOSE, HEALTHCHECK, LABEL, STOPSIGNAL land in the config.
func TestBuildInstructions(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		dir := e.buildContext("instr", map[string]string{
			"Dockerfile": `FROM {{BUSYBOX}}
ARG GREETING=hello
ARG FROM_CLI
ENV APP_HOME=/app \
    MODE=test
RUN mkdir -p $APP_HOME && cd $APP_HOME
RUN touch in-root.txt
WORKDIR $APP_HOME/bin
RUN touch sample.txt && echo "$GREETING $FROM_CLI" > greeting
COPY sample.txt /data/my-sample.txt
COPY ./sample* /mydir/
COPY web /app/web
ADD sample.tar /app/unpacked/
COPY --chown=tuguser:tuguser --chmod=0640 sample.txt /owned.txt
USER tuguser
RUN id -un > /tmp/whoami
VOLUME /app/data
EXPOSE 80 53/udp
HEALTHCHECK --interval=30s --retries=2 CMD wget -q localhost || exit 1
LABEL org.tug.test=instructions
STOPSIGNAL SIGINT
`,
			"sample.txt":       "sample\n",
			"sample2.txt":      "second sample\n",
			"web/index.html":   "<h1>web</h1>\n",
			"web/css/site.css": "body{}\n",
		})
		e.ShOK("cd " + dir + " && mkdir t && echo inside-tar > t/packed.txt && tar -C t -cf sample.tar packed.txt && rm -r t")
		r := e.TugOK("build", "--build-arg", "FROM_CLI=world", "-t", "instr", dir)
		if len(steps(r.Out)) != 20 {
			t.Fatalf("20 steps expected:\n%s", r.Out)
		}
		r = e.TugOK("run", "--rm", "--network", "none", "instr", "sh", "-c",
			"pwd; ls /in-root.txt /app/in-root.txt 2>/dev/null; ls /app/bin; cat /app/bin/greeting /data/my-sample.txt; ls /mydir; ls -R /app/web; cat /app/unpacked/packed.txt; stat -c '%U %G %a' /owned.txt; cat /tmp/whoami; id -un; echo $MODE")
		want := "/app/bin\n/in-root.txt\ngreeting\nsample.txt\nhello world\nsample\nsample.tar\nsample.txt\nsample2.txt\n/app/web:\ncss\nindex.html\n\n/app/web/css:\nsite.css\ninside-tar\ntuguser tuguser 640\ntuguser\ntuguser\ntest\n"
		if r.Out != want {
			t.Fatalf("built image:\n%s\nwant:\n%s", r.Out, want)
		}
		cfg := inspectConfig(t, e, "instr")
		got, _ := json.Marshal([]any{cfg["User"], cfg["WorkingDir"], cfg["Volumes"], cfg["ExposedPorts"], cfg["Healthcheck"], cfg["Labels"], cfg["StopSignal"]})
		if string(got) != `["tuguser","/app/bin",{"/app/data":{}},{"53/udp":{},"80/tcp":{}},{"Interval":30000000000,"Retries":2,"Test":["CMD-SHELL","wget -q localhost || exit 1"]},{"org.tug.test":"instructions"},"SIGINT"]` {
			t.Fatalf("config: %s", got)
		}
		if env, _ := json.Marshal(cfg["Env"]); !strings.Contains(string(env), `"APP_HOME=/app","MODE=test"`) || strings.Contains(string(env), "GREETING") {
			t.Fatalf("Env: %s", env)
		}
		// history: one row per instruction, the instruction as CREATED BY.
		h := e.TugOK("history", "--no-trunc", "--format", "{{.CreatedBy}}", "instr").Out
		rows := lines(h)
		if len(rows) != 20 {
			t.Fatalf("history rows %d:\n%s", len(rows), h)
		}
		mustContain(t, rows[0], "#(nop)  STOPSIGNAL SIGINT")
		mustContain(t, h, "|2 FROM_CLI=world GREETING=hello /bin/sh -c touch sample.txt", "#(nop) COPY file:", " in /data/my-sample.txt ", "#(nop)  WORKDIR /app/bin")
		// An unknown user in --chown fails the build.
		dir = e.buildContext("badchown", map[string]string{"Dockerfile": "FROM {{BUSYBOX}}\nCOPY --chown=nosuchuser f /f\n", "f": "x"})
		r = e.TugFail(1, "build", dir)
		mustContain(t, r.Err, "nosuchuser")
	})
}

// Seed 2.10 adapted: a multi-stage build makes a smaller final image, with
// --target, COPY --from, and FROM scratch with a static binary.
func TestBuildMultiStageAndScratch(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		dir := e.buildContext("multi", map[string]string{
			"Dockerfile": `FROM {{BUSYBOX}} AS build
RUN mkdir -p /app/bin && cp /bin/busybox /app/bin/busybox && dd if=/dev/zero of=/app/big bs=1k count=512 2>/dev/null

FROM {{BUSYBOX}} AS unused
RUN echo this stage is never built

FROM scratch
COPY --from=build /app/bin/busybox /app/busybox
COPY --from={{BUSYBOX}} /etc/tug-test /etc/from-image
ENTRYPOINT ["/app/busybox"]
CMD ["echo", "hello from scratch"]
`,
		})
		r := e.TugOK("build", "-t", "hello-small", dir)
		if strings.Contains(r.Out, "never built") || len(steps(r.Out)) != 7 {
			t.Fatalf("only the needed stages run:\n%s", r.Out)
		}
		if r = e.TugOK("run", "--rm", "--network", "none", "hello-small"); r.Out != "hello from scratch\n" {
			t.Fatalf("scratch image: %q", r.Out)
		}
		e.TugOK("build", "--target", "build", "-t", "hello-big", dir)
		var small, big []struct{ Size int64 }
		json.Unmarshal([]byte(e.TugOK("image", "inspect", "hello-small").Out), &small)
		json.Unmarshal([]byte(e.TugOK("image", "inspect", "hello-big").Out), &big)
		if len(small) != 1 || len(big) != 1 || small[0].Size >= big[0].Size || small[0].Size == 0 {
			t.Fatalf("sizes: small %v big %v", small, big)
		}
		if r = e.TugOK("run", "--rm", "--network", "none", "hello-big", "ls", "/app"); r.Out != "big\nbin\n" {
			t.Fatalf("--target image: %q", r.Out)
		}
		e.TugFail(1, "build", "--target", "nosuch", dir)
		r = e.TugFail(1, "build", e.buildContext("empty", map[string]string{"Dockerfile": "FROM scratch\n"}))
		mustContain(t, r.Err, "no image was generated")
		if r = e.TugOK("run", "--rm", "--network", "none", "hello-small", "cat", "/etc/from-image"); r.Out != "tug test image\n" {
			t.Fatalf("COPY --from an image: %q", r.Out)
		}
		// A scratch image has one layer per COPY and no more.
		layers := e.TugOK("image", "inspect", "-f", "{{len .RootFS.Layers}}", "hello-small").Out
		if strings.TrimSpace(layers) != "2" {
			t.Fatalf("scratch image layers: %s", layers)
		}
	})
}

// E22: the cache reuses unchanged steps, a changed file rebuilds from its
// COPY on, --no-cache runs everything; .dockerignore hides files.
func TestBuildCacheAndDockerignore(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		dir := e.buildContext("cache", map[string]string{
			"Dockerfile": `FROM {{BUSYBOX}}
RUN echo one > /one
COPY package.json /app/
RUN cat /app/package.json > /app/installed
COPY . /app
CMD ["ls", "/app"]
`,
			"package.json":  `{"name":"x"}` + "\n",
			"src/server.js": "console.log(1)\n",
			"secret.key":    "do not copy\n",
			"logs/a.log":    "log\n",
			".dockerignore": "secret.key\nlogs\n",
		})
		first := e.TugOK("build", "-t", "cached", dir).Out
		if strings.Contains(first, "Using cache") {
			t.Fatalf("first build used the cache:\n%s", first)
		}
		if r := e.TugOK("run", "--rm", "--network", "none", "cached", "ls", "-a", "/app"); r.Out != ".\n..\n.dockerignore\nDockerfile\ninstalled\npackage.json\nsrc\n" {
			t.Fatalf(".dockerignore: %q", r.Out)
		}
		second := e.TugOK("build", "-t", "cached", dir).Out
		st := steps(second)
		for _, s := range st[1:] {
			if !strings.Contains(s, " ---> Using cache\n") {
				t.Fatalf("step not cached:\n%s", second)
			}
		}
		if strings.Contains(second, "Running in") {
			t.Fatalf("a cached build ran a container:\n%s", second)
		}
		// An ignored file changes nothing; a copied one rebuilds from its COPY on.
		e.WriteFile(filepath.Join(dir, "secret.key"), []byte("changed\n"))
		if strings.Count(e.TugOK("build", dir).Out, "Using cache") != 5 {
			t.Fatalf("a change in an ignored file broke the cache")
		}
		e.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"y"}`+"\n"))
		st = steps(e.TugOK("build", "-t", "cached", dir).Out)
		if !strings.Contains(st[1], "Using cache") || strings.Contains(st[2], "Using cache") || strings.Contains(st[3], "Using cache") || !strings.Contains(st[3], "Running in") {
			t.Fatalf("rebuild after a change:\n%s", strings.Join(st, ""))
		}
		if r := e.TugOK("run", "--rm", "--network", "none", "cached", "cat", "/app/installed"); !strings.Contains(r.Out, `"y"`) {
			t.Fatalf("rebuilt image: %q", r.Out)
		}
		if out := e.TugOK("build", "--no-cache", dir).Out; strings.Contains(out, "Using cache") {
			t.Fatalf("--no-cache used the cache:\n%s", out)
		}
		// Earlier results are dangling now: image prune removes them with
		// their steps; system df counts the cache, system prune clears what
		// no named image is made of.
		e.TugOK("image", "prune", "-f")
		mustContain(t, e.TugOK("system", "df").Out, "Build Cache")
		e.TugOK("system", "prune", "-f")
		if out := e.TugOK("build", "-t", "cached", dir).Out; strings.Count(out, "Using cache") != 5 {
			t.Fatalf("prunes removed the cache of the named image:\n%s", out)
		}
		// The cache survives as build cache until pruned.
		r := e.TugOK("builder", "prune", "-a", "-f")
		mustContain(t, r.Out, "Deleted build cache objects:", "Total reclaimed space:")
		if out := e.TugOK("build", dir).Out; strings.Contains(out, "Using cache") {
			t.Fatalf("cache used after builder prune -a:\n%s", out)
		}
	})
}

// Failures: a failing RUN prints its output and Docker's message, exits with
// its code and tags nothing; a syntax error names the line.
func TestBuildFailures(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		dir := e.buildContext("fail", map[string]string{"Dockerfile": "FROM {{BUSYBOX}}\nRUN echo before-failure\nRUN echo failing-output; exit 3\nCMD [\"true\"]\n"})
		r := e.TugFail(3, "build", "-t", "failed", dir)
		mustContain(t, r.Out, "Step 3/4 : RUN echo failing-output; exit 3", "failing-output\n")
		mustContain(t, r.Err, "The command '/bin/sh -c echo failing-output; exit 3' returned a non-zero code: 3")
		if strings.Contains(r.Out, "Step 4/4") || e.Tug("image", "inspect", "failed").Code == 0 {
			t.Fatalf("a failed build went on or tagged:\n%s", r.Out)
		}
		// Its container is kept, as Docker does, unless --force-rm.
		if ps := e.TugOK("ps", "-a", "--format", "{{.Status}}").Out; !strings.HasPrefix(ps, "Exited (3)") {
			t.Fatalf("failed step's container: %q", ps)
		}
		e.TugFail(3, "build", "--force-rm", dir)
		if n := len(lines(e.TugOK("ps", "-aq").Out)); n != 1 {
			t.Fatalf("--force-rm kept a container: %d", n)
		}
		dir = e.buildContext("syntax", map[string]string{"Dockerfile": "FROM {{BUSYBOX}}\nRUN true\nBOGUS instruction\n"})
		r = e.TugFail(1, "build", dir)
		mustContain(t, r.Err, "line 3", "unknown instruction: BOGUS")
		r = e.TugFail(1, "build", e.buildContext("nodf", map[string]string{"x": "y"}))
		mustContain(t, r.Err, "Dockerfile")
		r = e.TugFail(1, "build", e.buildContext("missing", map[string]string{"Dockerfile": "FROM {{BUSYBOX}}\nCOPY nothere /\n"}))
		mustContain(t, r.Err, "nothere")
		e.TugFail(125, "build", "--build-arg", "=x", dir)
		e.TugFail(125, "build", "--platform", "linux/s390x", dir)
		e.TugFail(125, "build", "--secret", "nonsense", dir)
	})
}

// The Dockerfile on stdin (-f -), the context as a tar on stdin (-), and a
// Dockerfile alone on stdin.
func TestBuildFromStdin(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		dir := e.buildContext("stdin", map[string]string{"data.txt": "from the context\n", "sub/Dockerfile.alt": "FROM {{BUSYBOX}}\nCOPY data.txt /\nCMD [\"cat\", \"/data.txt\"]\n"})
		df := "FROM " + Img("busybox") + "\nCOPY data.txt /\nCMD [\"cat\", \"/data.txt\"]\n"
		e.run(strings.NewReader(df), e.TugArgs("build", "-t", "dfstdin", "-f", "-", dir)...)
		if r := e.TugOK("run", "--rm", "--network", "none", "dfstdin"); r.Out != "from the context\n" {
			t.Fatalf("-f -: %q", r.Out)
		}
		r := e.ShOK("cd " + dir + " && tar -c data.txt sub | $TUG build -t tarstdin -f sub/Dockerfile.alt -")
		mustContain(t, r.Out, "Successfully tagged tarstdin:latest")
		if r := e.TugOK("run", "--rm", "--network", "none", "tarstdin"); r.Out != "from the context\n" {
			t.Fatalf("tar context: %q", r.Out)
		}
		r = e.run(strings.NewReader("FROM "+Img("busybox")+"\nRUN echo no context\n"), e.TugArgs("build", "-t", "nocontext", "-")...)
		if r.Code != 0 || !strings.Contains(r.Out, "no context") {
			t.Fatalf("Dockerfile on stdin: %d %s %s", r.Code, r.Out, r.Err)
		}
		// A tarball at a URL.
		tgz := e.ShOK("cd " + dir + " && tar -cz data.txt sub | base64 -w0").Out
		raw, _ := base64.StdEncoding.DecodeString(tgz)
		srv := serveFiles(t, map[string]string{"/ctx.tar.gz": string(raw)})
		e.TugOK("build", "-t", "fromurl", "-f", "sub/Dockerfile.alt", srv+"/ctx.tar.gz")
		if r := e.TugOK("run", "--rm", "--network", "none", "fromurl"); r.Out != "from the context\n" {
			t.Fatalf("URL context: %q", r.Out)
		}
		// -q prints only the ID; --iidfile writes it.
		iid := filepath.Join(e.TmpDir, "iid")
		r = e.TugOK("build", "-q", "--iidfile", iid, "-f", filepath.Join(dir, "sub", "Dockerfile.alt"), dir)
		data, _ := os.ReadFile(iid)
		if !regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`).MatchString(r.Out) || strings.TrimSpace(r.Out) != string(data) {
			t.Fatalf("-q %q, iidfile %q", r.Out, data)
		}
	})
}

// RUN mounts: a secret that never lands in the image, a cache that lasts
// between builds, a bind of the context; heredocs.
func TestBuildRunMountsAndHeredocs(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		dir := e.buildContext("mounts", map[string]string{
			"Dockerfile": `FROM {{BUSYBOX}}
RUN --mount=type=secret,id=token cat /run/secrets/token > /token-seen
RUN --mount=type=cache,target=/var/cache/app echo x >> /var/cache/app/runs && wc -l < /var/cache/app/runs > /runs
RUN --mount=type=bind,source=conf,target=/mnt/conf cat /mnt/conf/app.conf > /conf-seen
RUN <<EOF
echo heredoc one > /heredoc
echo heredoc two >> /heredoc
EOF
COPY <<EOF /inline.txt
inline file
EOF
`,
			"conf/app.conf": "setting=1\n",
			"token":         "s3cr3t\n",
		})
		e.TugOK("build", "--secret", "id=token,src="+filepath.Join(dir, "token"), "-t", "mounts", dir)
		r := e.TugOK("run", "--rm", "--network", "none", "mounts", "sh", "-c", "cat /token-seen /runs /conf-seen /heredoc /inline.txt; ls /run/secrets /mnt/conf 2>&1 | wc -l")
		if r.Out != "s3cr3t\n1\nsetting=1\nheredoc one\nheredoc two\ninline file\n2\n" {
			t.Fatalf("mounts: %q", r.Out)
		}
		if h := e.TugOK("history", "--no-trunc", "mounts").Out; strings.Contains(h, "s3cr3t") {
			t.Fatalf("the secret is in the history")
		}
		e.TugOK("build", "--no-cache", "--secret", "id=token,src="+filepath.Join(dir, "token"), "-t", "mounts", dir)
		if r = e.TugOK("run", "--rm", "--network", "none", "mounts", "cat", "/runs"); r.Out != "2\n" {
			t.Fatalf("the cache mount did not last: %q", r.Out)
		}
		// A required secret that is missing fails the step.
		dir = e.buildContext("nosecret", map[string]string{"Dockerfile": "FROM {{BUSYBOX}}\nRUN --mount=type=secret,id=absent,required=true true\n"})
		r = e.TugFail(1, "build", dir)
		mustContain(t, r.Err, "absent")
	})
}

// The built image pushes to a registry and pulls back, and loads in Podman
// with the same config.
func TestBuildResultPushesAndLoadsInPodman(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		dir := e.buildContext("portable", map[string]string{"Dockerfile": "FROM {{BUSYBOX}}\nENV PORTABLE=1\nRUN echo layer > /layer.txt\nCMD [\"cat\", \"/layer.txt\"]\n"})
		e.TugOK("build", "-t", "portable:1", dir)
		dest := Registry + "/" + repoName(t, "built") + ":1"
		e.TugOK("tag", "portable:1", dest)
		e.TugOK("push", dest)
		other := newEnv(t, e.Rootless)
		if r := other.TugOK("run", "--rm", "--network", "none", dest); r.Out != "layer\n" {
			t.Fatalf("pulled build: %q", r.Out)
		}
		podman := podmanEnv(t, e)
		out := filepath.Join(e.TmpDir, "portable.tar")
		e.TugOK("save", "-o", out, "portable:1")
		e.ShOK(podman + " load -i " + out)
		cfg := e.ShOK(podman + " image inspect --format '{{json .Config.Cmd}} {{json .Config.Env}}' portable:1").Out
		mustContain(t, cfg, `["cat","/layer.txt"]`, "PORTABLE=1")
		hist := e.ShOK(podman + " history --format '{{.CreatedBy}}' portable:1").Out
		mustContain(t, hist, "echo layer > /layer.txt")
	})
}

// A build killed in a RUN leaves nothing that the next call does not clean.
func TestBuildKilledIsRepaired(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		dir := e.buildContext("killed", map[string]string{"Dockerfile": "FROM {{BUSYBOX}}\nRUN touch /started && sleep 60\n"})
		before := e.storageMounts()
		e.ShOK(`$TUG build -t killed ` + dir + ` > ` + e.TmpDir + `/out 2>&1 & pid=$!; for i in $(seq 100); do grep -q "Running in" ` + e.TmpDir + `/out && break; sleep 0.1; done; sleep 0.3; kill -9 $pid; wait $pid; true`)
		if e.Tug("image", "inspect", "killed").Code == 0 {
			t.Fatalf("a killed build tagged its image")
		}
		r := e.TugOK("builder", "prune", "-f")
		if e.storageMounts() != before {
			t.Fatalf("a mount is left after the repair:\n%s", r.Out)
		}
		// And the build runs again.
		e.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+Img("busybox")+"\nRUN touch /started\n"))
		e.TugOK("build", "-t", "killed", dir)
	})
}

// ARG before FROM, SHELL, # escape, ONBUILD, ADD of a URL, --label,
// --rm=false, RUN's network modes.
func TestBuildMoreInstructionsAndFlags(t *testing.T) {
	withImages(t, func(t *testing.T, e *Env) {
		srv := serveFiles(t, map[string]string{"/files/remote.txt": "from the server\n"})
		dir := e.buildContext("more", map[string]string{
			"Dockerfile": `# escape=` + "`" + `
ARG BASE={{BUSYBOX}}
FROM ${BASE}
SHELL ["/bin/sh", "-ec"]
RUN echo one ` + "`" + `
    two > /escaped
ADD ` + srv + `/files/remote.txt /downloads/
ONBUILD RUN echo triggered > /onbuild
`,
		})
		e.TugOK("build", "--label", "org.tug.flag=yes", "-t", "parent-img", dir)
		r := e.TugOK("run", "--rm", "--network", "none", "parent-img", "sh", "-c", "cat /escaped /downloads/remote.txt; stat -c %a /downloads/remote.txt; test -e /onbuild || echo no-trigger-yet")
		if r.Out != "one two\nfrom the server\n600\nno-trigger-yet\n" {
			t.Fatalf("parent image: %q", r.Out)
		}
		cfg := inspectConfig(t, e, "parent-img")
		if got, _ := json.Marshal([]any{cfg["Shell"], cfg["OnBuild"], cfg["Labels"]}); string(got) != `[["/bin/sh","-ec"],["RUN echo triggered \u003e /onbuild"],{"org.tug.flag":"yes"}]` {
			t.Fatalf("config: %s", got)
		}
		child := e.buildContext("child", map[string]string{"Dockerfile": "FROM parent-img\nCMD [\"cat\", \"/onbuild\"]\n"})
		r = e.TugOK("build", "--rm=false", "-t", "child-img", child)
		mustContain(t, r.Out, "# Executing 1 build trigger\n")
		if strings.Contains(r.Out, "Removing intermediate container") {
			t.Fatalf("--rm=false removed a container:\n%s", r.Out)
		}
		if r = e.TugOK("run", "--rm", "--network", "none", "child-img"); r.Out != "triggered\n" {
			t.Fatalf("ONBUILD: %q", r.Out)
		}
		if got := inspectConfig(t, e, "child-img")["OnBuild"]; got != nil {
			t.Fatalf("the triggers are inherited: %v", got)
		}
		if n := len(lines(e.TugOK("ps", "-aq").Out)); n != 1 {
			t.Fatalf("--rm=false kept %d containers, want the trigger's RUN", n)
		}
		// RUN's network: none has only loopback, host the host's interfaces.
		netDir := e.buildContext("net", map[string]string{"Dockerfile": "FROM {{BUSYBOX}}\nRUN ls /sys/class/net > /ifaces\n"})
		e.TugOK("build", "--network", "none", "-t", "net-none", netDir)
		if r = e.TugOK("run", "--rm", "--network", "none", "net-none", "cat", "/ifaces"); r.Out != "lo\n" {
			t.Fatalf("--network none: %q", r.Out)
		}
		// An image without the intermediate steps in `images`, with them in `images -a`.
		if all, plain := len(lines(e.TugOK("images", "-a").Out)), len(lines(e.TugOK("images").Out)); all <= plain {
			t.Fatalf("images -a %d rows, images %d", all, plain)
		}
	})
}

// serveFiles serves files over HTTP on 127.0.0.1 for the test's length.
func serveFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}
