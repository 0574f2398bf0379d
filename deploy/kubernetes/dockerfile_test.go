package kubernetes

import (
	"bufio"
	"debug/elf"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
	line      int
}

// parseDockerfile splits a Dockerfile into instructions: comments and blank
// lines dropped, lines ending in a backslash joined. (No Dockerfile parser
// is served by our module proxy, and this file needs only its instructions
// and their arguments.)
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ins []instruction
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		ins = append(ins, instruction{strings.ToUpper(cmd), strings.TrimSpace(args), start})
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ins
}

// dockerfileUser returns the uid of the final stage's USER.
func dockerfileUser(t *testing.T) string {
	t.Helper()
	user := ""
	for _, in := range parseDockerfile(t, "../../Dockerfile") {
		switch in.cmd {
		case "FROM":
			user = ""
		case "USER":
			user, _, _ = strings.Cut(in.args, ":")
		}
	}
	if user == "" {
		t.Fatal("Dockerfile: the final stage sets no USER")
	}
	return user
}

// TestDockerfile: the image is built as the Makefile builds (same ocb,
// the go.mod's Go, CGO off) and runs as a non-root user on a static base.
func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t, "../../Dockerfile")
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	ocb := regexp.MustCompile(`(?m)^OCB_VERSION\s*:=\s*(\S+)`).FindSubmatch(makefile)
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if ocb == nil || goVersion == nil {
		t.Fatal("Makefile OCB_VERSION or go.mod go directive not found")
	}
	args := map[string]string{}
	var stages []string // FROM images
	var last []instruction
	cgoOff := false
	for _, in := range ins {
		switch in.cmd {
		case "ARG":
			if k, v, ok := strings.Cut(in.args, "="); ok {
				args[k] = v
			}
		case "FROM":
			f := strings.Fields(in.args)
			image := f[0]
			if strings.HasPrefix(image, "--platform") {
				image = f[1]
			}
			stages = append(stages, image)
			last = nil
		case "ENV":
			cgoOff = cgoOff || strings.Contains(in.args, "CGO_ENABLED=0")
		}
		last = append(last, in)
	}
	if args["OCB_VERSION"] != string(ocb[1]) {
		t.Errorf("Dockerfile OCB_VERSION %q, Makefile %q", args["OCB_VERSION"], ocb[1])
	}
	if args["GO_VERSION"] != string(goVersion[1]) {
		t.Errorf("Dockerfile GO_VERSION %q, go.mod go %s", args["GO_VERSION"], goVersion[1])
	}
	if len(stages) != 2 || !strings.HasPrefix(stages[0], "golang:${GO_VERSION}") {
		t.Errorf("want two stages, a golang:${GO_VERSION} build and the runtime: %v", stages)
	}
	if !cgoOff {
		t.Error("the build stage must set CGO_ENABLED=0 (static binaries for a static base)")
	}
	if base := stages[len(stages)-1]; !strings.HasPrefix(base, "gcr.io/distroless/static") && base != "scratch" {
		t.Errorf("runtime base %q: want distroless/static or scratch", base)
	}
	var entry string
	for _, in := range last {
		if in.cmd == "ENTRYPOINT" {
			entry = in.args
		}
		if in.cmd == "RUN" {
			t.Errorf("line %d: RUN in the runtime stage (distroless has no shell)", in.line)
		}
	}
	if !strings.Contains(entry, "otelcol-govaudit") {
		t.Errorf("ENTRYPOINT %q: want otelcol-govaudit", entry)
	}
	if u := dockerfileUser(t); u == "0" || u == "root" {
		t.Errorf("USER %s: want a non-root uid", u)
	}

	ignore, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "bin", "build", ".tools", "data"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(want) + `$`).Match(ignore) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}

// TestStaticBinary: the distribution make build produces (ocb, CGO off, as
// in the Dockerfile) is statically linked, so it runs on a base image with
// no C library.
func TestStaticBinary(t *testing.T) {
	bin := os.Getenv("GOVAUDIT_BIN")
	if bin == "" {
		t.Skip("GOVAUDIT_BIN not set: run through `make test`, which builds the binaries")
	}
	f, err := elf.Open(filepath.Join(bin, "otelcol-govaudit"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("otelcol-govaudit has a program interpreter: dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("otelcol-govaudit needs shared libraries %v (%v)", libs, err)
	}
}
