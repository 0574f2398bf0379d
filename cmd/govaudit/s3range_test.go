package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/govaudit/govaudit/internal/archive"
	"github.com/govaudit/govaudit/internal/objectstore/s3test"
)

// dataBytes returns the total size of the data files of the local archive
// root.
func dataBytes(t testing.TB, root string) int64 {
	t.Helper()
	files, err := archive.DataFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, p := range files {
		fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// TestBucketRangedReads: on a bucket, prove --record and query --record
// read data files by ranges (footer, bloom filters, the chunks of the
// columns they need), counted by a proxy in front of the server: prove
// fetches a small part of the data files, query the file that holds the
// record and little else; both print what they print on the same
// archive in a directory.
func TestBucketRangedReads(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket("bench")
	const n, perFile = 60_000, 20_000
	root := t.TempDir()
	writeBenchArchive(t, root, n, perFile, perFile, true)
	upload(t, srv.Client(), root, "bench", "a")
	cnt := srv.Counter()
	total := dataBytes(t, root)
	fileSize := total / (n / perFile)
	if fileSize < 16*128<<10 {
		t.Fatalf("test setup: data files of %d bytes, want files larger than the tail read at once", fileSize)
	}
	id := benchRecords("bench", 1795720303427918821, n)[n*5/8].ID
	for _, c := range []struct {
		args []string
		max  int64 // bytes fetched, at most
	}{
		{[]string{"prove", "ROOT", "--record", id}, total / 2},
		{[]string{"query", "ROOT", "--record", id, "--format", "json"}, fileSize + total/4},
	} {
		local := slices.Clone(c.args)
		local[1] = root
		lc, lout, _ := runCmd(t, local...)
		remote := slices.Clone(c.args)
		remote[1] = "s3://bench/a"
		cnt.Reset()
		rc, rout, rerr := runCmd(t, remote...)
		if lc != exitOK || rc != exitOK || rout != lout || !strings.Contains(rout, id) {
			t.Errorf("govaudit %s: directory exit %d, bucket exit %d %s\ndirectory:\n%s\nbucket:\n%s", strings.Join(c.args, " "), lc, rc, rerr, lout, rout)
		}
		t.Logf("govaudit %s on a bucket of %d records in %d data files (%d bytes): %d requests, %d GETs, %d bytes fetched",
			c.args[0], n, n/perFile, total, cnt.Requests(), cnt.Gets(), cnt.Bytes())
		if cnt.Bytes() > c.max {
			t.Errorf("govaudit %s on a bucket fetched %d bytes, want at most %d (data files: %d bytes)", c.args[0], cnt.Bytes(), c.max, total)
		}
	}
}

// TestMeasureBucketReads measures, in one run, the bytes, requests and
// time of prove --record and query --record on a bucket (versitygw on
// 127.0.0.1, behind the counting proxy) for each govaudit binary named in
// GOVAUDIT_COMPARE_BINS (name=path,…: a build before ranged reads and
// one after), on an archive of GOVAUDIT_BENCH_RECORDS records (default
// 200,000) in files of 50,000. Each command runs -count times
// (GOVAUDIT_BENCH_COUNT, default 5), binaries alternating; the median time
// is reported. Skipped unless GOVAUDIT_COMPARE_BINS is set.
func TestMeasureBucketReads(t *testing.T) {
	bins := os.Getenv("GOVAUDIT_COMPARE_BINS")
	if bins == "" {
		t.Skip("set GOVAUDIT_COMPARE_BINS=before=PATH,after=PATH")
	}
	srv := s3test.Start(t)
	srv.CreateBucket("bench")
	n := envInt(t, "GOVAUDIT_BENCH_RECORDS", 200_000)
	count := envInt(t, "GOVAUDIT_BENCH_COUNT", 5)
	root := t.TempDir()
	writeBenchArchive(t, root, n, 50_000, 50_000, true)
	upload(t, srv.Client(), root, "bench", "a")
	cnt := srv.Counter()
	id := benchRecords("bench", 1795720303427918821, n)[n*5/8].ID
	t.Logf("archive: %d records, %d bytes of data files", n, dataBytes(t, root))
	type result struct {
		times                  []time.Duration
		requests, gets, nbytes int64
		out                    string
	}
	results := map[string]*result{}
	var names []string
	for _, b := range strings.Split(bins, ",") {
		name, _, _ := strings.Cut(b, "=")
		names = append(names, name)
	}
	for _, cmd := range [][]string{{"prove", "s3://bench/a", "--record", id}, {"query", "s3://bench/a", "--record", id, "--format", "json"}} {
		for i := range count {
			for _, b := range strings.Split(bins, ",") {
				name, bin, _ := strings.Cut(b, "=")
				key := cmd[0] + " " + name
				r := results[key]
				if r == nil {
					r = &result{}
					results[key] = r
				}
				cnt.Reset()
				var out, errb bytes.Buffer
				c := exec.Command(bin, cmd...)
				c.Stdout, c.Stderr = &out, &errb
				began := time.Now()
				if err := c.Run(); err != nil {
					t.Fatalf("%s %s: %v\n%s", bin, strings.Join(cmd, " "), err, errb.String())
				}
				r.times = append(r.times, time.Since(began))
				if i == 0 {
					r.requests, r.gets, r.nbytes, r.out = cnt.Requests(), cnt.Gets(), cnt.Bytes(), out.String()
				}
			}
		}
		for _, name := range names {
			r := results[cmd[0]+" "+name]
			slices.Sort(r.times)
			if r.out != results[cmd[0]+" "+names[0]].out {
				t.Errorf("%s: %s prints other output than %s", cmd[0], name, names[0])
			}
			t.Logf("%s --record, %s: median %v of %d (min %v, max %v); %d requests, %d GETs, %s fetched", cmd[0], name,
				r.times[len(r.times)/2].Round(time.Millisecond), count, r.times[0].Round(time.Millisecond), r.times[len(r.times)-1].Round(time.Millisecond),
				r.requests, r.gets, mib(r.nbytes))
		}
	}
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
