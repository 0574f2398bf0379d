package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go/format"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/archive/archivetest"
	"github.com/govaudit/govaudit/internal/auditlog"
	"github.com/govaudit/govaudit/internal/record"
)

// Bounds every run of the real binary on a crafted archive must respect.
const (
	hostileTimeout = 20 * time.Second
	hostileMaxRSS  = 512 << 20
	// hostileAS caps the address space of each run (prlimit), so that a
	// regression fails this test with "out of memory" instead of taking the
	// machine's memory. It is well above what the Go runtime reserves.
	hostileAS = 4 << 30
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	// binDir is the temporary directory govauditBin built into, removed by
	// TestMain (each run would otherwise leave a 20+ MB binary in /tmp).
	binDir string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// govauditBin returns the govaudit binary under test: $GOVAUDIT_BIN/govaudit
// when set (make builds it), else one built once into a temporary directory.
func govauditBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if dir := os.Getenv("GOVAUDIT_BIN"); dir != "" {
			binPath = filepath.Join(dir, "govaudit")
			_, binErr = os.Stat(binPath)
			return
		}
		dir, err := os.MkdirTemp("", "govaudit-bin")
		if err != nil {
			binErr = err
			return
		}
		binDir = dir
		binPath = filepath.Join(dir, "govaudit")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// A hostileCase is one crafted archive: a mutation of a valid archive.
type hostileCase struct {
	name   string
	mutate func(t *testing.T, root string)
	// mayPass: the mutation touches only what verify does not trust
	// (indexes), so verify may still exit 0.
	mayPass bool
	// mention, if set, must appear in verify's output: the file concerned.
	mention string
}

// runResult is one run of the binary.
type runResult struct {
	code           int
	stdout, stderr string
	rss            int64
	hung, signaled bool
}

func runBin(t *testing.T, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hostileTimeout)
	defer cancel()
	bin := govauditBin(t)
	name, argv := bin, args
	if p, err := exec.LookPath("prlimit"); err == nil {
		name, argv = p, append([]string{fmt.Sprintf("--as=%d", hostileAS), bin}, args...)
	}
	cmd := exec.CommandContext(ctx, name, argv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	err := cmd.Run()
	r := runResult{stdout: out.String(), stderr: errb.String(), hung: ctx.Err() != nil}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run %v: %v", args, err)
	}
	if ps := cmd.ProcessState; ps != nil {
		r.code = ps.ExitCode()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.signaled = true
		}
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			r.rss = ru.Maxrss * 1024 // kilobytes on Linux
		}
	}
	return r
}

// check asserts the invariant for hostile input: no hang, no crash, bounded
// memory, and an exit code among allowed.
func (r runResult) check(t *testing.T, what string, allowed ...int) (crash, hang, falsePass bool) {
	t.Helper()
	switch {
	case r.hung:
		t.Errorf("%s: hung (killed after %s)", what, hostileTimeout)
		return false, true, false
	case r.signaled || r.code < 0 || r.code > 2 ||
		strings.Contains(r.stderr, "fatal error") || strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine "):
		t.Errorf("%s: crashed (exit %d):\n%s", what, r.code, tail(r.stderr))
		return true, false, false
	}
	if r.rss > hostileMaxRSS {
		t.Errorf("%s: peak RSS %d MiB > %d MiB", what, r.rss>>20, hostileMaxRSS>>20)
	}
	for _, c := range allowed {
		if r.code == c {
			return false, false, false
		}
	}
	t.Errorf("%s: exit %d, want one of %v\nstdout:\n%s\nstderr:\n%s", what, r.code, allowed, tail(r.stdout), tail(r.stderr))
	return false, false, r.code == 0
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}

// TestHostileArchives runs the real govaudit binary on crafted archives made
// from a valid one (DESIGN invariant 5): verify never exits 0 on a damaged
// archive, nothing crashes, hangs or takes more than hostileMaxRSS, and the
// damaged file is named. query, report, prove and reindex run on every
// third archive.
func TestHostileArchives(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("FIFOs, /dev/zero and rusage as on Linux")
	}
	dir := t.TempDir()
	key, pub := keys(t, dir, "hostile")
	base := filepath.Join(dir, "base")
	writeArchive(t, base, key, 12, 5)
	if r := runBin(t, "verify", "--key", pub, base); r.code != 0 {
		t.Fatalf("the valid archive does not verify: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	cases := hostileCases(t, base, key)
	if len(cases) < 50 {
		t.Fatalf("only %d crafted archives", len(cases))
	}
	var falsePasses, crashes, hangs, runs int
	var peak int64
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(dir, fmt.Sprintf("a%03d", i))
			copyTree(t, base, root)
			c.mutate(t, root)
			r := runBin(t, "verify", "--key", pub, root)
			runs, peak = runs+1, max(peak, r.rss)
			allowed := []int{1, 2}
			if c.mayPass {
				allowed = []int{0, 1, 2}
			}
			crash, hang, fp := r.check(t, "verify", allowed...)
			if crash {
				crashes++
			}
			if hang {
				hangs++
			}
			if fp {
				falsePasses++
			}
			if c.mention != "" && !crash && !hang && !strings.Contains(r.stdout+r.stderr, c.mention) {
				t.Errorf("verify does not name %s:\n%s%s", c.mention, tail(r.stdout), tail(r.stderr))
			}
			if i%3 != 0 {
				return
			}
			// reindex last: it rewrites the indexes of the copy.
			for _, args := range [][]string{{"query", root, "--user", "alice"}, {"report", "--key", pub, root},
				{"prove", root, "--record", "rec-003"}, {"reindex", root}} {
				r := runBin(t, args...)
				runs, peak = runs+1, max(peak, r.rss)
				allowed := []int{0, 1, 2} // query, prove and reindex do not verify
				if args[0] == "report" && !c.mayPass {
					allowed = []int{1, 2}
				}
				crash, hang, fp := r.check(t, args[0], allowed...)
				if crash {
					crashes++
				}
				if hang {
					hangs++
				}
				if fp {
					falsePasses++
				}
			}
		})
	}
	t.Logf("crafted archives: %d, runs: %d; false passes: %d, crashes: %d, hangs: %d; peak RSS %d MiB",
		len(cases), runs, falsePasses, crashes, hangs, peak>>20)
}

// hostileCases returns the crafted archives, as mutations of base.
func hostileCases(t *testing.T, base, keyFile string) []hostileCase {
	files, err := archive.DataFiles(base)
	if err != nil || len(files) < 2 {
		t.Fatalf("data files %v: %v", files, err)
	}
	df := files[0] // the mutated data file
	valid, err := os.ReadFile(filepath.Join(base, df))
	if err != nil {
		t.Fatal(err)
	}
	n := len(valid)
	cps, err := archive.CheckpointFiles(base)
	if err != nil || len(cps) == 0 {
		t.Fatalf("checkpoint files %v: %v", cps, err)
	}
	cpf := cps[0]
	latest := archive.LatestPath("host-a")
	ixf := archive.IndexPath(df)

	var cases []hostileCase
	withData := func(name string, b []byte) {
		cases = append(cases, hostileCase{name: name, mention: df, mutate: func(t *testing.T, root string) {
			replace(t, filepath.Join(root, df), b)
		}})
	}
	// Truncations at many offsets.
	for _, cut := range []int{0, 1, 3, 4, 5, 8, 64, n / 8, n / 4, n / 3, n / 2, 2 * n / 3, 3 * n / 4, n - 200, n - 12, n - 9, n - 8, n - 5, n - 4, n - 1} {
		withData(fmt.Sprintf("truncated-%d", cut), valid[:cut])
	}
	// Flipped bytes: footer, page headers, page data.
	flip := func(name string, off int) {
		b := append([]byte(nil), valid...)
		b[off] ^= 0xff
		withData(name, b)
	}
	for _, back := range []int{9, 10, 50, 300, 1000, 2000} {
		flip(fmt.Sprintf("flip-footer-%d", back), n-back)
	}
	pages, err := archivetest.Pages(valid)
	if err != nil {
		t.Fatal(err)
	}
	for k, i := range []int{0, 1, 5, 11, len(pages) / 2, len(pages) - 1} {
		p := pages[i]
		flip(fmt.Sprintf("flip-page-header-%d", k), int(p.Offset+p.HeaderLen/2))
		if p.Header.CompressedPageSize > 2 {
			flip(fmt.Sprintf("flip-page-data-%d", k), int(p.Offset+p.HeaderLen)+int(p.Header.CompressedPageSize)/2)
		}
	}
	// Absurd claims in the footer and the page headers.
	footer := func(name string, edit func(*format.FileMetaData)) {
		b, err := archivetest.EditFooter(valid, edit)
		if err != nil {
			t.Fatal(err)
		}
		withData(name, b)
	}
	footer("rows-5e7", func(md *format.FileMetaData) { md.NumRows = 5e7; md.RowGroups[0].NumRows = 5e7 })
	footer("rows-2e9", func(md *format.FileMetaData) { md.NumRows = 2e9; md.RowGroups[0].NumRows = 2e9 })
	footer("rows-footer-2e9", func(md *format.FileMetaData) { md.NumRows = 2e9 })
	footer("values-2e9", func(md *format.FileMetaData) { md.RowGroups[0].Columns[1].MetaData.NumValues = 2e9 })
	footer("chunk-size-1T", func(md *format.FileMetaData) { md.RowGroups[0].Columns[1].MetaData.TotalCompressedSize = 1 << 40 })
	footer("row-groups-x200", func(md *format.FileMetaData) {
		for range 200 {
			md.RowGroups = append(md.RowGroups, md.RowGroups[0])
		}
	})
	page := func(name string, typ format.PageType, edit func(*format.PageHeader)) {
		for _, p := range pages {
			if p.Header.Type != typ {
				continue
			}
			h := p.Header
			edit(&h)
			b, err := archivetest.WithPageHeader(valid, p, &h)
			if err != nil {
				t.Fatal(err)
			}
			withData(name, b)
			return
		}
		t.Fatalf("no %s page", typ)
	}
	page("page-uncompressed-0x7ffffff0", format.DataPageV2, func(h *format.PageHeader) { h.UncompressedPageSize = 0x7ffffff0 })
	page("page-compressed-0x7ffffff0", format.DataPageV2, func(h *format.PageHeader) { h.CompressedPageSize = 0x7ffffff0 })
	page("page-values-2e9", format.DataPageV2, func(h *format.PageHeader) {
		h.DataPageHeaderV2.V.NumValues, h.DataPageHeaderV2.V.NumRows = 2e9, 2e9
	})
	page("dictionary-uncompressed-0x7ffffff0", format.DictionaryPage, func(h *format.PageHeader) { h.UncompressedPageSize = 0x7ffffff0 })
	page("dictionary-values-2e9", format.DictionaryPage, func(h *format.PageHeader) { h.DictionaryPageHeader.V.NumValues = 2e9 })

	// Files that are not regular files, or lead out of the archive.
	special := func(name, rel, mention string, mayPass bool, mutate func(t *testing.T, full string)) {
		cases = append(cases, hostileCase{name: name, mention: mention, mayPass: mayPass, mutate: func(t *testing.T, root string) {
			full := filepath.Join(root, filepath.FromSlash(rel))
			os.Remove(full)
			os.MkdirAll(filepath.Dir(full), 0o755)
			mutate(t, full)
		}})
	}
	fifo := func(t *testing.T, full string) {
		if err := syscall.Mkfifo(full, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	symlink := func(target string) func(t *testing.T, full string) {
		return func(t *testing.T, full string) {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
		}
	}
	outside := filepath.Join(t.TempDir(), "outside.parquet")
	if err := os.WriteFile(outside, valid, 0o644); err != nil {
		t.Fatal(err)
	}
	outsideCP := filepath.Join(t.TempDir(), "outside-checkpoint")
	cpText, _ := os.ReadFile(filepath.Join(base, cpf))
	os.WriteFile(outsideCP, cpText, 0o644)
	extra := "records/origin=host-a/date=2026-11-26/20261126T120000.000000000Z.parquet"
	special("fifo-data-file", df, df, false, fifo)
	special("fifo-extra-data-file", extra, extra, false, fifo)
	special("fifo-latest", latest, latest, false, fifo)
	special("fifo-checkpoint-file", cpf, cpf, false, fifo)
	special("fifo-index", ixf, "", true, fifo)
	special("zero-data-file", df, df, false, symlink("/dev/zero"))
	special("zero-latest", latest, latest, false, symlink("/dev/zero"))
	special("zero-checkpoint-file", cpf, cpf, false, symlink("/dev/zero"))
	special("zero-index", ixf, "", true, symlink("/dev/zero"))
	special("urandom-data-file", df, df, false, symlink("/dev/urandom"))
	special("symlink-outside-data-file", df, df, false, symlink(outside))
	special("symlink-outside-checkpoint", cpf, cpf, false, symlink(outsideCP))
	special("symlink-outside-latest", latest, latest, false, symlink(outsideCP))
	special("symlink-inside-data-file", df, df, false, symlink(filepath.Base(files[1])))
	special("directory-data-file", df, df, false, func(t *testing.T, full string) { os.Mkdir(full, 0o755) })
	special("directory-extra-x.parquet", "records/origin=host-a/x.parquet", "x.parquet", false, func(t *testing.T, full string) { os.Mkdir(full, 0o755) })
	special("directory-latest", latest, latest, false, func(t *testing.T, full string) { os.Mkdir(full, 0o755) })
	special("empty-data-file", df, df, false, func(t *testing.T, full string) { os.WriteFile(full, nil, 0o644) })
	special("empty-latest", latest, latest, false, func(t *testing.T, full string) { os.WriteFile(full, nil, 0o644) })
	special("huge-latest", latest, latest, false, func(t *testing.T, full string) {
		os.WriteFile(full, bytes.Repeat([]byte("host-a/1000\n"), 1<<20), 0o644)
	})
	special("huge-checkpoint-file", cpf, cpf, false, func(t *testing.T, full string) {
		os.WriteFile(full, bytes.Repeat([]byte{'\n'}, 8<<20), 0o644)
	})
	special("sparse-data-file-2G", df, df, false, func(t *testing.T, full string) {
		f, err := os.Create(full)
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(2 << 30) // sparse: larger than MaxDataFileSize
		f.Close()
	})
	special("socket-data-file", df, df, false, func(t *testing.T, full string) {
		fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		if err != nil {
			t.Skip(err)
		}
		defer syscall.Close(fd)
		// Socket paths are limited to 108 bytes: bind in a short
		// directory, then move the socket into the archive.
		short, err := os.MkdirTemp("/tmp", "s")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(short)
		if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: filepath.Join(short, "s")}); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(short, "s"), full); err != nil {
			t.Fatal(err)
		}
	})
	cases = append(cases,
		hostileCase{name: "symlink-origin-dir-outside", mention: "checkpoints/host-a", mutate: func(t *testing.T, root string) {
			src := filepath.Join(root, "checkpoints", "host-a")
			moved := filepath.Join(t.TempDir(), "host-a")
			copyTree(t, src, moved)
			os.RemoveAll(src)
			os.Symlink(moved, src)
		}},
		hostileCase{name: "symlink-records-partition-outside", mention: "", mutate: func(t *testing.T, root string) {
			src := filepath.Join(root, filepath.FromSlash(filepath.Dir(df)))
			moved := filepath.Join(t.TempDir(), "part")
			copyTree(t, src, moved)
			os.RemoveAll(src)
			os.Symlink(moved, src)
		}},
		hostileCase{name: "index-bloom-k-2e18", mayPass: true, mutate: func(t *testing.T, root string) {
			b, _ := os.ReadFile(filepath.Join(root, ixf))
			b = bytes.Replace(b, []byte(`"users": {`), []byte(`"users": {"bloom": {"m": 64, "k": 2000000000000000000, "bits": "//////////8="}, `), 1)
			replace(t, filepath.Join(root, ixf), b)
		}},
		hostileCase{name: "index-garbage", mayPass: true, mutate: func(t *testing.T, root string) {
			replace(t, filepath.Join(root, ixf), bytes.Repeat([]byte("{["), 1<<20))
		}},
	)

	// Rows whose claims are absurd but whose leaf hashes are honest.
	signer, err := auditlog.LoadSigner(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	rowsFile := func(name string, rows func() []record.Record) {
		cases = append(cases, hostileCase{name: name, mutate: func(t *testing.T, root string) {
			var buf bytes.Buffer
			if err := archive.WriteRows(&buf, rows()); err != nil {
				t.Fatal(err)
			}
			replace(t, filepath.Join(root, extra), buf.Bytes())
		}})
	}
	leaf := func(epoch, index uint64) record.Record {
		r := record.Record{SchemaVersion: 1, ID: fmt.Sprintf("forged-%d", index), Type: record.TypeInference, StartTime: 1}
		r.SetLeaf("host-a", epoch, index)
		return r
	}
	rowsFile("leaf-index-2e18", func() []record.Record { return []record.Record{leaf(1000, 2e18)} })
	rowsFile("leaf-index-max", func() []record.Record { return []record.Record{leaf(1000, 1<<64-1)} })
	rowsFile("leaf-index-2e18-new-epoch", func() []record.Record { return []record.Record{leaf(7, 2e18)} })
	cases = append(cases, hostileCase{name: "signed-checkpoint-size-2e18", mutate: func(t *testing.T, root string) {
		text, err := auditlog.Sign(signer, "host-a", 1000, 2e18, make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		replace(t, filepath.Join(root, latest), []byte(text))
	}})
	return cases
}

// replace writes b in place of the file at p (which may be read-only).
func replace(t *testing.T, p string, b []byte) {
	t.Helper()
	os.Remove(p)
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the regular files and directories under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
